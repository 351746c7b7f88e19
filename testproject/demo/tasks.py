"""Demo Celery tasks."""

from __future__ import annotations

import logging
import os

from celery import shared_task

from django_observe import context

logger = logging.getLogger(__name__)


@shared_task(name="demo.record_context")
def record_context(label: str) -> dict[str, str | None]:
    """Logs one line and returns the context the worker bound for it."""
    logger.info("task ran %s", label, extra={"pid": os.getpid()})
    return {"request_id": context.get_request_id(), "task_id": context.task_id_var.get(), "task_name": context.task_name_var.get()}


@shared_task(name="demo.work")
def work(label: str, fail: bool = False) -> str:
    """Succeeds at once, or raises when asked (the message has a secret-looking pair the log line must scrub)."""
    if fail:
        raise ValueError(f"demo task failure {label} password=hunter2")
    return label


@shared_task(name="demo.publish_child")
def publish_child(label: str) -> str:
    """Publishes demo.record_context from inside a task: the child keeps the request id and records its parent."""
    return record_context.delay(f"{label}-child").id


@shared_task(name="demo.retry_once", bind=True, max_retries=1)
def retry_once(self, label: str) -> str:  # type: ignore[no-untyped-def]
    """Asks for one retry (a reason with a secret-looking pair), then succeeds."""
    if self.request.retries == 0:
        raise self.retry(exc=RuntimeError(f"{label} not ready yet, token=abc123"), countdown=0)
    return label
