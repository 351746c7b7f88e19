"""The Observability app page in the admin opens with an overview: recent errors and current health."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from django_observe.models import ErrorGroup, ErrorGroupHourly, HealthCheckRun

pytestmark = pytest.mark.django_db

URL = "/admin/django_observe/"


@pytest.fixture(autouse=True)
def empty_tables() -> None:
    """The overview shows whole tables: start each test from none (rolled back with the test)."""
    ErrorGroup.objects.all().delete()
    HealthCheckRun.objects.all().delete()


@pytest.fixture
def data() -> ErrorGroup:
    now = timezone.now()
    group = ErrorGroup.objects.create(
        fingerprint="f" * 64, title="RuntimeError: payment gateway timed out", first_seen=now, last_seen=now, count=7
    )
    ErrorGroupHourly.objects.create(group=group, hour=now.replace(minute=0, second=0, microsecond=0), count=7)
    old = ErrorGroup.objects.create(
        fingerprint="e" * 64, title="KeyError: old and quiet", first_seen=now - datetime.timedelta(days=9),
        last_seen=now - datetime.timedelta(days=8), count=3,
    )
    ErrorGroupHourly.objects.create(group=old, hour=(now - datetime.timedelta(days=8)).replace(minute=0, second=0, microsecond=0), count=3)
    try:
        call_command("observe_check", "--record", stdout=io.StringIO())
    except SystemExit:
        pass  # exit 1 when a check is unhealthy; the run is recorded all the same
    return group


def test_overview_shows_recent_errors_and_health(admin_client: Client, data: ErrorGroup) -> None:
    response = admin_client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="observe-overview"' in page
    assert "RuntimeError: payment gateway timed out" in page
    assert f"/admin/django_observe/errorgroup/{data.pk}/change/" in page
    assert "KeyError: old and quiet" not in page, "only the last 24 hours are listed"
    overview = page[page.find('id="observe-overview"'):page.find('id="content-main"')]
    assert "7 events" in overview and "1 new errors" in overview and "2 unresolved in all" in overview, overview
    assert "Last recorded run" in page and "database" in page


def test_overview_is_staff_only(client: Client, django_user_model) -> None:  # type: ignore[no-untyped-def]
    assert client.get(URL).status_code == 302
    user = django_user_model.objects.create_user("plain", password="pw-plain-123")
    client.force_login(user)
    assert client.get(URL).status_code == 302


def test_overview_without_history_says_how_to_record(admin_client: Client) -> None:
    page = admin_client.get(URL).content.decode()
    assert "manage.py observe_check --record" in page
    assert "0 events · 0 new errors · 0 unresolved in all" in page

