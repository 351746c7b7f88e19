"""Recording health runs: raw results, minute/hour/day rollups, incidents, uptime, retention.

Modelled on Uptime Kuma's heartbeats: every recorded run is stored with its
per-check results; rollups keep count, failures (fail + timeout), warnings and
latency (sum for the mean, max, p95) per check and bucket; uptime % is computed
from the rollups. An incident opens after ``HEALTH_FAILURE_THRESHOLD``
consecutive failed runs of a check (flap damping) and closes at the first run
that passes or warns. A check that fails again within ``FLAP_WINDOW`` of its
last recovery reopens that incident, marked ``flapping``, instead of paging anew.

Called from ``observe_check --record``, its ``--loop`` and the Celery beat task,
never from a probe: probes must not write to the database.
"""

from __future__ import annotations

import datetime
import logging
import math
import socket
import threading
import time
from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.db.models.functions import Greatest
from django.utils import timezone

from ..conf import get_settings
from ..models import HealthCheckResult, HealthCheckRun, HealthIncident, HealthRollup
from .runner import FAILING, WARN, CheckResult, overall, specs

logger = logging.getLogger(__name__)

FLAP_WINDOW = datetime.timedelta(minutes=15)
#: Minute rollups feed only the recent latency chart; older ones are pruned after this.
MINUTE_ROLLUP_RETENTION = datetime.timedelta(days=2)
#: The day bucket's p95 is recomputed from raw results at most this often (it scans a whole day).
DAY_P95_REFRESH = datetime.timedelta(minutes=5)
PERIODS: dict[str, datetime.timedelta] = {
    "minute": datetime.timedelta(minutes=1),
    "hour": datetime.timedelta(hours=1),
    "day": datetime.timedelta(days=1),
}

_prune_lock = threading.Lock()
_last_prune = 0.0


def bucket_start(moment: datetime.datetime, period: str) -> datetime.datetime:
    """The start of the minute/hour/day (UTC) containing ``moment``."""
    moment = moment.astimezone(datetime.UTC)
    if period == "minute":
        return moment.replace(second=0, microsecond=0)
    if period == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def record(
    results: Sequence[CheckResult],
    *,
    trigger: str = "command",
    started_at: datetime.datetime | None = None,
    duration: float = 0.0,
) -> HealthCheckRun:
    """Store one run and its results, update rollups and incidents; returns the run."""
    started_at = started_at or timezone.now()
    with transaction.atomic():
        run = HealthCheckRun.objects.create(
            started_at=started_at,
            trigger=trigger[:20],
            host=socket.gethostname()[:255],
            status=overall(results),
            duration_ms=round(duration * 1000, 3),
        )
        HealthCheckResult.objects.bulk_create(
            HealthCheckResult(
                run=run,
                check_name=result.name[:100],
                checked_at=started_at,
                status=result.status,
                critical=result.critical,
                duration_ms=round(result.duration * 1000, 3),
                message=result.message[:500],
                error_class=result.error_class[:200],
                observed_value=result.observed,
            )
            for result in results
        )
        for result in results:
            _update_rollups(result, started_at)
            _update_incident(result, started_at)
        _close_orphaned_incidents({result.name for result in results}, started_at)
    _maybe_prune()
    return run


