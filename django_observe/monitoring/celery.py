"""Celery alerts and dashboard panels, on the ``celery_*`` metrics and the ``celery_workers`` health check.

- ``CeleryTaskFailureRatio``: one task's share of failed runs (SUCCESS + FAILURE, retries left
  out) is above ``--task-failure-ratio`` and it failed at least ``--task-min-failures`` times in
  the window, so one failure of a nightly task does not page anyone.
- ``CelerySlowTasks``: one task's p95 run time is above ``--task-p95``.
- ``CeleryNoWorkerAnswered``: every instance's ``celery_workers`` check has been failing for
  ``--workers-down-for`` (``health_check_status`` 0: no worker answered the ping, or no worker
  consumes a configured queue).

Workers write their series into the web's ``PROMETHEUS_MULTIPROC_DIR`` (same job as the web) or
serve ``CELERY_EXPORTER_PORT``: scrape those ports in the same job (docs/celery.md).
This module only builds text from metric names: it must not import celery or our Celery code.
"""

from __future__ import annotations

from .alerts import Alert
from .dashboard import Panel
from .options import Context, Threshold

THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("task_failure_ratio", 0.1, "Share of a Celery task's finished runs that fail which fires CeleryTaskFailureRatio.", "ratio"),
    Threshold("task_min_failures", 3, "Failures of one task within the window below which CeleryTaskFailureRatio stays silent.", "count"),
    Threshold("task_p95", 60.0, "p95 run time in seconds of one Celery task that fires CelerySlowTasks.", "seconds"),
    Threshold(
        "workers_down_for", "2m", "How long the celery_workers health check must fail before CeleryNoWorkerAnswered fires.", "duration"
    ),
)


def alerts(ctx: Context) -> list[Alert]:
    m, sel, w = ctx.m, ctx.sel, ctx.window
    failed = f'sum by (job, name) (rate({m.celery_tasks_total}{{{sel},status="FAILURE"}}[{w}]))'
    finished = f'sum by (job, name) (rate({m.celery_tasks_total}{{{sel},status=~"SUCCESS|FAILURE"}}[{w}]))'
    failures = f'sum by (job, name) (increase({m.celery_tasks_total}{{{sel},status="FAILURE"}}[{w}]))'
    p95 = f"histogram_quantile(0.95, sum by (job, name, le) (rate({m.celery_task_duration_seconds}_bucket{{{sel}}}[{w}])))"
    runs = f"sum by (job, name) (rate({m.celery_task_duration_seconds}_count{{{sel}}}[{w}]))"
    return [
        Alert(
            "CeleryTaskFailureRatio",
            f"{failed} / {finished} > {ctx.value('task_failure_ratio', 'ratio')} and {failures} >= "
            f"{ctx.value('task_min_failures', 'count')}",
            "warning",
            "{{ $labels.job }}: {{ $value | humanizePercentage }} of {{ $labels.name }} runs fail",
            f"Over the last {w}, {{{{ $value | humanizePercentage }}}} of the finished runs of the Celery task {{{{ $labels.name }}}} "
            f"raised (threshold {ctx.t['task_failure_ratio']:.0%}, at least {ctx.t['task_min_failures']} failures). The workers' "
            "`task_failed` log lines carry the traceback and the request id; the Errors page of the admin groups them.",
            for_="5m",
            thresholds=("task_failure_ratio", "task_min_failures"),
        ),
        Alert(
            "CelerySlowTasks",
            f"{p95} > {ctx.value('task_p95', 'seconds')} and {runs} > 0",
            "warning",
            "{{ $labels.job }}: p95 of {{ $labels.name }} is {{ $value | humanizeDuration }}",
            f"One run in 20 of the Celery task {{{{ $labels.name }}}} took longer than {{{{ $value | humanizeDuration }}}} over the "
            f"last {w} (threshold {ctx.t['task_p95']:g} s). Its `task_succeeded` lines have `duration_ms`; a queue behind it waits.",
            for_="10m",
            thresholds=("task_p95",),
        ),
        Alert(
            "CeleryNoWorkerAnswered",
            f'max by (job) ({m.health_check_status}{{{sel},check="celery_workers"}}) == 0',
            "critical",
            "{{ $labels.job }}: no Celery worker answers",
            "The celery_workers health check of every instance of {{ $labels.job }} fails: no worker answered the ping, or "
            "no worker consumes one of the configured queues. Tasks are piling up in the broker. `manage.py observe_check` "
            "names the reason; `celery inspect ping` asks the workers directly.",
            for_=ctx.t["workers_down_for"],
            thresholds=("workers_down_for",),
        ),
    ]


def panels(ctx: Context) -> list[Panel]:
    m = ctx.m
    sel = 'job="$job",instance=~"$instance"'
    ri = "$__rate_interval"
    row = "Celery"
    return [
        Panel(
            "Celery tasks per second by status",
            ((f"sum by (status) (rate({m.celery_tasks_total}{{{sel}}}[{ri}]))", "{{status}}"),),
            "ops",
            row,
            "Finished task runs: SUCCESS, FAILURE, RETRY (a run that asked for a retry), REVOKED, REJECTED.",
            requires="celery",
        ),
        Panel(
            "Celery task p95 run time",
            ((f"histogram_quantile(0.95, sum by (name, le) (rate({m.celery_task_duration_seconds}_bucket{{{sel}}}[{ri}])))", "{{name}}"),),
            "s",
            row,
            "95th percentile of the run time in the worker, per task (buckets: CELERY_TASK_DURATION_BUCKETS).",
            requires="celery",
        ),
        Panel(
            "Celery tasks in progress",
            ((f"sum by (name) ({m.celery_tasks_in_progress}{{{sel}}})", "{{name}}"),),
            "short",
            row,
            "Tasks running in the workers right now, per task.",
            requires="celery",
        ),
    ]
