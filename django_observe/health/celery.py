"""Celery health checks and the beat task that records health history.

The only module of the health package that imports celery and kombu. The checks
use a Celery app configured from the Django settings (``CELERY_*``, the layout
``app.config_from_object("django.conf:settings", namespace="CELERY")`` gives),
so they work in the web process even when the project's own app is not imported.

Beat: schedule the task ``django_observe.record_health`` (for example every 60 s)
``ObserveConfig.ready()`` imports this module when Celery is installed, so the worker
knows the task; see docs/health.md.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from typing import Any

import celery
import kombu
import kombu.exceptions
from django.core.signals import setting_changed
from django.dispatch import receiver
from health_check.base import HealthCheck
from health_check.contrib.celery import Ping
from health_check.exceptions import ServiceUnavailable

from .checks import BEAT_TASK_NAME, unavailable

logger = logging.getLogger(__name__)


@functools.cache
def health_app() -> celery.Celery:
    """A Celery app with the project's CELERY_* settings, used only to talk to the broker."""
    app = celery.Celery("django_observe_health", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    return app


@receiver(setting_changed)
def _celery_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("CELERY_"):
        health_app.cache_clear()


@dataclasses.dataclass
class CeleryBroker(HealthCheck):
    """Open (and close) a connection to the Celery broker, with a connect timeout and no retries."""

    url: str = dataclasses.field(default="", repr=False)

    def run(self) -> None:
        seconds = self.timeout.total_seconds()
        connection = kombu.Connection(self.url or health_app().conf.broker_url, connect_timeout=seconds)
        try:
            # max_retries=0: kombu's default retries sleep 2 s between attempts.
            connection.ensure_connection(max_retries=0, timeout=seconds)
        except Exception as exc:
            raise ServiceUnavailable(f"Celery broker is unreachable ({type(exc).__name__})") from exc
        finally:
            connection.release()


@dataclasses.dataclass
class CeleryWorkers(Ping):
    """Ping the Celery workers and make sure every configured queue has a consumer.

    The ping waits 40 % of the check's timeout for replies and the queue inspection
    another 40 % at most, so the check answers inside its own deadline.
    """

    app: celery.Celery = dataclasses.field(default_factory=health_app, repr=False)

    def run(self) -> int:
        wait = self.timeout.total_seconds() * 0.4
        try:
            replies = self.app.control.ping(timeout=wait, limit=self.limit)
            if not replies:
                raise unavailable("No Celery worker answered the ping", 0)
            workers = list(self.active_workers(replies))
            answered = self.app.control.inspect(workers, timeout=wait).active_queues() or {}
        except (OSError, kombu.exceptions.KombuError) as exc:
            raise ServiceUnavailable(f"Cannot reach the Celery broker ({type(exc).__name__})") from exc
        try:
            defined = {queue.name for queue in self.app.conf.task_queues}
        except TypeError:
            defined = {self.app.conf.task_default_queue}
        consumed = {queue.get("name") for queues in answered.values() for queue in queues}
        missing = sorted(defined - consumed)
        if missing:
            raise unavailable(f"No worker consumes the Celery queue {missing[0]!r}", len(workers))
        return len(workers)


@celery.shared_task(name=BEAT_TASK_NAME, ignore_result=True)
def record_health() -> str:
    """Run every check now and record the run (trigger ``beat``); returns the overall status."""
    from .history import record
    from .runner import run_all_fresh

    results, started_at, duration = run_all_fresh()
    run = record(results, trigger="beat", started_at=started_at, duration=duration)
    return run.status
