"""Celery: the request id travels with a task, and workers write task metrics and task log lines.

Connected from ``ObserveConfig.ready()`` when Celery is installed (importing this package
raises ImportError otherwise, which ``ready()`` expects); nothing goes into the host's
tasks. The parts:

- ``signals``: request-id propagation, the task's context, and the handlers below;
- ``metrics``: ``celery_tasks_total``, ``celery_task_duration_seconds``,
  ``celery_tasks_in_progress``, ``celery_task_retries_total``, ``celery_tasks_published_total``;
- ``logs``: one ``task_started`` and one finish line per task (``CELERY_TASK_LOG``);
- ``exporter``: the worker's own ``/metrics`` port (``CELERY_EXPORTER_PORT``).

This package, ``health/celery.py`` and ``health/beat.py`` are the only modules that import celery. Guide: docs/celery.md.
"""

from __future__ import annotations

import celery  # noqa: F401  (ImportError here tells ready() that Celery is not installed)

from ..conf import get_settings
from .signals import HEADER, incoming_request_id

__all__ = ["HEADER", "connect", "incoming_request_id"]


def connect() -> None:
    """Connect the signal handlers (idempotent: Celery's signals deduplicate by dispatch_uid)."""
    from . import signals

    signals.connect(configure_logging=get_settings().CONFIGURE_LOGGING)
