"""The built-in health checks.

Every check is a django-health-check 4.x ``HealthCheck`` subclass, so it also runs
in that library's views, and any of its checks runs in ours. Which of them apply to a
project, with which metadata (``name``, ``critical``, ``timeout``), is decided in
``registry``; refer to these classes by their path here in ``HEALTH_CHECKS``
(e.g. a second Redis: ``{"check": "django_observe.health.checks.Redis", "url": ...}``).

A check's ``run()`` may return an observed value (a percentage, a count) that the
detailed view and the history show; a warning or failure carries it as
``exc.observed``. Exception text is public: it never names hosts, paths or DSNs.
Client timeouts (socket and connect) are set on every dependency client to the
check's timeout, so a hung dependency frees its thread soon after the deadline.
"""

from __future__ import annotations

import dataclasses
import math
import os
import uuid
from typing import Any

import psutil
from django.conf import settings
from django.core.cache import caches
from django.db import Error as DatabaseError
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django.utils.connection import ConnectionDoesNotExist
from django.utils.module_loading import import_string
from health_check import checks as hc_checks
from health_check.base import HealthCheck
from health_check.exceptions import HealthCheckException, ServiceUnavailable, ServiceWarning

from .._compat import select_one
from ..models import HealthCheckRun

#: Name of the Celery task that records a run (the beat schedule entry points at it).
BEAT_TASK_NAME = "django_observe.record_health"


class DependencyTimeout(ServiceUnavailable):
    """The dependency's client gave up waiting (its socket timeout): reported as ``timeout``, not ``fail``."""

    message_type = "Timeout"


def warning(message: str, observed: Any = None) -> ServiceWarning:
    """A ServiceWarning carrying the observed value (``raise warning("disk 91 %", 91.0)``)."""
    exc = ServiceWarning(message)
    exc.observed = observed
    return exc


def unavailable(message: str, observed: Any = None) -> ServiceUnavailable:
    """A ServiceUnavailable carrying the observed value."""
    exc = ServiceUnavailable(message)
    exc.observed = observed
    return exc


def _seconds(check: HealthCheck) -> float:
    return check.timeout.total_seconds()


# --- built-in checks ---------------------------------------------------------------------


@dataclasses.dataclass
class Database(hc_checks.Database):
    """``SELECT 1`` on one database alias, after closing a stale connection (django-health-check#755)."""

    def run(self) -> None:
        try:
            connection = connections[self.alias]
        except ConnectionDoesNotExist as exc:
            raise ServiceUnavailable("Database alias does not exist") from exc
        _set_connect_timeout(connection, _seconds(self))
        probe_connection(connection)


def probe_connection(connection: Any) -> None:
    """``SELECT 1`` on ``connection``; a reused connection that fails is closed and tried once more.

    A connection the server dropped while the thread idled gave intermittent false
    failures (django-health-check#755): Django only notices on the next error.
    """
    if connection.in_atomic_block:
        # Inside the caller's transaction (a test, a view): never close what it still uses.
        _check_row(_select_one_or_fail(connection))
        return
    connection.close_if_unusable_or_obsolete()
    reused = connection.connection is not None
    try:
        row = _select_one(connection)
    except DatabaseError as exc:
        if not reused:
            # The driver's message names the host and port: show the class only.
            raise ServiceUnavailable(f"Database query failed ({type(exc).__name__})") from exc
        connection.close()
        try:
            row = _select_one(connection)
        except DatabaseError as retry_exc:
            raise ServiceUnavailable(f"Database query failed ({type(retry_exc).__name__})") from retry_exc
    finally:
        # What request_finished does: with CONN_MAX_AGE=0 the connection is closed now, so a
        # check run by django-health-check's executor threads leaves no connection behind.
        connection.close_if_unusable_or_obsolete()
    _check_row(row)


def _select_one_or_fail(connection: Any) -> Any:
    try:
        return _select_one(connection)
    except DatabaseError as exc:
        raise ServiceUnavailable(f"Database query failed ({type(exc).__name__})") from exc


