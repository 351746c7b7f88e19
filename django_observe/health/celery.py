"""Celery health checks: the broker answers, workers answer a ping.

With ``health.beat``, the only module of the health package that imports celery (and kombu). The checks
use a Celery app configured from the Django settings (``CELERY_*``, the layout
``app.config_from_object("django.conf:settings", namespace="CELERY")`` gives),
so they work in the web process even when the project's own app is not imported.

The beat task that records health history is in ``health.beat``.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import time

import celery
import kombu
import kombu.exceptions
from health_check.base import HealthCheck
from health_check.contrib.celery import Ping
from health_check.exceptions import ServiceUnavailable

from ..conf import get_settings, on_change
from .checks import unavailable

logger = logging.getLogger(__name__)


@functools.cache
def health_app() -> celery.Celery:
    """A Celery app with the project's CELERY_* settings, used only to talk to the broker."""
    app = celery.Celery("django_observe_health", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    return app


on_change("CELERY_*")(health_app.cache_clear)


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


@dataclasses.dataclass(frozen=True)
class WorkerSnapshot:
    """The workers a broadcast ping found and the queues each consumes, at ``taken_at`` (monotonic)."""

    taken_at: float
    queues: dict[str, frozenset[str]]

    @property
    def workers(self) -> list[str]:
        return sorted(self.queues)


class WorkerDirectory:
    """Which workers exist, learned by a broadcast in a background thread; one per process and Celery app.

    A broadcast ping waits its whole timeout, since nobody knows how many workers will answer:
    that wait made every uncached ``/health`` cost about a second. The check instead pings the
    workers this directory knows by name, which returns as soon as all of them answered, and
    the directory rediscovers the set (new workers, their queues) in the background every
    ``CELERY_WORKERS_REFRESH_SECONDS``, one refresh in flight at a time.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # id(app) -> (app, snapshot): the app is kept so its id cannot be reused by a later app.
        self._snapshots: dict[int, tuple[celery.Celery, WorkerSnapshot]] = {}
        self._refreshing: set[int] = set()

    def get(self, app: celery.Celery) -> WorkerSnapshot | None:
        entry = self._snapshots.get(id(app))
        return entry[1] if entry is not None and entry[0] is app else None

    def store(self, app: celery.Celery, snapshot: WorkerSnapshot) -> None:
        with self._lock:
            self._snapshots = {id(app): (app, snapshot)}  # one app at a time: a settings change makes a new one

    def discover(self, app: celery.Celery, timeout: float, limit: int | None = None) -> WorkerSnapshot:
        """Broadcast a ping (until ``limit`` replies, else ``timeout``), then ask the repliers for their queues."""
        replies = app.control.ping(timeout=timeout, limit=limit)
        workers = sorted(name for reply in replies for name, answer in reply.items() if answer == {"ok": "pong"})
        snapshot = WorkerSnapshot(time.monotonic(), consumed_queues(app, workers, timeout))
        if limit is None:
            self.store(app, snapshot)
        return snapshot

    def refresh_in_background(self, app: celery.Celery, timeout: float) -> None:
        """Start one background discovery for ``app`` unless one is running."""
        key = id(app)
        with self._lock:
            if key in self._refreshing:
                return
            self._refreshing.add(key)

        def refresh() -> None:
            try:
                self.discover(app, timeout)
            except Exception:  # the next check tries again; the check itself reports the broker
                logger.debug("Background discovery of the Celery workers failed.", exc_info=True)
            finally:
                with self._lock:
                    self._refreshing.discard(key)

        threading.Thread(target=refresh, name="observe-celery-workers", daemon=True).start()

    def forget(self) -> None:
        with self._lock:
            self._snapshots = {}


directory = WorkerDirectory()
on_change("CELERY_*", "OBSERVE")(directory.forget)


def consumed_queues(app: celery.Celery, workers: list[str], timeout: float) -> dict[str, frozenset[str]]:
    """worker -> names of the queues it consumes (an inspect addressed to these workers: no full-timeout wait)."""
    if not workers:
        return {}
    answered = app.control.inspect(workers, timeout=timeout).active_queues() or {}
    return {worker: frozenset(queue.get("name") for queue in answered.get(worker) or ()) for worker in workers}


@dataclasses.dataclass
class CeleryWorkers(Ping):
    """Ping the Celery workers and make sure every configured queue has a consumer.

    The workers known from the last discovery are pinged by name, which answers as soon as
    they all replied (milliseconds when they are up); the ping waits at most
    ``CELERY_PING_TIMEOUT`` (and 40 % of the check's timeout), so dead workers turn the
    check to fail within its deadline. Discovery runs in the background (``WorkerDirectory``);
    the very first run of a process stops at the first reply.
    """

    app: celery.Celery = dataclasses.field(default_factory=health_app, repr=False)

    def run(self) -> int:
        conf = get_settings()
        wait = min(conf.CELERY_PING_TIMEOUT, self.timeout.total_seconds() * 0.4)
        try:
            snapshot = directory.get(self.app)
            if snapshot is None or not snapshot.queues:
                # Nothing known yet: the first worker to answer is enough to pass; the rest are learned in the background.
                snapshot = directory.discover(self.app, wait, limit=1)
                directory.refresh_in_background(self.app, wait)
                if not snapshot.queues:
                    raise unavailable("No Celery worker answered the ping", 0)
                answered = snapshot.workers
            else:
                replies = self.app.control.ping(destination=snapshot.workers, timeout=wait)
                answered = sorted(name for reply in replies for name in reply)
                if len(answered) < len(snapshot.queues) or time.monotonic() - snapshot.taken_at > conf.CELERY_WORKERS_REFRESH_SECONDS:
                    directory.refresh_in_background(self.app, wait)
                if not answered:
                    raise unavailable("No Celery worker answered the ping", 0)
            consumed = {queue for worker in answered for queue in snapshot.queues.get(worker, ())}
            missing = sorted(self.defined_queues() - consumed)
            if missing and snapshot.taken_at and directory.get(self.app) is not snapshot:
                # A partial view (first run) or an old one: look at every worker once before failing.
                snapshot = directory.discover(self.app, wait)
                answered = snapshot.workers
                missing = sorted(self.defined_queues() - {queue for queues in snapshot.queues.values() for queue in queues})
        except (OSError, kombu.exceptions.KombuError) as exc:
            raise ServiceUnavailable(f"Cannot reach the Celery broker ({type(exc).__name__})") from exc
        if missing:
            raise unavailable(f"No worker consumes the Celery queue {missing[0]!r}", len(answered))
        return len(answered)

    def defined_queues(self) -> set[str]:
        try:
            return {queue.name for queue in self.app.conf.task_queues}
        except TypeError:  # task_queues is None: the default queue only
            return {self.app.conf.task_default_queue}
