"""Demo Celery tasks."""

from __future__ import annotations

import logging

from celery import shared_task

from django_observe import context

logger = logging.getLogger(__name__)


@shared_task(name="demo.record_context")
def record_context(label: str) -> dict[str, str | None]:
    """Logs one line and returns the context the worker bound for it."""
    logger.info("task ran %s", label)
    return {"request_id": context.get_request_id(), "task_id": context.task_id_var.get(), "task_name": context.task_name_var.get()}
