"""Celery signal handlers: request id across the broker, task context, task metrics and task log lines.

Publishing puts ONLY the current request id in one message header (no user, no client
IP); a task published by a task carries its parent's request id, and Celery records the
parent task id itself (``parent_id``), which our lines show as ``parent_task_id``. The
worker validates the header like an incoming HTTP header: a malformed or oversized value
(a forged message) is replaced by a fresh id and never logged. The context is bound for
the task's run and cleared afterwards, so nothing leaks into the next task of the process.

Every handler runs under a guard: a failure of ours is counted and logged once, and the
task goes on. Eager tasks (``task_always_eager``, ``task.apply()``) run inside the caller's
context, which they keep: binding and clearing would wipe the request they run in.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any

from celery import current_app, signals

from .. import context
from ..guard import Guard
from ..logging import flush_lines
from ..metrics.definitions import TASK_STATUSES, UNREGISTERED_TASK
from . import exporter, logs, metrics

HEADER = "observe_request_id"

_PUBLISH = Guard("celery_publish", "Could not add the request id or count a published Celery task; the task was sent")
_TASK = Guard("celery_task", "Could not record a Celery task's metrics, context or log line; the task ran")
_WORKER = Guard("celery_worker", "Could not set up django-observe in a Celery worker process; the worker runs without it")


@dataclasses.dataclass(slots=True)
class _Run:
    """What prerun learned about a task running in this process, for its postrun."""

    name: str  # the metric label (bounded)
    started: float
    eager: bool
    retries: int
    parent_task_id: str | None
    eager_tokens: tuple[Any, Any] | None = None
    traceback_text: str | None = None
    reason: str | None = None


# task id -> its run; a few entries at most (one per running task, more with eager nesting).
_running: dict[str, _Run] = {}


# --- publishing -------------------------------------------------------------------------


def _add_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    with _PUBLISH:
        request_id = context.get_request_id()
        if request_id is not None and headers is not None:
            headers[HEADER] = request_id


def _count_published(sender: Any = None, **kwargs: Any) -> None:
    with _PUBLISH:
        if metrics.enabled():
            metrics.task_published(_labels.get(sender) or _label(sender, current_app.tasks))


# --- a task's run, in the process that runs it ------------------------------------------------


def incoming_request_id(request: Any) -> tuple[str | None, bool]:
    """(request id to bind, whether the message's value was replaced) from a task's request.

    No header: None. A header that is not a valid id (CR/LF, 500 characters, not a string):
    a fresh id, so the task's lines still belong together without repeating the forged text.
    """
    incoming = getattr(request, HEADER, None)
    if incoming is None:
        incoming = (getattr(request, "headers", None) or {}).get(HEADER)
    if incoming is None:
        return None, False
    if isinstance(incoming, str) and context.valid_request_id(incoming):
        return incoming, False
    return context.new_request_id(), True


def _task_started(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    with _TASK:
        request = task.request  # Celery's Context: these attributes always exist (class defaults)
        name = task.name
        tokens = None
        if request.is_eager:
            # Runs inside the caller (a request, another task): keep its request id, name the task for a while.
            tokens = (context.task_id_var.set(task_id), context.task_name_var.set(name))
        else:
            request_id, replaced = incoming_request_id(request)
            context.bind_task(task_id, name, request_id)
            if replaced:
                logs.logger.warning({"event": "task_request_id_rejected", "task_id": task_id, "task_name": name})
        label = _labels.get(name) or _label(name, task)
        run = _Run(label, time.perf_counter(), request.is_eager, request.retries or 0, request.parent_id, tokens)
        if task_id is not None:
            _running[task_id] = run
        if metrics.enabled():
            metrics.task_started(label)
        logs.started(task_id or "", name, run.retries, run.parent_task_id)


# task name -> its metric label, for names found registered (a registered name stays registered):
# looking it up in ``task.app.tasks`` goes through Celery's app proxy, a few µs per task.
_labels: dict[str, str] = {}


def _label(name: Any, registry: Any) -> str:
    """The metric label of task ``name`` (``registry``: a task, or the publishing app's task registry)."""
    label = _labels.get(name)
    if label is None:
        label = metrics.bounded_name(name, registry.app.tasks if hasattr(registry, "app") else registry)
        if label == name:
            _labels[name] = label
    return label


def _task_failed(
    sender: Any = None, task_id: str | None = None, exception: BaseException | None = None, einfo: Any = None, **kwargs: Any
) -> None:
    with _TASK:
        run = _running.get(task_id or "")
        text = getattr(einfo, "traceback", None) or (f"{type(exception).__name__}: {exception}" if exception is not None else None)
        if run is not None:
            run.traceback_text = text  # postrun writes the line and counts the failure
            return
        from celery.exceptions import Reject

        if isinstance(exception, Reject):
            return  # counted as REJECTED where the task ran
        # The task's process could not report it: a hard time limit or a lost child, seen by the main process.
        name = getattr(sender, "name", None)
        if metrics.enabled():
            metrics.task_finished(metrics.bounded_name(name, _registered(sender)), "FAILURE", None, started_here=False)
        logs.finished(task_id or "", name or "", "FAILURE", None, 0, traceback_text=text, request_id=_request_id_of(kwargs))


def _task_retried(sender: Any = None, request: Any = None, reason: Any = None, **kwargs: Any) -> None:
    with _TASK:
        run = _running.get(getattr(request, "id", None) or "")
        if run is not None and reason is not None:
            run.reason = str(reason)
        if metrics.enabled():
            metrics.task_retried(run.name if run is not None else metrics.bounded_name(getattr(sender, "name", None), _registered(sender)))


def _task_finished(task_id: str | None = None, task: Any = None, state: str | None = None, **kwargs: Any) -> None:
    run = None
    try:
        with _TASK:
            run = _running.pop(task_id or "", None)
            if run is None:
                return
            duration = time.perf_counter() - run.started
            if metrics.enabled():
                metrics.task_finished(run.name, state if state in TASK_STATUSES else None, duration)
            logs.finished(
                task_id or "",
                task.name,
                state or "UNKNOWN",
                duration,
                run.retries,
                run.parent_task_id,
                reason=run.reason,
                traceback_text=run.traceback_text if state == "FAILURE" else None,
            )
    finally:
        with _TASK:
            # Eager tasks give the caller its context back (the request they ran in); worker tasks leave nothing behind.
            if run is None:
                if not getattr(getattr(task, "request", None), "is_eager", False):
                    context.clear()
            elif run.eager_tokens is not None:
                context.task_id_var.reset(run.eager_tokens[0])
                context.task_name_var.reset(run.eager_tokens[1])
            else:
                context.clear()


# --- outcomes the worker's main process sees ------------------------------------------------


def _task_revoked(sender: Any = None, request: Any = None, terminated: bool = False, expired: bool = False, **kwargs: Any) -> None:
    with _TASK:
        name = getattr(sender, "name", None)
        if metrics.enabled():
            metrics.task_finished(metrics.bounded_name(name, _registered(sender)), "REVOKED", None, started_here=False)
        logs.finished(
            getattr(request, "id", None) or "",
            name or "",
            "REVOKED",
            None,
            getattr(request, "retries", 0) or 0,
            request_id=incoming_request_id(request)[0] if request is not None else None,
            terminated=bool(terminated),
            expired=bool(expired),
        )


def _message_rejected(message: Any = None, name: str | None = None, id: str | None = None, **kwargs: Any) -> None:
    """task_rejected (a message that is not a task) and task_unknown (a task this worker does not know)."""
    with _TASK:
        headers = getattr(message, "headers", None) or {}
        task_name = name or headers.get("task")
        if metrics.enabled():
            metrics.task_finished(metrics.bounded_name(task_name, current_app.tasks), "REJECTED", None, started_here=False)
        shown = task_name if isinstance(task_name, str) and task_name in current_app.tasks else UNREGISTERED_TASK
        logs.finished(str(id or headers.get("id") or "")[:64], shown, "REJECTED", None, 0)


def _registered(task: Any) -> Any:
    app = getattr(task, "app", None)
    return app.tasks if app is not None else current_app.tasks


def _request_id_of(kwargs: dict[str, Any]) -> str | None:
    request = kwargs.get("request")
    return incoming_request_id(request)[0] if request is not None else None


# --- worker processes -----------------------------------------------------------------------


def _keep_our_logging(**kwargs: Any) -> None:
    """Connected to setup_logging: Celery then leaves the logging Django configured (ours) alone."""
    with _WORKER:
        logs.quiet_celery_task_lines()


def _worker_init(sender: Any = None, **kwargs: Any) -> None:
    """In the worker's main process, before the pool starts: remember whether tasks run in forked children."""
    pool_cls = getattr(sender, "pool_cls", None)
    _worker_state["prefork"] = "prefork" in str(getattr(pool_cls, "__module__", pool_cls) or "")


def _worker_ready(**kwargs: Any) -> None:
    with _WORKER:
        exporter.start(prefork=bool(_worker_state.get("prefork")))


def _child_started(**kwargs: Any) -> None:
    """A prefork child: drop live files a dead process left under this pid, and our copy of the exporter socket."""
    with _WORKER:
        _running.clear()
        context.clear()
        metrics.forget_process(os.getpid())
        for endpoint in exporter.running():
            endpoint.close_inherited_socket()


def _child_exiting(**kwargs: Any) -> None:
    """A prefork child leaves: its tasks-in-progress gauge must stop counting (counters stay), and its
    waiting log lines are written (it ends with os._exit: no atexit)."""
    with _WORKER:
        flush_lines()
        metrics.forget_process(os.getpid())


def _worker_shutdown(**kwargs: Any) -> None:
    with _WORKER:
        exporter.stop_all()


_worker_state: dict[str, Any] = {}


def connect(configure_logging: bool = True) -> None:
    """Connect every handler (idempotent: Celery's signals deduplicate by dispatch_uid)."""
    uid = "django_observe."
    signals.before_task_publish.connect(_add_request_id, dispatch_uid=uid + "request_id", weak=False)
    signals.after_task_publish.connect(_count_published, dispatch_uid=uid + "published", weak=False)
    signals.task_prerun.connect(_task_started, dispatch_uid=uid + "bind_task", weak=False)
    signals.task_failure.connect(_task_failed, dispatch_uid=uid + "task_failure", weak=False)
    signals.task_retry.connect(_task_retried, dispatch_uid=uid + "task_retry", weak=False)
    signals.task_postrun.connect(_task_finished, dispatch_uid=uid + "clear_task", weak=False)
    signals.task_revoked.connect(_task_revoked, dispatch_uid=uid + "task_revoked", weak=False)
    signals.task_rejected.connect(_message_rejected, dispatch_uid=uid + "task_rejected", weak=False)
    signals.task_unknown.connect(_message_rejected, dispatch_uid=uid + "task_unknown", weak=False)
    signals.worker_init.connect(_worker_init, dispatch_uid=uid + "worker_init", weak=False)
    signals.worker_ready.connect(_worker_ready, dispatch_uid=uid + "worker_ready", weak=False)
    signals.worker_process_init.connect(_child_started, dispatch_uid=uid + "child_started", weak=False)
    signals.worker_process_shutdown.connect(_child_exiting, dispatch_uid=uid + "child_exiting", weak=False)
    signals.worker_shutdown.connect(_worker_shutdown, dispatch_uid=uid + "worker_shutdown", weak=False)
    if configure_logging:
        signals.setup_logging.connect(_keep_our_logging, dispatch_uid=uid + "logging", weak=False)
