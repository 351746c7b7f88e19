"""The configured health checks: the built-in ones that apply to this project plus OBSERVE['HEALTH_CHECKS'].

Our metadata sits next to each check in a ``CheckSpec``: a stable ``name`` (history is
keyed by it, never by ``repr()``), ``critical`` (counts for ``/health/ready``) and
``timeout``. ``get_specs()`` builds the list once per process and again when OBSERVE or a
setting the checks depend on changes; ``build(problems)`` builds it afresh and reports what
is wrong with the configuration (the system checks use it).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import importlib.util
import logging
import os
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable

from ..conf import get_settings, on_change
from .checks import BEAT_TASK_NAME, Cache, CeleryBeat, Database, Disk, Memory, Migrations, Redis, Storage

logger = logging.getLogger(__name__)

#: Keys of a HEALTH_CHECKS dict entry that are ours; every other key is an option of the check.
META_KEYS = frozenset({"check", "critical", "timeout"})

Problems = list[tuple[str, str, str]]


@dataclasses.dataclass
class CheckSpec:
    """A check with our metadata. ``timeout`` is in seconds; ``error`` is set when it could not be built."""

    name: str
    check: HealthCheck
    critical: bool
    timeout: float
    builtin: bool = True
    error: str = ""


@dataclasses.dataclass
class _Broken(HealthCheck):
    """Stands in for a host check that could not be loaded, so the probes show it failing."""

    reason: str = ""

    def run(self) -> None:
        raise ServiceUnavailable("This check could not be loaded; see `manage.py check`")


def builtin_specs() -> list[tuple[str, Callable[[], HealthCheck], bool]]:
    """(name, factory, critical) of every built-in check that applies to this project."""
    conf = get_settings()
    found: list[tuple[str, Callable[[], HealthCheck], bool]] = []
    for alias in settings.DATABASES:
        name = "database" if alias == "default" else f"database:{alias}"
        found.append((name, functools.partial(Database, alias=alias), True))
    if "default" in settings.DATABASES:
        found.append(("migrations", functools.partial(Migrations, fail=conf.HEALTH_MIGRATIONS == "fail"), True))
    for alias in settings.CACHES:
        name = "cache" if alias == "default" else f"cache:{alias}"
        found.append((name, functools.partial(Cache, alias=alias), True))
    if (redis_url := redis_url_setting()) and "redis" not in missing_packages():
        found.append(("redis", functools.partial(Redis, url=redis_url), True))
    if broker := getattr(settings, "CELERY_BROKER_URL", ""):
        try:
            # Here, not at the top: celery is an optional extra, and projects without a broker never pay its import.
            from . import celery as celery_checks
        except ImportError:
            logger.warning("CELERY_BROKER_URL is set but celery is not installed: the Celery health checks are off.")
        else:
            found.append(("celery_broker", functools.partial(celery_checks.CeleryBroker, url=broker), True))
            found.append(("celery_workers", celery_checks.CeleryWorkers, False))
    if (interval := beat_interval()) is not None:
        found.append(("celery_beat", functools.partial(CeleryBeat, max_age_seconds=3 * interval), False))
    found.append(("storage", Storage, False))
    found.append(
        ("disk", functools.partial(Disk, warn_percent=conf.HEALTH_DISK_WARN_PERCENT, fail_percent=conf.HEALTH_DISK_FAIL_PERCENT), False)
    )
    found.append(
        (
            "memory",
            functools.partial(Memory, warn_percent=conf.HEALTH_MEMORY_WARN_PERCENT, fail_percent=conf.HEALTH_MEMORY_FAIL_PERCENT),
            False,
        )
    )
    return found


def missing_packages() -> dict[str, str]:
    """package -> the setting that asks for its check, for each optional package a configured check needs but
    that is not installed (W037): the check is left out rather than failing every readiness probe."""
    wanted = {
        "redis": "REDIS_URL" if redis_url_setting() else "",
        "celery": "CELERY_BROKER_URL" if getattr(settings, "CELERY_BROKER_URL", "") else "",
    }
    return {package: setting for package, setting in wanted.items() if setting and importlib.util.find_spec(package) is None}


def redis_url_setting() -> str:
    """``settings.REDIS_URL``, else the ``REDIS_URL`` environment variable, else ''."""
    return getattr(settings, "REDIS_URL", "") or os.environ.get("REDIS_URL", "")


def beat_interval() -> float | None:
    """Seconds between runs of our beat task when CELERY_BEAT_SCHEDULE schedules it, else None."""
    schedule = getattr(settings, "CELERY_BEAT_SCHEDULE", None) or {}
    for entry in schedule.values():
        if isinstance(entry, dict) and entry.get("task") == BEAT_TASK_NAME:
            every = entry.get("schedule", 60.0)
            if isinstance(every, datetime.timedelta):
                return every.total_seconds()
            if isinstance(every, (int, float)):
                return float(every)
            run_every = getattr(every, "run_every", None)  # celery.schedules.schedule
            return run_every.total_seconds() if isinstance(run_every, datetime.timedelta) else 60.0
    return None


def config_problems() -> Problems:
    """(check id, message, hint) for every problem in HEALTH_CHECKS; used by the system checks."""
    problems: Problems = []
    build(problems)
    return problems


#: Built-in check names that do not depend on an alias; each applies when its setting is there.
BUILTIN_NAMES = ("database", "migrations", "cache", "redis", "celery_broker", "celery_workers", "celery_beat", "storage", "disk", "memory")


def known_names() -> frozenset[str]:
    """Every name HEALTH_DISABLED_CHECKS may list: the built-in checks (whether or not they apply to this
    project: one OBSERVE block often serves several environments), one per database and cache alias,
    and HEALTH_CHECKS' keys."""
    aliases = [f"database:{alias}" for alias in settings.DATABASES] + [f"cache:{alias}" for alias in settings.CACHES]
    return frozenset(BUILTIN_NAMES) | frozenset(aliases) | frozenset(get_settings().HEALTH_CHECKS)