def _check_row(row: Any) -> None:
    if row is None or row[0] != 1:
        raise ServiceUnavailable("SELECT 1 returned an unexpected result")


def _select_one(connection: Any) -> Any:
    expression = select_one()
    compiler = connection.ops.compiler("SQLCompiler")(expression, connection, None)
    with connection.cursor() as cursor:
        cursor.execute(*compiler.compile(expression))
        return cursor.fetchone()


def _set_connect_timeout(connection: Any, seconds: float) -> None:
    """Give this thread's connection a connect timeout without touching the shared settings dict."""
    if connection.vendor not in ("postgresql", "mysql") or connection.connection is not None:
        return
    shared = connections.settings[connection.alias]
    options = shared.get("OPTIONS", {})
    if "connect_timeout" in options:
        return
    # libpq rounds below 2 s up to 2 s; an int is what both drivers accept.
    connection.settings_dict = {**shared, "OPTIONS": {**options, "connect_timeout": max(2, math.ceil(seconds))}}


@dataclasses.dataclass
class Migrations(HealthCheck):
    """Unapplied migrations on one database: a warning, or a failure with ``fail=True``."""

    alias: str = "default"
    fail: bool = False

    def run(self) -> int:
        try:
            connection = connections[self.alias]
            _set_connect_timeout(connection, _seconds(self))
            if not connection.in_atomic_block:
                connection.close_if_unusable_or_obsolete()
            executor = MigrationExecutor(connection)
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except DatabaseError as exc:
            raise ServiceUnavailable(f"Cannot read the migration state ({type(exc).__name__})") from exc
        finally:
            if not connection.in_atomic_block:
                connection.close_if_unusable_or_obsolete()
        if plan:
            message = f"{len(plan)} unapplied migration{'s' if len(plan) != 1 else ''}"
            raise (unavailable if self.fail else warning)(message, len(plan))
        return 0


@dataclasses.dataclass
class Cache(hc_checks.Cache):
    """A set / get / delete round trip on one cache alias, through a client with our timeouts."""

    _instance: Any = dataclasses.field(default=None, repr=False, compare=False)

    def run(self) -> None:
        cache = self._cache()
        key = f"{self.key_prefix}:{uuid.uuid4().hex}"
        value = uuid.uuid4().hex
        try:
            cache.set(key, value, timeout=60)
            got = cache.get(key)
            cache.delete(key)
        except HealthCheckException:
            raise
        except Exception as exc:
            # Backends raise their own classes (redis.ConnectionError, pymemcache errors, OSError).
            raise ServiceUnavailable(f"Cache round trip failed ({type(exc).__name__})") from exc
        if got != value:
            raise ServiceUnavailable("Cache returned a different value than was stored")

    def _cache(self) -> Any:
        # One instance per check: the runner runs a check in one thread at a time.
        if self._instance is None:
            self._instance = cache_with_timeouts(self.alias, _seconds(self))
        return self._instance


def cache_with_timeouts(alias: str, seconds: float) -> Any:
    """A new cache backend instance for ``alias`` whose network client times out after ``seconds``."""
    try:
        params: dict[str, Any] = dict(settings.CACHES[alias])
    except KeyError as exc:
        raise ServiceUnavailable("Cache alias does not exist") from exc
    backend = params.pop("BACKEND")
    location = params.pop("LOCATION", "")
    options: dict[str, Any] = dict(params.get("OPTIONS") or {})
    if backend == "django.core.cache.backends.redis.RedisCache":
        # Passed to redis-py's ConnectionPool; redis-py's default has no socket timeout at all.
        options.update(socket_timeout=seconds, socket_connect_timeout=seconds)
    elif backend.startswith("django_redis."):
        options.update(SOCKET_TIMEOUT=seconds, SOCKET_CONNECT_TIMEOUT=seconds)
    elif backend == "django.core.cache.backends.memcached.PyMemcacheCache":
        options.update(timeout=seconds, connect_timeout=seconds)
    if options:
        params["OPTIONS"] = options
    try:
        return import_string(backend)(location, params)
    except ImportError:
        return caches[alias]


