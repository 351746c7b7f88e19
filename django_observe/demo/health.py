"""30 days of demo health history for the configured checks: runs, results, rollups and incidents.

The story, for the checks this project has (names from the health registry):

- the first critical check (``database`` when there is one) is down for two hours nine days ago:
  one incident, opened and resolved by the same rules as the recorder;
- a second check (``cache`` when there is one) flaps: a timeout now and then, two in the last
  24 hours, and two days ago down, up, down again within the flap window: one incident marked
  flapping. Its uptime is below 100 % over 24 h, 7 d and 30 d;
- ``disk`` warns from two days to six hours ago (warnings do not count against uptime).

Runs are every 30 minutes, every 5 minutes in the last three days. Rollups are rebuilt from the
raw results (demo and real) so that the uptime figures and charts agree with the runs.
"""

from __future__ import annotations

import datetime
import functools
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, models, router, transaction

from ..conf import get_settings
from ..health import history
from ..health import runner as health_runner
from ..models import HealthCheckResult, HealthCheckRun, HealthIncident, HealthRollup
from . import DEMO_MARK

TRIGGER = "demo"
DAYS = 30
DENSE_DAYS = 3
SPARSE_STEP = datetime.timedelta(minutes=30)
DENSE_STEP = datetime.timedelta(minutes=5)
FAILING = ("fail", "timeout")

#: Typical latency per built-in check, milliseconds; other checks get 5 ms.
BASE_MS = {
    "database": 2.4,
    "migrations": 9.0,
    "cache": 0.4,
    "redis": 0.7,
    "storage": 2.8,
    "disk": 0.3,
    "memory": 0.9,
    "celery_broker": 6.5,
    "celery_workers": 45.0,
    "celery_beat": 1.2,
}


@dataclass
class Outcome:
    status: str = "pass"
    message: str = ""
    error_class: str = ""


@dataclass
class DemoIncident:
    check_name: str
    started_at: datetime.datetime
    first_error_class: str
    first_message: str
    failure_count: int
    resolved_at: datetime.datetime | None = None
    flapping: bool = False
    reopen_count: int = 0


@dataclass
class Plan:
    """Which check gets which trouble, and when (slot indexes into ``run_times``)."""

    times: list[datetime.datetime]
    outcomes: dict[str, dict[int, Outcome]] = field(default_factory=dict)


def run_times(anchor: datetime.datetime) -> list[datetime.datetime]:
    """Oldest first: every 30 minutes from 30 days ago, every 5 minutes in the last 3 days, ending at ``anchor``."""
    dense_start = anchor - datetime.timedelta(days=DENSE_DAYS)
    sparse = [anchor - datetime.timedelta(days=DAYS) + SPARSE_STEP * k for k in range(1, (DAYS - DENSE_DAYS) * 48 + 1)]
    dense = [dense_start + DENSE_STEP * k for k in range(1, DENSE_DAYS * 288 + 1)]
    return sparse + dense


def plan(anchor: datetime.datetime, checks: Sequence[tuple[str, bool]], threshold: int) -> Plan:
    times = run_times(anchor)
    index = {moment: i for i, moment in enumerate(times)}
    result = Plan(times=times, outcomes={name: {} for name, _ in checks})
    names = [name for name, _ in checks]
    critical = [name for name, is_critical in checks if is_critical]
    down = "database" if "database" in names else (critical[0] if critical else (names[0] if names else None))
    others = [name for name in names if name != down]
    flappy = "cache" if "cache" in others else (others[0] if others else None)
    streak = max(threshold, 3)
    if down:
        refused = Outcome("fail", f"could not connect to server: Connection refused {DEMO_MARK}", "OperationalError")
        start = index[anchor - datetime.timedelta(days=9)]
        for i in range(start, start + streak + 1):
            result.outcomes[down][i] = refused
    if flappy:
        slow = Outcome("timeout", f"no answer within 2.0 s {DEMO_MARK}", "TimeoutError")
        rng = random.Random("django-observe demo: flapping")
        sparse_end = index[anchor - datetime.timedelta(days=DENSE_DAYS)]
        for i in sorted(rng.sample(range(10, sparse_end - 10), 9)):
            result.outcomes[flappy][i] = slow
        for hours_ago in (20, 7):  # two lone timeouts in the last 24 hours
            result.outcomes[flappy][index[anchor - datetime.timedelta(hours=hours_ago)]] = slow
        # Down, up for one run, down again: reopened within the flap window.
        start = index[anchor - datetime.timedelta(days=2, hours=3)]
        for i in [*range(start, start + streak), *range(start + streak + 1, start + 2 * streak + 1)]:
            result.outcomes[flappy][i] = slow
    if "disk" in names:
        for i in range(index[anchor - datetime.timedelta(days=2)], index[anchor - datetime.timedelta(hours=6)]):  # then cleaned up
            result.outcomes["disk"][i] = Outcome("warn", "disk 91.0% full (warn at 90%)", "")
    return result


