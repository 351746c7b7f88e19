"""Recording: runs, rollups, uptime from rollups, incidents with flap damping, retention."""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from django_observe.health import history
from django_observe.health.runner import CheckResult
from django_observe.models import HealthCheckResult, HealthCheckRun, HealthIncident, HealthRollup

pytestmark = pytest.mark.django_db
P = "tests.health.probes."
# Half past the previous hour: recent (recording prunes old rows), and three minutes fit in one hour bucket.
NOW = history.bucket_start(timezone.now(), "hour") - datetime.timedelta(minutes=30)


def _result(status: str, ms: float = 10.0, name: str = "search") -> CheckResult:
    error = "ConnectionError" if status in ("fail", "timeout") else ""
    return CheckResult(name, status, ms / 1000, True, "down" if error else "", error)


def _record(status: str, at: datetime.datetime, ms: float = 10.0) -> None:
    history.record([_result(status, ms)], trigger="test", started_at=at)


def test_record_stores_run_results_and_rollups() -> None:
    _record("pass", NOW, 10)
    _record("fail", NOW + datetime.timedelta(seconds=10), 30)
    _record("warn", NOW + datetime.timedelta(minutes=2), 20)
    assert list(HealthCheckRun.objects.order_by("started_at").values_list("status", flat=True)) == ["healthy", "unhealthy", "degraded"]
    assert HealthCheckResult.objects.count() == 3
    minute = HealthRollup.objects.get(period="minute", bucket_start=NOW.replace(second=0))
    assert (minute.count, minute.failures, minute.warnings, minute.avg_ms, minute.max_ms, minute.p95_ms) == (2, 1, 0, 20.0, 30.0, 30.0)
    hour = HealthRollup.objects.get(period="hour")
    assert (hour.count, hour.failures, hour.warnings, hour.max_ms) == (3, 1, 1, 30.0)
    assert HealthRollup.objects.get(period="day").count == 3


def test_uptime_from_rollups_matches_the_raw_runs() -> None:
    rng = random.Random(7)
    moments = [NOW - datetime.timedelta(minutes=rng.randrange(0, days * 24 * 60)) for days in (1, 7, 29) for _ in range(40)]
    for moment in moments:
        _record(rng.choice(["pass", "pass", "pass", "warn", "fail", "timeout"]), moment, rng.uniform(1, 50))
    for hours in (24, 24 * 7, 24 * 30):
        _period, start = history.window_start(NOW, hours)
        raw = HealthCheckResult.objects.filter(check_name="search", checked_at__gte=start)
        total = raw.count()
        up = raw.filter(status__in=["pass", "warn"]).count()
        assert total > 0
        assert history.uptime("search", hours, NOW) == pytest.approx(100.0 * up / total), hours
    assert history.uptimes(["search", "other"], 24, NOW)["other"] is None


def test_incident_opens_after_threshold_failures_and_closes_on_recovery(observe: Callable[..., None]) -> None:
    observe({}, HEALTH_FAILURE_THRESHOLD=3)
    step = datetime.timedelta(minutes=1)
    _record("pass", NOW)
    _record("fail", NOW + step)
    _record("timeout", NOW + 2 * step)
    assert not HealthIncident.objects.exists(), "two failures are PENDING, not DOWN"
    _record("fail", NOW + 3 * step)
    incident = HealthIncident.objects.get()
    assert (incident.started_at, incident.resolved_at, incident.first_error_class, incident.failure_count) == (
        NOW + step,
        None,
        "ConnectionError",
        3,
    )
    _record("fail", NOW + 4 * step)
    _record("pass", NOW + 5 * step)
    incident.refresh_from_db()
    assert (incident.resolved_at, incident.failure_count, incident.flapping) == (NOW + 5 * step, 4, False)


def test_failing_again_soon_after_recovery_reopens_the_incident_as_flapping(observe: Callable[..., None]) -> None:
    observe({}, HEALTH_FAILURE_THRESHOLD=2)
    at = NOW
    for status in ["fail", "fail", "pass", "fail", "pass", "fail", "fail"]:
        _record(status, at)
        at += datetime.timedelta(minutes=1)
    incident = HealthIncident.objects.get()
    assert (incident.flapping, incident.reopen_count, incident.resolved_at) == (True, 1, None)
    _record("pass", at)
    _record("fail", at + datetime.timedelta(hours=1))
    _record("fail", at + datetime.timedelta(hours=1, minutes=1))
    assert HealthIncident.objects.count() == 2, "outside the flap window a new incident opens"


def test_outage_and_recovery_through_the_command(observe: Callable[..., None], tmp_path: Path) -> None:
    switch = tmp_path / "down"
    observe({"search": {"check": P + "Toggle", "path": str(switch)}}, HEALTH_FAILURE_THRESHOLD=2)
    call_command("observe_check", "--record", stdout=_Sink())
    switch.touch()
    for _ in range(2):
        with pytest.raises(SystemExit) as exited:
            call_command("observe_check", "--record", stdout=_Sink())
        assert exited.value.code == 1
    assert HealthIncident.objects.get().is_open
    switch.unlink()
    call_command("observe_check", "--record", stdout=_Sink())
    incident = HealthIncident.objects.get()
    assert not incident.is_open and incident.failure_count == 2 and incident.first_message == "toggled off"
    assert list(HealthCheckRun.objects.order_by("started_at").values_list("status", flat=True)) == [
        "healthy",
        "unhealthy",
        "unhealthy",
        "healthy",
    ]


def test_prune_keeps_history_days(observe: Callable[..., None]) -> None:
    observe({}, HEALTH_HISTORY_DAYS=7)
    now = timezone.now()
    _record("pass", now - datetime.timedelta(days=8))
    _record("pass", now - datetime.timedelta(days=3))
    _record("pass", now - datetime.timedelta(hours=1))
    deleted = history.prune(now)
    assert deleted["runs"] == 1 and deleted["results"] == 1
    assert HealthCheckRun.objects.count() == 2
    assert not HealthRollup.objects.filter(bucket_start__lt=now - datetime.timedelta(days=7)).exists()
    assert not HealthRollup.objects.filter(period="minute", bucket_start__lt=now - datetime.timedelta(days=2)).exists()
    assert HealthRollup.objects.filter(period="day").count() >= 2


class _Sink:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, text: str, *args: object, **kwargs: object) -> None:
        self.lines.append(text)

    def flush(self) -> None:
        pass


def test_beat_task_records_a_run_that_feeds_the_heartbeat_check(observe: Callable[..., None]) -> None:
    from health_check.exceptions import ServiceUnavailable

    from django_observe.health.beat import record_health
    from django_observe.health.checks import CeleryBeat

    observe({"ok": P + "Counting"})
    with pytest.raises(ServiceUnavailable):
        CeleryBeat(max_age_seconds=60).run()
    assert record_health() == "healthy"
    assert HealthCheckRun.objects.get().trigger == "beat"
    assert CeleryBeat(max_age_seconds=60).run() < 60
    HealthCheckRun.objects.update(started_at=timezone.now() - datetime.timedelta(minutes=5))
    with pytest.raises(ServiceUnavailable) as stale:
        CeleryBeat(max_age_seconds=60).run()
    assert stale.value.message.startswith("Last beat run 300 s ago")