def build(problems: Problems | None = None) -> list[CheckSpec]:
    """Build the configured checks now (not cached). Configuration problems are appended to ``problems``
    as (check id, message, hint); with ``problems=None`` they are logged as warnings instead."""
    conf = get_settings()
    default_timeout = conf.HEALTH_CHECK_TIMEOUT
    disabled = set(conf.HEALTH_DISABLED_CHECKS)
    builtins = {name: (factory, critical) for name, factory, critical in builtin_specs()}
    seen: dict[str, str] = {}
    specs: list[CheckSpec] = []

    def report(check_id: str, message: str, hint: str) -> None:
        if problems is not None:
            problems.append((check_id, message, hint))
        else:
            logger.warning("%s %s", message, hint)

    host: dict[str, dict[str, Any]] = {}
    for name, entry in conf.HEALTH_CHECKS.items():
        host[name] = {"check": entry} if isinstance(entry, str) else dict(entry) if isinstance(entry, dict) else {"check": entry}

    for name, (factory, critical) in builtins.items():
        if name in disabled:
            continue
        override = host.get(name, {})
        if "check" in override:
            report(
                "django_observe.E031",
                f"Health check name {name!r} is used by a built-in check and by OBSERVE['HEALTH_CHECKS'][{name!r}].",
                f"Rename your check, or add {name!r} to OBSERVE['HEALTH_DISABLED_CHECKS'] to replace the built-in one.",
            )
            continue
        seen[name.lower()] = name
        options = {key: value for key, value in override.items() if key not in META_KEYS}
        try:
            check = factory(**options) if options else factory()
        except TypeError as exc:
            report(
                "django_observe.E030",
                f"OBSERVE['HEALTH_CHECKS'][{name!r}] has an option the check does not take: {exc}.",
                "Remove the option; see docs/health.md for each check's options.",
            )
            check = factory()
        specs.append(_spec(name, check, override.get("critical", critical), override.get("timeout", default_timeout), True, report))

    for name, entry in host.items():
        if name in builtins or name in disabled:
            continue
        if name.lower() in seen:
            report(
                "django_observe.E031",
                f"Health check names {seen[name.lower()]!r} and {name!r} differ only in case; history and metrics would mix them.",
                "Give every check in OBSERVE['HEALTH_CHECKS'] a distinct name.",
            )
            continue
        seen[name.lower()] = name
        target = entry.get("check")
        options = {key: value for key, value in entry.items() if key not in META_KEYS}
        error = ""
        try:
            if not isinstance(target, str):
                raise ImproperlyConfigured(f"needs an import path string, got {type(target).__name__}")
            loaded = import_string(target)
            if isinstance(loaded, HealthCheck):
                check = loaded
            elif isinstance(loaded, type) and issubclass(loaded, HealthCheck):
                check = loaded(**options)
            else:
                raise ImproperlyConfigured(f"{target!r} is not a django-health-check HealthCheck subclass")
        except (ImportError, ImproperlyConfigured, TypeError, ValueError) as exc:
            error = str(exc)
            report(
                "django_observe.E030",
                f"OBSERVE['HEALTH_CHECKS'][{name!r}] cannot be loaded: {exc}.",
                "Point it at a HealthCheck subclass, e.g. {'search': 'myproject.health.SearchCheck'}, "
                "or {'search': {'check': 'myproject.health.SearchCheck', 'critical': False, 'timeout': 1.0}}.",
            )
            check = _Broken(reason=error)
        spec = _spec(name, check, entry.get("critical", True), entry.get("timeout", default_timeout), False, report)
        spec.error = error
        specs.append(spec)
    return specs


def _spec(name: str, check: HealthCheck, critical: Any, timeout: Any, builtin: bool, report: Callable[[str, str, str], None]) -> CheckSpec:
    if not isinstance(critical, bool):
        report(
            "django_observe.E032",
            f"OBSERVE['HEALTH_CHECKS'][{name!r}]['critical'] must be True or False, got {type(critical).__name__}.",
            f"Use e.g. {{'{name}': {{'critical': False}}}}.",
        )
        critical = True
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        report(
            "django_observe.E032",
            f"OBSERVE['HEALTH_CHECKS'][{name!r}]['timeout'] must be a positive number of seconds.",
            f"Use e.g. {{'{name}': {{'timeout': 1.5}}}}.",
        )
        timeout = get_settings().HEALTH_CHECK_TIMEOUT
    # The check's own clients (socket timeouts, Celery ping wait) read this.
    check.timeout = datetime.timedelta(seconds=float(timeout))
    return CheckSpec(name=name, check=check, critical=critical, timeout=float(timeout), builtin=builtin)


@functools.cache
def get_specs() -> tuple[CheckSpec, ...]:
    """The configured checks, built once per process (rebuilt when OBSERVE or a dependency setting changes)."""
    return tuple(build())


def reset() -> None:
    """Drop the built checks (and their clients); the next probe builds them again."""
    get_specs.cache_clear()


#: The Django settings the built checks depend on: a change rebuilds them (tests' override_settings).
DEPENDENCY_SETTINGS = ("OBSERVE", "DATABASES", "CACHES", "STORAGES", "REDIS_URL", "CELERY_*")

on_change(*DEPENDENCY_SETTINGS)(reset)