def _latency(rng: random.Random, name: str, moment: datetime.datetime, outcome: Outcome) -> float:
    """Milliseconds: the check's base, busier in the (UTC) daytime, a long tail now and then."""
    base = BASE_MS.get(name, 5.0)
    if outcome.status == "timeout":
        return 2000.0 + rng.random() * 5
    if outcome.status == "fail":
        return base * 3 + rng.random() * base
    daytime = 1.0 + 0.35 * max(0.0, 1 - abs(moment.hour - 14) / 8)
    tail = 4.0 if rng.random() < 0.02 else 1.0
    return round(base * daytime * tail * (0.8 + 0.4 * rng.random()), 3)


def remove() -> dict[str, int]:
    """Delete the demo's runs, results and incidents (rollups are rebuilt by ``fill``)."""
    return {
        "results": HealthCheckResult.objects.filter(run__trigger=TRIGGER).delete()[0],
        "runs": HealthCheckRun.objects.filter(trigger=TRIGGER).delete()[0],
        "incidents": HealthIncident.objects.filter(first_message__contains=DEMO_MARK).delete()[0],
    }


@transaction.atomic
def fill(anchor: datetime.datetime) -> dict[str, int]:
    """Replace the demo health history; returns row counts written."""
    remove()
    checks = [(spec.name, spec.critical) for spec in health_runner.specs()]
    if not checks:
        return {"runs": 0, "results": 0, "rollups": 0, "incidents": 0}
    threshold = int(get_settings().HEALTH_FAILURE_THRESHOLD)
    story = plan(anchor, checks, threshold)
    rng = random.Random("django-observe demo: latency")
    runs: list[HealthCheckRun] = []
    outcomes: list[list[tuple[str, bool, Outcome, float]]] = []
    for i, moment in enumerate(story.times):
        row = []
        for name, critical in checks:
            outcome = story.outcomes[name].get(i, Outcome())
            row.append((name, critical, outcome, _latency(rng, name, moment, outcome)))
        outcomes.append(row)
        runs.append(
            HealthCheckRun(
                started_at=moment,
                trigger=TRIGGER,
                host="web-1",
                status=_overall([(outcome.status, critical) for _, critical, outcome, _ in row]),
                duration_ms=round(max(ms for *_, ms in row) + 1.5, 3),
            )
        )
    HealthCheckRun.objects.bulk_create(runs, batch_size=500)
    results = [
        (run.pk, name, run.started_at, outcome.status, critical, ms, outcome.message, outcome.error_class)
        for run, row in zip(runs, outcomes, strict=True)
        for name, critical, outcome, ms in row
    ]
    insert_rows(HealthCheckResult, RESULT_FIELDS, results)
    incidents = simulate_incidents(((name, at, status, error, message) for _, name, at, status, _, _, message, error in results), threshold)
    HealthIncident.objects.bulk_create(
        HealthIncident(
            check_name=i.check_name,
            started_at=i.started_at,
            resolved_at=i.resolved_at,
            first_error_class=i.first_error_class,
            first_message=i.first_message,
            failure_count=i.failure_count,
            flapping=i.flapping,
            reopen_count=i.reopen_count,
        )
        for i in incidents
    )
    rollups = rebuild_rollups([name for name, _ in checks], story.times[0], anchor)
    return {"runs": len(runs), "results": len(results), "rollups": rollups, "incidents": len(incidents)}


