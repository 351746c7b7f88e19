"""Task log lines: one ``task_started`` line and one finish line per task, on the ``django_observe.celery`` logger.

The finish line is named like django-structlog's (``task_succeeded``, ``task_failed``,
``task_retrying``, ``task_revoked``, ``task_rejected``) and carries ``task_id``,
``task_name``, ``state``, ``duration_ms``, ``retries``, the ``request_id`` the task was
published under and the ``parent_task_id`` of a task published by another task. A retry
logs at WARNING with its reason, a failure at ERROR with the traceback. Secret-looking
keys are filtered by the formatter as on every line; the reason and the traceback text go
through the string scrubber of ``redact`` (``password=...`` in a message).

``CELERY_TASK_LOG`` turns the rate down: ``finish`` drops the start line, ``failures``
keeps only retries, failures, revocations and rejections.
"""

from __future__ import annotations

import logging
from typing import Any

from ..conf import get_settings
from ..logging.output import sole_observe_handler
from ..redact import configured_words

logger = logging.getLogger("django_observe.celery")

#: Finish line per final state, and its level.
FINISH_EVENTS: dict[str, tuple[str, int]] = {
    "SUCCESS": ("task_succeeded", logging.INFO),
    "FAILURE": ("task_failed", logging.ERROR),
    "RETRY": ("task_retrying", logging.WARNING),
    "REVOKED": ("task_revoked", logging.WARNING),
    "REJECTED": ("task_rejected", logging.WARNING),
    "IGNORED": ("task_ignored", logging.INFO),
}
_QUIET = frozenset({"SUCCESS", "IGNORED"})

# Celery writes its own INFO line when a task is received and when it ends; ours replace them.
CELERY_TASK_LOGGERS = ("celery.app.trace", "celery.worker.strategy")


def level() -> str:
    """The CELERY_TASK_LOG setting: all, finish, failures or off."""
    return get_settings().CELERY_TASK_LOG


def started(task_id: str, task_name: str, retries: int, parent_task_id: str | None) -> None:
    """Write the ``task_started`` line (only with ``CELERY_TASK_LOG = 'all'``)."""
    if level() != "all" or not logger.isEnabledFor(logging.INFO):
        return
    fields: dict[str, Any] = {"event": "task_started", "task_id": task_id, "task_name": task_name, "state": "STARTED", "retries": retries}
    if parent_task_id:
        fields["parent_task_id"] = parent_task_id
    _write(logging.INFO, fields)


def finished(
    task_id: str,
    task_name: str,
    state: str,
    duration: float | None,
    retries: int,
    parent_task_id: str | None = None,
    request_id: str | None = None,
    reason: str | None = None,
    traceback_text: str | None = None,
    **extra: Any,
) -> None:
    """Write the finish line of a task that ended in ``state`` (see ``FINISH_EVENTS``)."""
    chosen = level()
    if chosen == "off" or (chosen == "failures" and state in _QUIET):
        return
    event, line_level = FINISH_EVENTS.get(state, ("task_finished", logging.INFO))
    if not logger.isEnabledFor(line_level):
        return
    fields: dict[str, Any] = {"event": event, "task_id": task_id, "task_name": task_name, "state": state, "retries": retries}
    if duration is not None:
        fields["duration_ms"] = round(duration * 1000, 2)
    if parent_task_id:
        fields["parent_task_id"] = parent_task_id
    if request_id:
        # Lines written outside the task's run (the worker's main process) have no bound context.
        fields["request_id"] = request_id
    if reason or traceback_text:
        words = configured_words()
        if reason:
            fields["reason"] = words.scrub_string(reason)
        if traceback_text:
            fields["exception"] = words.scrub_string(traceback_text)
    fields.update(extra)
    _write(line_level, fields)


def _write(line_level: int, fields: dict[str, Any]) -> None:
    """One line: straight to our handler when nothing else would see it (as the access line), else through logging."""
    handler = None if (logger.handlers or logger.filters or not logger.propagate) else sole_observe_handler(line_level)
    if handler is None:
        logger.log(line_level, fields)
        return
    try:
        handler.write_fields(logger.name, line_level, fields, None)
    except Exception:
        handler.handleError(logger.makeRecord(logger.name, line_level, "", 0, fields, (), None))


def quiet_celery_task_lines() -> None:
    """Raise Celery's per-task INFO loggers to WARNING, unless the host set their level.

    Celery's worker logs at WARNING by default; once our logging (LOG_LEVEL INFO) takes over,
    its "received" and "succeeded" lines would appear for every task next to ours (and with
    ``CELERY_TASK_LOG = 'off'`` instead of none). Their failure lines (ERROR, with the
    traceback the error tracker captures) still appear.
    """
    for name in CELERY_TASK_LOGGERS:
        celery_logger = logging.getLogger(name)
        if celery_logger.level == logging.NOTSET:
            celery_logger.setLevel(logging.WARNING)