@dataclasses.dataclass
class Redis(HealthCheck):
    """``PING`` on the Redis of ``REDIS_URL``, with socket and connect timeouts and no retries."""

    url: str = dataclasses.field(default="", repr=False)
    _client: Any = dataclasses.field(default=None, repr=False, compare=False)

    def run(self) -> None:
        import redis  # optional: only projects with REDIS_URL have it
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        if self._client is None:
            seconds = _seconds(self)
            # redis-py >= 6 retries 3 times with backoff by default: that alone overran the deadline.
            self._client = redis.Redis.from_url(
                self.url, socket_timeout=seconds, socket_connect_timeout=seconds, retry=Retry(NoBackoff(), 0)
            )
        try:
            if not self._client.ping():
                raise ServiceUnavailable("Redis did not answer PONG")
        except redis.exceptions.TimeoutError as exc:
            raise DependencyTimeout("Redis did not answer in time") from exc
        except (redis.exceptions.RedisError, OSError) as exc:
            raise ServiceUnavailable(f"Redis is unreachable ({type(exc).__name__})") from exc


@dataclasses.dataclass
class Storage(hc_checks.Storage):
    """Write, read and delete a small file on one storage alias (at its root: no directory is left behind)."""

    def get_file_name(self) -> str:
        return f"django-observe-health-{uuid.uuid4().hex}.txt"

    def run(self) -> None:
        try:
            super().run()
        except HealthCheckException:
            raise
        except Exception as exc:
            # OSError text contains the absolute path.
            raise ServiceUnavailable(f"Storage write/read/delete failed ({type(exc).__name__})") from exc


@dataclasses.dataclass
class Disk(HealthCheck):
    """Disk usage of the filesystem holding ``path``: warn and fail thresholds in percent."""

    path: str = dataclasses.field(default_factory=os.getcwd, repr=False)
    warn_percent: float = 90.0
    fail_percent: float = 95.0

    def run(self) -> float:
        try:
            percent = psutil.disk_usage(str(self.path)).percent
        except OSError as exc:
            raise ServiceUnavailable(f"Disk usage unavailable ({type(exc).__name__})") from exc
        return _threshold("Disk", percent, self.warn_percent, self.fail_percent)


@dataclasses.dataclass
class Memory(HealthCheck):
    """System memory usage: warn and fail thresholds in percent."""

    warn_percent: float = 90.0
    fail_percent: float = 97.0

    def run(self) -> float:
        return _threshold("Memory", psutil.virtual_memory().percent, self.warn_percent, self.fail_percent)


def _threshold(what: str, percent: float, warn_at: float, fail_at: float) -> float:
    if percent >= fail_at:
        raise unavailable(f"{what} {percent:.1f} % used (fails at {fail_at:g} %)", percent)
    if percent >= warn_at:
        raise warning(f"{what} {percent:.1f} % used (warns at {warn_at:g} %)", percent)
    return percent


@dataclasses.dataclass
class CeleryBeat(HealthCheck):
    """The beat task ``django_observe.record_health`` recorded a run within ``max_age_seconds``."""

    max_age_seconds: float = 180.0

    def run(self) -> float:
        try:
            last = HealthCheckRun.objects.filter(trigger="beat").order_by("-started_at").values_list("started_at", flat=True).first()
        except DatabaseError as exc:
            raise ServiceUnavailable(f"Cannot read the beat heartbeat ({type(exc).__name__})") from exc
        if last is None:
            raise ServiceUnavailable("The beat task has not recorded a run yet")
        age = (timezone.now() - last).total_seconds()
        if age > self.max_age_seconds:
            raise unavailable(f"Last beat run {age:.0f} s ago (limit {self.max_age_seconds:g} s)", round(age, 1))
        return round(age, 1)