def _update_rollups(result: CheckResult, moment: datetime.datetime) -> None:
    failed = int(result.status in FAILING)
    warned = int(result.status == WARN)
    duration_ms = result.duration * 1000
    now = timezone.now()
    for period in PERIODS:
        start = bucket_start(moment, period)
        rows = HealthRollup.objects.filter(check_name=result.name, period=period, bucket_start=start)
        # count = count + 1 in SQL: two recorders (a beat task and a loop) must not lose updates.
        updated = rows.update(
            count=F("count") + 1,
            failures=F("failures") + failed,
            warnings=F("warnings") + warned,
            total_ms=F("total_ms") + duration_ms,
            max_ms=Greatest(F("max_ms"), duration_ms),
        )
        if not updated:
            try:
                with transaction.atomic():
                    HealthRollup.objects.create(
                        check_name=result.name,
                        period=period,
                        bucket_start=start,
                        count=1,
                        failures=failed,
                        warnings=warned,
                        total_ms=duration_ms,
                        max_ms=duration_ms,
                        p95_ms=duration_ms,
                        updated_at=now,
                    )
                continue
            except IntegrityError:
                rows.update(
                    count=F("count") + 1,
                    failures=F("failures") + failed,
                    warnings=F("warnings") + warned,
                    total_ms=F("total_ms") + duration_ms,
                    max_ms=Greatest(F("max_ms"), duration_ms),
                )
        if period == "day":
            rows = rows.filter(updated_at__lt=now - DAY_P95_REFRESH)
        end = start + PERIODS[period]
        if rows.exists():
            durations = HealthCheckResult.objects.filter(check_name=result.name, checked_at__gte=start, checked_at__lt=end).values_list(
                "duration_ms", flat=True
            )
            rows.update(p95_ms=percentile(list(durations), 95), updated_at=now)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (0.0 for no values)."""
    if not values:
        return 0.0
    values = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(values)))
    return values[rank - 1]


def _close_orphaned_incidents(recorded: set[str], moment: datetime.datetime) -> None:
    """Close the open incidents of checks that are no longer configured (removed, renamed or disabled).

    Nothing else would ever close them: no run of theirs will pass again, and the admin would show
    them as open forever. A check merely left out of this run (``observe_check --check X``) is kept.
    """
    existing = recorded | {spec.name for spec in specs()}
    orphaned = HealthIncident.objects.filter(resolved_at__isnull=True).exclude(check_name__in=existing)
    names = sorted(set(orphaned.values_list("check_name", flat=True)))
    if names and orphaned.update(resolved_at=moment):
        logger.info("Closed the open incidents of checks that are no longer configured: %s.", ", ".join(names))


def _update_incident(result: CheckResult, moment: datetime.datetime) -> None:
    threshold = int(get_settings().HEALTH_FAILURE_THRESHOLD)
    incidents = HealthIncident.objects.filter(check_name=result.name)
    is_open = incidents.filter(resolved_at__isnull=True)
    if result.status not in FAILING:
        if is_open.update(resolved_at=moment):
            logger.info("Health check %r recovered; its incident is closed.", result.name)
        return
    if is_open.update(failure_count=F("failure_count") + 1):
        return
    streak = list(
        HealthCheckResult.objects.filter(check_name=result.name, checked_at__lte=moment)
        .order_by("-checked_at", "-id")
        .values("status", "checked_at", "error_class", "message")[:threshold]
    )
    if len(streak) < threshold or any(row["status"] not in FAILING for row in streak):
        return  # PENDING: failing, but not long enough to call it DOWN
    first = streak[-1]
    recent = incidents.filter(resolved_at__gte=moment - FLAP_WINDOW).order_by("-resolved_at").first()
    if recent is not None:
        recent.resolved_at = None
        recent.flapping = True
        recent.reopen_count += 1
        recent.failure_count += threshold
        recent.save(update_fields=["resolved_at", "flapping", "reopen_count", "failure_count"])
        logger.warning("Health check %r is down again within %s: incident reopened, marked flapping.", result.name, FLAP_WINDOW)
        return
    HealthIncident.objects.create(
        check_name=result.name,
        started_at=first["checked_at"],
        first_error_class=first["error_class"] or first["status"],
        first_message=first["message"],
        failure_count=threshold,
    )
    logger.warning("Health check %r is down (%d failed runs in a row): incident opened.", result.name, threshold)


# --- reading: uptime and windows ---------------------------------------------------------


def window_start(now: datetime.datetime, hours: int) -> tuple[str, datetime.datetime]:
    """(rollup period, first bucket) covering the last ``hours``: hour buckets up to 24 h, day buckets above."""
    if hours <= 24:
        return "hour", bucket_start(now, "hour") - datetime.timedelta(hours=hours - 1)
    days = math.ceil(hours / 24)
    return "day", bucket_start(now, "day") - datetime.timedelta(days=days - 1)


def uptime(check_name: str, hours: int, now: datetime.datetime | None = None) -> float | None:
    """Percent of recorded runs of ``check_name`` that passed or warned, from the rollups (None: no data)."""
    period, start = window_start(now or timezone.now(), hours)
    totals = HealthRollup.objects.filter(check_name=check_name, period=period, bucket_start__gte=start).aggregate(
        count=Sum("count"), failures=Sum("failures")
    )
    if not totals["count"]:
        return None
    return 100.0 * (totals["count"] - totals["failures"]) / totals["count"]


def uptimes(names: Sequence[str], hours: int, now: datetime.datetime | None = None) -> dict[str, float | None]:
    """``uptime`` for many checks in one query."""
    period, start = window_start(now or timezone.now(), hours)
    rows = (
        HealthRollup.objects.filter(check_name__in=names, period=period, bucket_start__gte=start)
        .values("check_name")
        .annotate(count=Sum("count"), failures=Sum("failures"))
    )
    found: dict[str, float | None] = {name: None for name in names}
    for row in rows:
        if row["count"]:
            found[row["check_name"]] = 100.0 * (row["count"] - row["failures"]) / row["count"]
    return found


# --- retention ---------------------------------------------------------------------------


def prune(now: datetime.datetime | None = None) -> dict[str, int]:
    """Delete runs, results, rollups and resolved incidents older than HEALTH_HISTORY_DAYS; returns counts."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=get_settings().HEALTH_HISTORY_DAYS)
    deleted = {
        # Results first: the runs' cascade then has nothing left to collect row by row.
        "results": HealthCheckResult.objects.filter(checked_at__lt=cutoff).delete()[0],
        "runs": HealthCheckRun.objects.filter(started_at__lt=cutoff).delete()[0],
        "rollups": HealthRollup.objects.filter(period__in=["hour", "day"], bucket_start__lt=cutoff).delete()[0]
        + HealthRollup.objects.filter(period="minute", bucket_start__lt=now - MINUTE_ROLLUP_RETENTION).delete()[0],
        "incidents": HealthIncident.objects.filter(resolved_at__lt=cutoff).delete()[0],
    }
    return deleted


def _maybe_prune() -> None:
    """Prune at most once an hour per process, after a recording; a failure only logs."""
    global _last_prune
    with _prune_lock:
        if time.monotonic() - _last_prune < 3600 and _last_prune:
            return
        _last_prune = time.monotonic()
    try:
        prune()
    except Exception:
        logger.warning("Pruning the health history failed; it is retried in an hour.", exc_info=True)