RESULT_FIELDS = ("run", "check_name", "checked_at", "status", "critical", "duration_ms", "message", "error_class")
ROLLUP_FIELDS = ("check_name", "period", "bucket_start", "count", "failures", "warnings", "total_ms", "max_ms", "p95_ms", "updated_at")


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Multi-row INSERTs without model instances: building ~20,000 instances for bulk_create was most of the demo's time."""
    connection = connections[router.db_for_write(model)]
    columns = [model._meta.get_field(name) for name in fields]
    assert all(isinstance(field, models.Field) and field.column for field in columns), "concrete fields only"
    concrete = [field for field in columns if isinstance(field, models.Field)]
    names = ", ".join(connection.ops.quote_name(str(field.column)) for field in concrete)
    prepare = [functools.partial(field.get_db_prep_save, connection=connection) for field in concrete]
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    batch = max(1, min(500, connection.ops.bulk_batch_size(concrete, rows)))  # SQLite caps the parameters per statement
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            values = [prep(value) for row in chunk for prep, value in zip(prepare, row, strict=True)]
            sql = f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({names}) VALUES {', '.join([placeholder] * len(chunk))}"
            cursor.execute(sql, values)


def _overall(statuses: Sequence[tuple[str, bool]]) -> str:
    """Like ``health.runner.overall``: unhealthy when a critical check fails, degraded on any other problem."""
    if any(status in FAILING and critical for status, critical in statuses):
        return "unhealthy"
    return "degraded" if any(status != "pass" for status, _ in statuses) else "healthy"


def simulate_incidents(results: Iterable[tuple[str, datetime.datetime, str, str, str]], threshold: int) -> list[DemoIncident]:
    """The incidents the recorder would have opened for these results (name, time, status, error class, message).

    Same rules as ``health.history``: DOWN after ``threshold`` failed runs in a row, closed by the
    first run that passes or warns, reopened and marked flapping when down again within ``FLAP_WINDOW``.
    """
    by_check: dict[str, list[tuple[datetime.datetime, str, str, str]]] = {}
    for name, moment, status, error_class, message in results:
        by_check.setdefault(name, []).append((moment, status, error_class, message))
    found: list[DemoIncident] = []
    for name, rows in by_check.items():
        rows.sort(key=lambda row: row[0])
        current: DemoIncident | None = None
        last: DemoIncident | None = None
        failing: list[tuple[datetime.datetime, str, str, str]] = []
        for moment, status, error_class, message in rows:
            if status not in FAILING:
                failing = []
                if current is not None:
                    current.resolved_at, last, current = moment, current, None
                continue
            failing.append((moment, status, error_class, message))
            if current is not None:
                current.failure_count += 1
            elif len(failing) >= threshold:
                if last is not None and last.resolved_at is not None and last.resolved_at >= moment - history.FLAP_WINDOW:
                    last.resolved_at, last.flapping = None, True
                    last.reopen_count += 1
                    last.failure_count += threshold
                    current = last
                else:
                    first = failing[-threshold]
                    current = DemoIncident(name, first[0], first[2] or first[1], first[3], threshold)
                    found.append(current)
    return found


def rebuild_rollups(names: Sequence[str], since: datetime.datetime, now: datetime.datetime) -> int:
    """Recompute the minute/hour/day rollups of ``names`` from every stored result since the day of ``since``."""
    first_day = history.bucket_start(since, "day")
    minute_cutoff = now - history.MINUTE_ROLLUP_RETENTION
    HealthRollup.objects.filter(check_name__in=names, bucket_start__gte=first_day).delete()
    buckets: dict[tuple[str, str, datetime.datetime], list[Any]] = {}
    rows = HealthCheckResult.objects.filter(check_name__in=names, checked_at__gte=first_day).values_list(
        "check_name", "checked_at", "status", "duration_ms"
    )
    for name, moment, status, ms in rows.iterator(chunk_size=5000):
        for period in history.PERIODS:
            if period == "minute" and moment < minute_cutoff:
                continue
            bucket = buckets.setdefault((name, period, history.bucket_start(moment, period)), [0, 0, []])
            bucket[0] += status in FAILING
            bucket[1] += status == "warn"
            bucket[2].append(ms)
    insert_rows(
        HealthRollup,
        ROLLUP_FIELDS,
        [
            (
                name,
                period,
                start,
                len(durations),
                failures,
                warnings,
                sum(durations),
                max(durations),
                history.percentile(durations, 95),
                now,
            )
            for (name, period, start), (failures, warnings, durations) in buckets.items()
        ],
    )
    return len(buckets)
