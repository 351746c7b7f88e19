"""The Errors admin: list, detail, actions for staff; refused for anonymous and non-staff users."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from django_observe.models import ErrorEvent, ErrorGroup

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sync_errors")]

LIST = reverse("admin:django_observe_errorgroup_changelist")


@pytest.fixture
def group(client500: Client) -> ErrorGroup:
    client500.get("/boom/", HTTP_X_REQUEST_ID="rid-admin-1")
    client500.get("/log-error/?order=7", HTTP_X_REQUEST_ID="rid-admin-1")
    return ErrorGroup.objects.get(exc_type="RuntimeError")


def staff(*perms: str) -> Client:
    user = User.objects.create_user("staff-" + "-".join(perms or ("none",)), password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=perms))
    client = Client()
    client.force_login(user)
    return client


def test_list_shows_groups_with_count_status_and_sparkline(admin_client: Client, group: ErrorGroup) -> None:
    page = admin_client.get(LIST).content.decode()
    assert "RuntimeError: demo failure" in page and "order 7 not found" in page
    assert 'class="observe-sparkline"' in page and "Unresolved" in page
    assert "Send a test error" in page


def test_list_filters_and_finds_errors_by_request_id(admin_client: Client, group: ErrorGroup) -> None:
    resolved = admin_client.get(LIST, {"status__exact": "resolved"}).content.decode()
    assert "RuntimeError: demo failure" not in resolved
    found = admin_client.get(LIST, {"q": "rid-admin-1"}).content.decode()
    assert "RuntimeError: demo failure" in found and "order 7 not found" in found


def test_detail_shows_stack_trace_request_tags_same_request_and_history(admin_client: Client, group: ErrorGroup) -> None:
    page = admin_client.get(reverse("admin:django_observe_errorgroup_change", args=[group.pk])).content.decode()
    assert "observe-inapp" in page and "boom" in page and "raise RuntimeError" in page
    assert "rid-admin-1" in page and "Other errors of the same request" in page and "order 7 not found" in page
    assert "First seen" in page and 'id="group-history"' in page


def test_detail_actions_resolve_mute_reopen_write_history(admin_client: Client, group: ErrorGroup) -> None:
    url = reverse("admin:django_observe_errorgroup_change", args=[group.pk])
    admin_client.post(url, {"action": "resolve", "release": "9.9"})
    group.refresh_from_db()
    assert (group.status, group.resolved_in_release) == ("resolved", "9.9")
    admin_client.post(url, {"action": "mute", "events": "5"})
    group.refresh_from_db()
    assert (group.status, group.muted_until_count) == ("muted", group.count + 5)
    admin_client.post(url, {"action": "reopen"})
    group.refresh_from_db()
    assert group.status == "unresolved"
    assert list(group.changes.order_by("pk").values_list("kind", "actor")) == [
        ("created", ""),
        ("resolved", "admin"),
        ("muted", "admin"),
        ("reopened", "admin"),
    ]


def test_mute_with_huge_numbers_is_capped_not_a_500(admin_client: Client, group: ErrorGroup) -> None:
    """QA finding F15: hours=99999999999 overflowed timedelta, events=10**23 the database integer."""
    url = reverse("admin:django_observe_errorgroup_change", args=[group.pk])
    response = admin_client.post(url, {"action": "mute", "hours": "99999999999", "events": "99999999999999999999999"})
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.status == "muted" and group.muted_until_count == group.count + 10**9
    assert group.muted_until is not None and group.muted_until.year <= timezone.now().year + 2


def test_bulk_actions(admin_client: Client, group: ErrorGroup) -> None:
    ids = list(ErrorGroup.objects.values_list("pk", flat=True))
    admin_client.post(LIST, {"action": "resolve", "_selected_action": ids})
    assert set(ErrorGroup.objects.values_list("status", flat=True)) == {"resolved"}
    admin_client.post(LIST, {"action": "mute_24h", "_selected_action": ids})
    assert set(ErrorGroup.objects.values_list("status", flat=True)) == {"muted"}
    admin_client.post(LIST, {"action": "reopen", "_selected_action": ids})
    assert set(ErrorGroup.objects.values_list("status", flat=True)) == {"unresolved"}


def test_send_a_test_error_stores_it(admin_client: Client) -> None:
    response = admin_client.post(reverse("admin:django_observe_errorgroup_test_error"))
    assert response.status_code == 302
    group = ErrorGroup.objects.get()
    assert group.exc_type.endswith("ObserveTestError") and "by admin" in group.title


@pytest.mark.parametrize("who", ["anonymous", "non_staff"])
def test_anonymous_and_non_staff_users_are_refused(who: str, group: ErrorGroup) -> None:
    client = Client()
    if who == "non_staff":
        client.force_login(User.objects.create_user("plain", password="pw"))
    detail = reverse("admin:django_observe_errorgroup_change", args=[group.pk])
    for url in (LIST, detail):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    response = client.post(detail, {"action": "resolve"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client.post(reverse("admin:django_observe_errorgroup_test_error")).status_code == 302
    group.refresh_from_db()
    assert group.status == "unresolved"
    assert ErrorGroup.objects.count() == 2


def test_staff_without_permissions_is_refused_and_view_only_staff_cannot_act(group: ErrorGroup) -> None:
    detail = reverse("admin:django_observe_errorgroup_change", args=[group.pk])
    assert staff().get(LIST).status_code == 403
    viewer = staff("view_errorgroup", "view_errorevent")
    assert viewer.get(detail).status_code == 200
    assert "action-resolve" not in viewer.get(detail).content.decode()
    assert viewer.post(detail, {"action": "resolve"}).status_code == 403
    assert viewer.post(reverse("admin:django_observe_errorgroup_test_error")).status_code == 403
    group.refresh_from_db()
    assert group.status == "unresolved"


def test_event_admin_searches_by_request_id_and_links_to_the_group(admin_client: Client, group: ErrorGroup) -> None:
    page = admin_client.get(reverse("admin:django_observe_errorevent_changelist"), {"q": "rid-admin-1"}).content.decode()
    assert page.count("rid-admin-1") >= 2
    event = ErrorEvent.objects.filter(group=group).get()
    response = admin_client.get(reverse("admin:django_observe_errorevent_change", args=[event.pk]))
    assert response.status_code == 302 and f"?event={event.pk}" in response["Location"]


def test_missing_or_malformed_ids_are_404(admin_client: Client) -> None:
    for pk in ("999999", "not-a-number"):
        assert admin_client.get(reverse("admin:django_observe_errorgroup_change", args=[pk])).status_code == 404
        assert admin_client.get(reverse("admin:django_observe_errorevent_change", args=[pk])).status_code == 404
