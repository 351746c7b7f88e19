"""Celery: the request id travels with a task, and the worker's log lines carry it.

Publishing inside a request puts ONLY the request id in one message header (no user,
no client IP). The worker validates it like an incoming HTTP header and binds it with
``task_id`` and ``task_name`` for the task's run; the context is cleared afterwards.
Connected from ``ObserveConfig.ready()`` when Celery is installed; this is the only
module that imports celery.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import signals

from . import context
from .conf import get_settings

logger = logging.getLogger(__name__)

HEADER = "observe_request_id"


def _add_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    request_id = context.get_request_id()
    if request_id is not None and headers is not None:
        headers[HEADER] = request_id


def _bind_task(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    incoming = getattr(getattr(task, "request", None), HEADER, None)
    if incoming is None and task is not None:
        headers = getattr(task.request, "headers", None) or {}
        incoming = headers.get(HEADER)
    # The header crossed a broker: treat it like any untrusted input.
    request_id = incoming if isinstance(incoming, str) and context.valid_request_id(incoming) else None
    context.bind_task(task_id, getattr(task, "name", None), request_id)


def _clear_task(**kwargs: Any) -> None:
    context.clear()


def _keep_our_logging(**kwargs: Any) -> None:
    """Connected to setup_logging: Celery then leaves the logging Django configured (ours) alone."""


def connect() -> None:
    """Connect the signal handlers (idempotent: Celery's signals deduplicate by dispatch_uid)."""
    signals.before_task_publish.connect(_add_request_id, dispatch_uid="django_observe.request_id", weak=False)
    signals.task_prerun.connect(_bind_task, dispatch_uid="django_observe.bind_task", weak=False)
    signals.task_postrun.connect(_clear_task, dispatch_uid="django_observe.clear_task", weak=False)
    if get_settings().CONFIGURE_LOGGING:
        signals.setup_logging.connect(_keep_our_logging, dispatch_uid="django_observe.logging", weak=False)
