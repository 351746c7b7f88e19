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
        fingerprint="e" * 64,
        title="KeyError: old and quiet",
        first_seen=now - datetime.timedelta(days=9),
        last_seen=now - datetime.timedelta(days=8),
        count=3,
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
    overview = page[page.find('id="observe-overview"') : page.find('id="content-main"')]
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


# --- traffic of the last hour, links, sparklines (issue 16) -------------------------------------


def test_quantile_is_prometheus_histogram_quantile() -> None:
    from django_observe.metrics.recent import quantile

    cumulative = {0.1: 50.0, 0.5: 90.0, 1.0: 100.0, float("inf"): 100.0}
    assert quantile(0.5, cumulative) == pytest.approx(0.1)
    assert quantile(0.95, cumulative) == pytest.approx(0.75)  # halfway through (0.5, 1.0]
    assert quantile(0.99, {0.1: 1.0, float("inf"): 10.0}) == 0.1  # in +Inf: the highest finite bound
    assert quantile(0.95, {0.1: 0.0, float("inf"): 0.0}) is None


def test_traffic_counts_this_process_requests_per_endpoint(admin_client: Client) -> None:
    from django_observe.metrics import recent

    before = recent.summary()
    client = Client(raise_request_exception=False)
    for _ in range(3):
        client.get("/fast/")
    client.get("/boom/")
    after = recent.summary()
    assert after.requests - before.requests == 4
    assert after.errors - before.errors == 1
    by_endpoint = {row.endpoint: row for row in after.endpoints}
    assert by_endpoint["boom/"].errors >= 1 and by_endpoint["fast/"].requests >= 3
    assert after.p95_seconds is not None and after.per_minute > 0

    page = admin_client.get(URL).content.decode()
    assert 'id="observe-traffic"' in page and 'id="observe-endpoints"' in page
    assert "requests / min" in page and "p95 latency" in page and '<td class="observe-mono">fast/</td>' in page


def test_traffic_window_of_an_old_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Older than an hour: the difference to the snapshot of an hour ago; without one, the shorter window it has."""
    import time

    from django_observe.metrics import recent

    monkeypatch.setattr(recent, "_STARTED", time.time() - 5 * 3600)
    monkeypatch.setattr(recent, "_history", type(recent._history)(maxlen=90))
    first = recent.summary()
    assert first.since_start and first.minutes >= 299, "no snapshot yet: a lifetime figure, labelled as one"
    now = time.time()
    recent._history.appendleft(recent.Snapshot(at=now - 3700))
    window = recent.summary(now=now)
    assert not window.since_start and 61 <= window.minutes <= 62


def test_traffic_in_multiprocess_mode_points_to_grafana(admin_client: Client, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    page = admin_client.get(URL).content.decode()
    assert 'id="observe-traffic-unavailable"' in page
    assert "Not available in multiprocess mode" in page and "observe_export dashboard" in page and "Grafana" in page


def test_links_and_sparklines_follow_permissions(client: Client, admin_client: Client, data: ErrorGroup, django_user_model) -> None:  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import Permission

    page = admin_client.get(URL).content.decode()
    links = page[page.find('id="observe-links"') :].split("</nav>")[0]
    for url in ("errorgroup/", "errorevent/", "health/", "healthcheckrun/", "healthincident/", "/metrics", "/health/detailed"):
        assert url in links, url
    top = page[page.find('id="observe-top-errors"') :]
    assert top.count('<svg class="observe-sparkline"') == 1 and "7 events in the last 24 hours" in top

    reader = django_user_model.objects.create_user("reader", password="pw-reader-123", is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_errorgroup"))
    client.force_login(reader)
    page = client.get(URL).content.decode()
    links = page[page.find('id="observe-links"') :].split("</nav>")[0]
    assert "errorgroup/" in links and "errorevent/" not in links
    assert "RuntimeError: payment gateway timed out" in page
