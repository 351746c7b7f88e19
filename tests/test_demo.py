"""manage.py observe_demo: realistic history for every admin page, idempotent, and safe in a production install."""

from __future__ import annotations

import io

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from django_observe.health import history
from django_observe.models import ErrorGroup, ErrorGroupChange, ErrorGroupHourly, HealthCheckRun, HealthIncident

pytestmark = pytest.mark.django_db


def demo(*args: str) -> str:
    out = io.StringIO()
    call_command("observe_demo", *args, stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    return {
        model.__name__: model._default_manager.count()
        for model in apps.get_app_config("django_observe").get_models()
        if not model._meta.proxy
    }


def test_refuses_without_debug_unless_forced() -> None:
    before = row_counts()
    with pytest.raises(CommandError, match="DEBUG is off"):
        demo("--no-user")
    assert row_counts() == before, "nothing written when refused"
    assert "Admin user created" in demo("--no-history", "--force")


@override_settings(DEBUG=True)
def test_twice_gives_the_same_rows_and_a_story_on_every_page(django_user_model) -> None:  # type: ignore[no-untyped-def]
    real = HealthCheckRun.objects.create(started_at=timezone.now(), status="healthy")
    demo("--no-user")
    first = row_counts()
    output = demo("--no-user")
    assert row_counts() == first, "a second run replaces its rows instead of adding to them"
    assert "2160 runs" in output and "6 demo error groups" in output, output

    # Health: one incident, one flapping check whose uptime is below 100 % in every window.
    incidents = list(HealthIncident.objects.order_by("started_at"))
    assert [(i.check_name, i.flapping, i.resolved_at is not None) for i in incidents] == [("database", False, True), ("cache", True, True)]
    for hours in (24, 24 * 7, 24 * 30):
        assert 98 < history.uptime("cache", hours) < 100, hours
    assert history.uptime("database", 24 * 30) < 100 == history.uptime("database", 24)
    assert HealthCheckRun.objects.filter(pk=real.pk).exists(), "real runs are kept"

    # Errors: counts over days, one regression, one muted, one resolved, two errors of one request.
    groups = {group.title: group for group in ErrorGroup.objects.all()}
    assert {group.status for group in groups.values()} == {"unresolved", "resolved", "muted"}
    regressed = [group for group in groups.values() if group.regressed_at]
    assert len(regressed) == 1 and regressed[0].status == "unresolved"
    kinds = list(ErrorGroupChange.objects.filter(group=regressed[0]).order_by("at").values_list("kind", flat=True))
    assert kinds == ["created", "resolved", "regressed"]
    days = {hour.date() for hour in ErrorGroupHourly.objects.values_list("hour", flat=True)}
    assert len(days) >= 29
    for group in groups.values():
        assert group.count == sum(group.hourly.values_list("count", flat=True)) > 0
        assert group.events.exists(), group.title
    shared = regressed[0].events.order_by("-timestamp").first()
    assert shared is not None and ErrorGroup.objects.filter(events__request_id=shared.request_id).count() == 2

    demo("--remove")
    assert not ErrorGroup.objects.exists() and not HealthIncident.objects.exists()
    assert list(HealthCheckRun.objects.values_list("pk", flat=True)) == [real.pk]


@override_settings(DEBUG=True)
def test_never_changes_or_promotes_an_existing_user(django_user_model) -> None:  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user("admin", password="mine-and-secret")
    output = demo("--no-history", "--password", "demo-password")
    user.refresh_from_db()
    assert user.check_password("mine-and-secret") and not user.is_staff and not user.is_superuser
    assert "left unchanged" in output and "does not promote" in output
    assert "demo-password" not in output

    output = demo("--no-history", "--username", "newcomer", "--password", "demo-password")
    created = django_user_model.objects.get(username="newcomer")
    assert created.is_staff and created.is_superuser and created.check_password("demo-password")
    assert "password: demo-password" in output


@override_settings(DEBUG=True)
def test_traffic_needs_a_server_url() -> None:
    with pytest.raises(CommandError, match="--traffic needs --url"):
        demo("--no-user", "--no-history", "--traffic", "/")
