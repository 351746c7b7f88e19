"""The ``celery_*`` metrics (defined in ``metrics/definitions.py``), updated by the signal handlers.

Label children are looked up once per (task name, status) and kept, as the middleware does
for HTTP: ``labels()`` validates and locks on every call. The ``name`` label is bounded: a
task name registered in the Celery app, else ``<unregistered>``, so a ``send_task()`` typo
or a forged message adds no series.

Prefork children: with ``PROMETHEUS_MULTIPROC_DIR`` set, prometheus_client writes one file
per process and sums them at scrape time. Counters and histograms of a child that exited
stay in its files (a total never goes down); only its ``live*`` gauge files (tasks in
progress) are removed, when it exits and again when a new child starts under a recycled pid.
"""

from __future__ import annotations

import os
from collections.abc import Container
from typing import Any

from ..conf import get_settings
from ..metrics import core, multiprocess_dir
from ..metrics.definitions import UNREGISTERED_TASK


def enabled() -> bool:
    """True when task metrics are recorded (``METRICS_ENABLED`` and ``CELERY_METRICS``)."""
    conf = get_settings()
    return conf.METRICS_ENABLED and conf.CELERY_METRICS


def bounded_name(name: Any, registered: Container[str]) -> str:
    """The ``name`` label of a task: its name when registered in the app, else ``<unregistered>``."""
    return name if isinstance(name, str) and name in registered else UNREGISTERED_TASK


class _Children:
    """Label children of one set of metric objects (rebuilt when the settings rebuild the metrics)."""

    def __init__(self, metrics: core.Metrics) -> None:
        self.metrics = metrics
        by_name = metrics.by_name
        self.tasks: Any = by_name["celery_tasks_total"]
        self.duration: Any = by_name["celery_task_duration_seconds"]
        self.in_progress: Any = by_name["celery_tasks_in_progress"]
        self.retries: Any = by_name["celery_task_retries_total"]
        self.published: Any = by_name["celery_tasks_published_total"]
        self.by_status: dict[tuple[str, str], Any] = {}
        self.by_name: dict[str, tuple[Any, Any]] = {}  # name -> (in progress child, duration child)
        self.retries_by_name: dict[str, Any] = {}
        self.published_by_name: dict[str, Any] = {}

    def running(self, name: str) -> tuple[Any, Any]:
        children = self.by_name.get(name)
        if children is None:
            children = self.by_name[name] = (self.in_progress.labels(name), self.duration.labels(name))
        return children

    def ended(self, name: str, status: str) -> Any:
        child = self.by_status.get((name, status))
        if child is None:
            child = self.by_status[(name, status)] = self.tasks.labels(name, status)
        return child


_current: list[_Children | None] = [None]


def _children() -> _Children:
    metrics = core.get_metrics()
    children = _current[0]
    if children is None or children.metrics is not metrics:
        children = _current[0] = _Children(metrics)
    return children


def task_started(name: str) -> None:
    """A task began running in this process."""
    children = _children()
    core.add(children.metrics, children.running(name)[0], 1.0)


def task_finished(name: str, status: str | None, duration: float | None, started_here: bool = True) -> None:
    """A task ended: count it under ``status`` (None: not counted, e.g. IGNORED) and observe its run time.

    In multiprocess mode the writes go straight to this process's files, as the request metrics do.
    """
    children = _children()
    metrics = children.metrics
    counted = False
    if started_here:
        in_progress, histogram = children.running(name)
        core.add(metrics, in_progress, -1.0)
        if duration is not None:
            if status is not None:
                core.count_and_observe(metrics, (children.ended(name, status), histogram), duration)
                counted = True
            else:
                histogram.observe(duration)
    if status is not None and not counted:
        core.add(metrics, children.ended(name, status), 1.0)


def task_retried(name: str) -> None:
    """A task asked to be retried."""
    children = _children()
    child = children.retries_by_name.get(name)
    if child is None:
        child = children.retries_by_name[name] = children.retries.labels(name)
    child.inc()


def task_published(name: str) -> None:
    """This process sent a task to the broker."""
    children = _children()
    child = children.published_by_name.get(name)
    if child is None:
        child = children.published_by_name[name] = children.published.labels(name)
    child.inc()


def forget_process(pid: int | None = None) -> None:
    """Remove the ``live*`` gauge files of ``pid`` (default: this process) from PROMETHEUS_MULTIPROC_DIR.

    Called when a prefork child exits, and when a child starts: a pid that the kernel handed
    out again would otherwise start from the dead process's "tasks in progress". Counter and
    histogram files are never touched, so no count is ever lost.
    """
    path = multiprocess_dir()
    if not path:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(os.getpid() if pid is None else pid, path)
