"""The alert set: HTTP, health checks, database, cache, process and django-observe itself.

Each alert has a ``severity`` (``critical`` pages someone, ``warning`` can wait for working
hours), a ``summary``, a ``description`` and a ``runbook_url`` to its page in docs/runbooks/.
Each threshold is a ``Threshold`` below, so ``observe_export`` offers it as an option and the
runbook index documents its default. Celery alerts live in ``monitoring/celery.py``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from ..metrics.definitions import ERROR_STORE_DROP_COMPONENTS
from .names import slug
from .options import Context, Threshold
from .recording import Recorded

Severity = Literal["critical", "warning"]

#: Window of the count-based alerts (internal errors, dropped events, flapping checks).
EVENT_WINDOW = "15m"


@dataclasses.dataclass(frozen=True)
class Alert:
    """One alerting rule, with what a person paged by it needs."""

    name: str
    expr: str
    severity: Severity
    summary: str
    description: str
    #: How long the condition must hold before the alert fires.
    for_: str = "0s"
    #: Keys of the thresholds it uses (documented in the runbook index).
    thresholds: tuple[str, ...] = ()

    def rule(self, ctx: Context) -> dict[str, Any]:
        wait = ctx.options.for_override if ctx.options.for_override is not None else self.for_
        rule: dict[str, Any] = {"alert": self.name, "expr": self.expr}
        if wait not in ("0s", "0m"):
            rule["for"] = wait
        rule["labels"] = {"severity": self.severity}
        rule["annotations"] = {
            "summary": self.summary,
            "description": self.description,
            "runbook_url": ctx.options.runbook_url.format(slug=slug(self.name)),
        }
        return rule


def _p95_default(conf: Any, chosen: Any) -> float:
    return float(conf.SLOW_REQUEST_THRESHOLD)


def _p99_default(conf: Any, chosen: Any) -> float:
    return 3 * float(chosen["latency_p95"])


THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("target_down_for", "2m", "How long the scrape must fail before DjangoTargetDown fires.", "duration"),
    Threshold("error_ratio", 0.05, "Share of 5xx responses that fires DjangoHighErrorRate.", "ratio"),
    Threshold(
        "min_rate",
        0.1,
        "Ratio alerts (5xx, slow requests, cache hits) stay silent below this many events per second: "
        "two failures out of three requests at night are not an outage.",
        "rate",
    ),
    Threshold(
        "latency_p95", _p95_default, "p95 latency in seconds that fires DjangoHighLatencyP95.", "seconds", "`SLOW_REQUEST_THRESHOLD` (1 s)"
    ),
    Threshold(
        "latency_p99", _p99_default, "p99 latency in seconds that fires DjangoHighLatencyP99.", "seconds", "3 × `--latency-p95` (3 s)"
    ),
    Threshold(
        "slow_ratio", 0.2, "Share of an endpoint's requests slower than SLOW_REQUEST_THRESHOLD that fires DjangoSlowRequests.", "ratio"
    ),
    Threshold("exception_rate", 0.1, "Unhandled exceptions per second (of one type) that fire DjangoHighExceptionRate.", "rate"),
    Threshold("health_failing_for", "2m", "How long a health check must fail before DjangoHealthCheckFailing fires.", "duration"),
    Threshold("health_flaps", 4, f"Status changes of one health check within {EVENT_WINDOW} that fire DjangoHealthCheckFlapping.", "count"),
    Threshold("db_error_rate", 0.1, "Failed database queries per second (per alias) that fire DjangoDatabaseErrors.", "rate"),
    Threshold("db_query_p95", 0.5, "p95 database query time in seconds (per alias) that fires DjangoSlowDatabaseQueries.", "seconds"),
    Threshold(
        "pool_usage",
        0.9,
        "Share of open database connections in use, active / (active + idle), that fires DjangoDatabasePoolNearExhaustion.",
        "ratio",
    ),
    Threshold("cache_hit_ratio", 0.7, "Cache hit ratio of `get` below which DjangoLowCacheHitRatio fires.", "ratio"),
    Threshold("memory_bytes", 1024**3, "Resident memory of one process that fires DjangoHighMemory.", "bytes", "1Gi (1073741824)"),
    Threshold(
        "error_store_drops",
        0,
        f"Dropped-event incidents of the error store within {EVENT_WINDOW} tolerated before DjangoErrorStoreDroppingEvents.",
        "count",
    ),
    Threshold(
        "internal_errors",
        0,
        f"Internal errors of django-observe within {EVENT_WINDOW} tolerated before DjangoObserveInternalErrors.",
        "count",
    ),
)


def core_alerts(ctx: Context, r: Recorded) -> list[Alert]:
    """The alerts on the metrics every django-observe install exports."""
    return _http(ctx, r) + _health(ctx) + _database(ctx) + _cache(ctx, r) + _process(ctx)


def _http(ctx: Context, r: Recorded) -> list[Alert]:
    m, sel, w, v = ctx.m, ctx.sel, ctx.window, ctx.value
    min_rate = v("min_rate", "rate")
    return [
        Alert(
            "DjangoTargetDown",
            f"up{{{sel}}} == 0",
            "critical",
            "{{ $labels.instance }} does not answer the metrics scrape",
            "Prometheus could not scrape {{ $labels.instance }} (job {{ $labels.job }}): the app is down, unreachable, "
            "or rejects the scrape token. Open the target page of Prometheus for the scrape error.",
            for_=ctx.t["target_down_for"],
            thresholds=("target_down_for",),
        ),
        Alert(
            "DjangoHighErrorRate",
            f"{r.error_ratio} > {v('error_ratio', 'ratio')} and {r.requests} > {min_rate}",
            "critical",
            "{{ $labels.job }}: {{ $value | humanizePercentage }} of requests fail with 5xx",
            f"Over the last {w}, {{{{ $value | humanizePercentage }}}} of the requests to {{{{ $labels.job }}}} were answered "
            f"with a 5xx status (threshold {ctx.t['error_ratio']:.0%}). The Errors page of the admin shows what raised; "
            f"`{r.endpoint_error_ratio}` shows which endpoints.",
            for_="5m",
            thresholds=("error_ratio", "min_rate"),
        ),
        Alert(
            "DjangoHighLatencyP95",
            f"{r.latency['p95']} > {v('latency_p95', 'seconds')} and {r.requests} > {min_rate}",
            "warning",
            "{{ $labels.job }}: p95 latency {{ $value | humanizeDuration }}",
            f"One request in 20 to {{{{ $labels.job }}}} took longer than {{{{ $value | humanizeDuration }}}} over the last {w} "
            f"(threshold {ctx.t['latency_p95']:g} s). `{r.endpoint_latency['p95']}` shows which endpoints.",
            for_="10m",
            thresholds=("latency_p95", "min_rate"),
        ),
        Alert(
            "DjangoHighLatencyP99",
            f"{r.latency['p99']} > {v('latency_p99', 'seconds')} and {r.requests} > {min_rate}",
            "warning",
            "{{ $labels.job }}: p99 latency {{ $value | humanizeDuration }}",
            f"One request in 100 to {{{{ $labels.job }}}} took longer than {{{{ $value | humanizeDuration }}}} over the last {w} "
            f"(threshold {ctx.t['latency_p99']:g} s). `{r.endpoint_latency['p99']}` shows which endpoints.",
            for_="10m",
            thresholds=("latency_p99", "min_rate"),
        ),
        Alert(
            "DjangoSlowRequests",
            f"{r.endpoint_slow_ratio} > {v('slow_ratio', 'ratio')} and {r.endpoint_requests} > {min_rate}",
            "warning",
            "{{ $labels.job }} {{ $labels.endpoint }}: {{ $value | humanizePercentage }} of requests are slow",
            f"{{{{ $value | humanizePercentage }}}} of the requests to {{{{ $labels.endpoint }}}} took longer than "
            f"SLOW_REQUEST_THRESHOLD over the last {w} (threshold {ctx.t['slow_ratio']:.0%}). Their access log lines are "
            "WARNINGs with `duration_ms`.",
            for_="10m",
            thresholds=("slow_ratio", "min_rate"),
        ),
        Alert(
            "DjangoHighExceptionRate",
            f"sum by (job, type) (rate({m.exceptions_total}{{{sel}}}[{w}])) > {v('exception_rate', 'rate')}",
            "warning",
            "{{ $labels.job }}: {{ $labels.type }} raised {{ $value | humanize }} times per second",
            f"Views of {{{{ $labels.job }}}} raised {{{{ $labels.type }}}} {{{{ $value | humanize }}}} times per second over "
            f"the last {w} (threshold {ctx.t['exception_rate']:g}/s). The Errors page of the admin groups them with stack traces.",
            for_="5m",
            thresholds=("exception_rate",),
        ),
    ]


def _health(ctx: Context) -> list[Alert]:
    m, sel = ctx.m, ctx.sel
    return [
        Alert(
            "DjangoHealthCheckFailing",
            f"min by (job, instance, check) ({m.health_check_status}{{{sel}}}) == 0",
            "critical",
            "{{ $labels.job }}: health check {{ $labels.check }} fails",
            "The health check {{ $labels.check }} of {{ $labels.instance }} failed or timed out at its last runs. "
            "The Health page of the admin (or `manage.py observe_check`) shows its message and history.",
            for_=ctx.t["health_failing_for"],
            thresholds=("health_failing_for",),
        ),
        Alert(
            "DjangoHealthCheckFlapping",
            f"sum by (job, instance, check) (changes({m.health_check_status}{{{sel}}}[{EVENT_WINDOW}])) >= "
            f"{ctx.value('health_flaps', 'count')}",
            "warning",
            "{{ $labels.job }}: health check {{ $labels.check }} is flapping",
            f"The health check {{{{ $labels.check }}}} of {{{{ $labels.instance }}}} changed status {{{{ $value }}}} times "
            f"in {EVENT_WINDOW} (threshold {ctx.t['health_flaps']}). A dependency on the edge: timeouts close to the "
            "check's deadline, a saturated pool, a node going in and out.",
            thresholds=("health_flaps",),
        ),
    ]


def _database(ctx: Context) -> list[Alert]:
    m, sel, w = ctx.m, ctx.sel, ctx.window
    active = f"sum by (job, instance, alias) ({m.db_connections_active}{{{sel}}})"
    idle = f"sum by (job, instance, alias) ({m.db_connections_idle}{{{sel}}})"
    query_p95 = f"histogram_quantile(0.95, sum by (job, alias, le) (rate({m.database_query_duration_seconds}_bucket{{{sel}}}[{w}])))"
    queries = f"sum by (job, alias) (rate({m.database_queries_total}{{{sel}}}[{w}]))"
    return [
        Alert(
            "DjangoDatabaseErrors",
            f"sum by (job, alias) (rate({m.database_errors_total}{{{sel}}}[{w}])) > {ctx.value('db_error_rate', 'rate')}",
            "warning",
            "{{ $labels.job }}: {{ $value | humanize }} database errors per second on {{ $labels.alias }}",
            f"Queries on the database alias {{{{ $labels.alias }}}} failed {{{{ $value | humanize }}}} times per second over the "
            f"last {w} (threshold {ctx.t['db_error_rate']:g}/s): connection failures, timeouts, deadlocks or constraint errors.",
            for_="5m",
            thresholds=("db_error_rate",),
        ),
        Alert(
            "DjangoSlowDatabaseQueries",
            f"{query_p95} > {ctx.value('db_query_p95', 'seconds')} and {queries} > {ctx.value('min_rate', 'rate')}",
            "warning",
            "{{ $labels.job }}: p95 query time {{ $value | humanizeDuration }} on {{ $labels.alias }}",
            f"One query in 20 on the database alias {{{{ $labels.alias }}}} took longer than {{{{ $value | humanizeDuration }}}} over "
            f"the last {w} (threshold {ctx.t['db_query_p95']:g} s): a missing index, lock waits, or a database short of CPU or I/O.",
            for_="10m",
            thresholds=("db_query_p95", "min_rate"),
        ),
        Alert(
            "DjangoDatabasePoolNearExhaustion",
            f"{active} / ({active} + {idle}) > {ctx.value('pool_usage', 'ratio')}",
            "warning",
            "{{ $labels.instance }}: {{ $value | humanizePercentage }} of the {{ $labels.alias }} connections are in use",
            f"{{{{ $value | humanizePercentage }}}} of the open connections of alias {{{{ $labels.alias }}}} on "
            f"{{{{ $labels.instance }}}} are in use (threshold {ctx.t['pool_usage']:.0%}): requests will soon wait for a "
            "connection. Long transactions, slow queries or a pool too small for the workers.",
            for_="5m",
            thresholds=("pool_usage",),
        ),
    ]


def _cache(ctx: Context, r: Recorded) -> list[Alert]:
    return [
        Alert(
            "DjangoLowCacheHitRatio",
            f"{r.cache_hit_ratio} < {ctx.value('cache_hit_ratio', 'ratio')} and {r.cache_gets} > {ctx.value('min_rate', 'rate')}",
            "warning",
            "{{ $labels.job }}: cache {{ $labels.cache }} hit ratio {{ $value | humanizePercentage }}",
            f"Only {{{{ $value | humanizePercentage }}}} of the `get` calls on cache {{{{ $labels.cache }}}} found a value over the "
            f"last {ctx.window} (threshold {ctx.t['cache_hit_ratio']:.0%}): the cache was flushed or restarted, keys changed "
            "in a deploy, or it is too small and evicts.",
            for_="15m",
            thresholds=("cache_hit_ratio", "min_rate"),
        ),
    ]


def _process(ctx: Context) -> list[Alert]:
    m, sel = ctx.m, ctx.sel
    internal = f"increase({m.observe_internal_errors_total}{{{sel},component=~{_drops()}}}[{EVENT_WINDOW}])"
    other = f"increase({m.observe_internal_errors_total}{{{sel},component!~{_drops()}}}[{EVENT_WINDOW}])"
    return [
        Alert(
            "DjangoHighMemory",
            f"max by (job, instance) ({m.process_resident_memory_bytes}{{{sel}}}) > {ctx.value('memory_bytes', 'bytes')}",
            "warning",
            "{{ $labels.instance }}: a process uses {{ $value | humanize1024 }}B of memory",
            f"The largest process of {{{{ $labels.instance }}}} holds {{{{ $value | humanize1024 }}}}B of resident memory "
            f"(threshold {ctx.t['memory_bytes'] / 1024**2:g} MiB). A leak grows steadily; a big queryset or file read jumps.",
            for_="10m",
            thresholds=("memory_bytes",),
        ),
        Alert(
            "DjangoErrorStoreDroppingEvents",
            f"sum by (job, instance, component) ({internal}) > {ctx.value('error_store_drops', 'count')}",
            "warning",
            "{{ $labels.instance }}: the error store drops captured errors ({{ $labels.component }})",
            f"The local error tracker of {{{{ $labels.instance }}}} could not keep up ({{{{ $labels.component }}}}: "
            f"{{{{ $value | humanize }}}} times in {EVENT_WINDOW}): its database is unreachable or not migrated, or an error storm "
            "fills its queue. Requests are still served; some errors are missing from the admin.",
            thresholds=("error_store_drops",),
        ),
        Alert(
            "DjangoObserveInternalErrors",
            f"sum by (job, instance, component) ({other}) > {ctx.value('internal_errors', 'count')}",
            "warning",
            "django-observe failed in {{ $labels.component }} on {{ $labels.instance }}",
            f"django-observe swallowed {{{{ $value | humanize }}}} failures of its own ({{{{ $labels.component }}}}) in "
            f"{EVENT_WINDOW}. Requests were served, without part of their telemetry. Its log has one WARNING with the traceback.",
            thresholds=("internal_errors",),
        ),
    ]


def _drops() -> str:
    return '"' + "|".join(ERROR_STORE_DROP_COMPONENTS) + '"'
