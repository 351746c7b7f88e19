"""Django system checks; ids ``django_observe.E0xx`` / ``W0xx``, each with a hint (listed in docs/checks.md).

Ids by tens per topic: 00x settings, 01x middleware, 02x metrics, 03x health, 04x errors.
Ids never change and are never reused.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.urls import Resolver404, resolve
from django.utils.module_loading import import_string

from .check_ids import CHECK_IDS
from .conf import get_settings, problems, unknown_keys
from .health import registry as health_registry
from .health import routes as health_routes
from .metrics import multiprocess_dir
from .metrics.workers import configured_workers

MIDDLEWARE_PATH = "django_observe.middleware.ObserveMiddleware"


def _error(check_id: str, message: str) -> Error:
    """An error whose hint is the one written in CHECK_IDS (each hint is written once)."""
    return Error(message, hint=CHECK_IDS[check_id][1], id=check_id)


def _warning(check_id: str, message: str) -> Warning:
    return Warning(message, hint=CHECK_IDS[check_id][1], id=check_id)


# Middleware that must not run before ours: they redirect, answer or authenticate
# before we can give the request its id, and they would turn health probes into 301/302/403.
_MUST_COME_AFTER = (
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.middleware.locale.LocaleMiddleware",
)


def check_settings(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """E001 (and the key's own id, e.g. E021 for buckets): a wrong type or value in OBSERVE or its env var; E002 unusable LOG_FILE."""
    found: list[CheckMessage] = [_error(problem.check_id, problem.message) for problem in problems()]
    log_file = get_settings().LOG_FILE
    if log_file:
        directory = os.path.dirname(os.path.abspath(log_file))
        if "\x00" in log_file or not (os.path.isdir(directory) and os.access(directory, os.W_OK)) or os.path.isdir(log_file):
            found.append(
                _error(
                    "django_observe.E002",
                    f"OBSERVE['LOG_FILE'] cannot be written: {directory!r} is not a writable directory (or the path is a directory).",
                )
            )
    return found


def check_unknown_keys(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """W001: a key in OBSERVE that we do not know (usually a typo)."""
    found: list[CheckMessage] = []
    for key, closest in unknown_keys():
        hint = f"Did you mean '{closest}'?" if closest else CHECK_IDS["django_observe.W001"][1]
        shown = key if len(key) < 60 else key[:57] + "..."
        found.append(Warning(f"Unknown OBSERVE key {shown!r}; it has no effect.", hint=hint, id="django_observe.W001"))
    return found


def _position(path: str) -> int | None:
    """Index in MIDDLEWARE of ``path`` or of a subclass of it."""
    try:
        target = import_string(path)
    except ImportError:
        return None
    for index, entry in enumerate(settings.MIDDLEWARE):
        if entry == path:
            return index
        try:
            candidate = import_string(entry)
        except ImportError:
            continue
        if isinstance(candidate, type) and isinstance(target, type) and issubclass(candidate, target):
            return index
    return None


def check_middleware(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """W010 missing, W011 placed after middleware that must come after it."""
    ours = _position(MIDDLEWARE_PATH)
    if ours is None:
        return [
            _warning("django_observe.W010", "ObserveMiddleware is not in MIDDLEWARE, so requests get no request id, access log or metrics.")
        ]
    earlier = [path for path in _MUST_COME_AFTER if (position := _position(path)) is not None and position < ours]
    if earlier:
        return [
            _warning(
                "django_observe.W011",
                f"ObserveMiddleware comes after {', '.join(p.rsplit('.', 1)[1] for p in earlier)} in MIDDLEWARE: "
                "their work is not timed, their log lines have no request id, and they can redirect or refuse health probes.",
            )
        ]
    return []


# --- metrics (02x) ------------------------------------------------------------------------------

_DEVELOPMENT_ENVIRONMENTS = frozenset({"development", "dev", "local", "test", "testing"})
_TOKEN_MIN_LENGTH = 16


def _probe_paths() -> set[str]:
    return set(health_routes.probe_paths())


def check_metrics(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """E022 unusable multiprocess dir, W021 workers without it, W023 metrics path taken by a probe.

    E020 (allowed IPs), E021 (buckets) and E023 (namespace) are value checks: ``check_settings`` reports them.
    """
    conf = get_settings()
    found: list[CheckMessage] = []
    path = multiprocess_dir()
    if path and not (os.path.isdir(path) and os.access(path, os.W_OK)):
        found.append(
            _error("django_observe.E022", "PROMETHEUS_MULTIPROC_DIR is set but is not a writable directory, so no metric can be recorded.")
        )
    workers = configured_workers((Path(str(getattr(settings, "BASE_DIR", "."))),))
    if conf.METRICS_ENABLED and not path and workers is not None and workers[0] > 1:
        found.append(
            _warning(
                "django_observe.W021",
                f"{workers[0]} worker processes are configured ({workers[1]}) but PROMETHEUS_MULTIPROC_DIR is not set: "
                "each scrape of /metrics shows one worker's counts.",
            )
        )
    taken = _probe_paths() & {p.strip("/") for p in (conf.METRICS_PATH, *conf.METRICS_PATH_ALIASES)}
    if taken:
        found.append(
            _warning("django_observe.W023", f"The metrics path {sorted(taken)[0]!r} is also a health probe path; the probe answers there.")
        )
    return found


def _short_tokens(tokens: Sequence[str]) -> int:
    return sum(1 for token in tokens if len(token.strip()) < _TOKEN_MIN_LENGTH)


def check_metrics_deploy(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """W020 metrics public outside development, W022 unreadable by Prometheus, W024 empty or short tokens (deploy only)."""
    conf = get_settings()
    found: list[CheckMessage] = []
    if _short_tokens(conf.METRICS_TOKENS):
        found.append(
            _warning(
                "django_observe.W024",
                f"{_short_tokens(conf.METRICS_TOKENS)} of OBSERVE['METRICS_TOKENS'] "
                f"are empty or shorter than {_TOKEN_MIN_LENGTH} characters.",
            )
        )
    if not conf.METRICS_ENABLED or conf.ENVIRONMENT.lower() in _DEVELOPMENT_ENVIRONMENTS:
        return found
    if conf.METRICS_PUBLIC:
        found.append(
            _warning(
                "django_observe.W020",
                f"The metrics endpoint is public (OBSERVE['METRICS_PUBLIC'] = True) in environment {conf.ENVIRONMENT!r}: "
                "anyone can read your traffic, routes and errors.",
            )
        )
    elif not [t for t in conf.METRICS_TOKENS if t.strip()] and not conf.METRICS_ALLOWED_IPS:
        found.append(
            _warning(
                "django_observe.W022",
                "Metrics are recorded but Prometheus cannot read them: "
                "no METRICS_TOKENS, no METRICS_ALLOWED_IPS and METRICS_PUBLIC is off (only staff sessions get in).",
            )
        )
    return found


# --- errors / sentry (04x) ------------------------------------------------------------


def check_errors(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """E041 unknown ERRORS_DATABASE alias, E042 SENTRY_BEFORE_SEND that cannot be imported (E040, the DSN, is a value check)."""
    conf = get_settings()
    found: list[CheckMessage] = []
    if conf.ERRORS_ENABLED and conf.ERRORS_DATABASE not in settings.DATABASES:
        shown = conf.ERRORS_DATABASE if len(conf.ERRORS_DATABASE) < 60 else conf.ERRORS_DATABASE[:57] + "..."
        found.append(
            _error(
                "django_observe.E041",
                f"OBSERVE['ERRORS_DATABASE'] = {shown!r} is not in DATABASES ({', '.join(map(repr, settings.DATABASES))}).",
            )
        )
    if conf.SENTRY_BEFORE_SEND:
        try:
            hook = import_string(conf.SENTRY_BEFORE_SEND)
        except ImportError:
            hook = None
        if not callable(hook):
            found.append(
                _error(
                    "django_observe.E042",
                    f"OBSERVE['SENTRY_BEFORE_SEND'] = {conf.SENTRY_BEFORE_SEND!r} cannot be imported or is not callable.",
                )
            )
    return found


def check_errors_deploy(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """W040 ERRORS_SYNC left on in a deployment."""
    if get_settings().ERRORS_SYNC:
        return [
            _warning(
                "django_observe.W040",
                "OBSERVE['ERRORS_SYNC'] is on: errors are stored inside the failing request's transaction "
                "(slower, and lost when ATOMIC_REQUESTS rolls it back).",
            )
        ]
    return []


# --- health (03x) -----------------------------------------------------------------------


def check_health(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """E030 unloadable host check, E031 duplicate names, E032 bad critical/timeout, W033 timeout above the deadline,
    W034 a probe path shadowing a URL of the site, W035 an unknown name in HEALTH_DISABLED_CHECKS."""
    conf = get_settings()
    found: list[CheckMessage] = [Error(message, hint=hint, id=check_id) for check_id, message, hint in health_registry.config_problems()]
    deadline = conf.HEALTH_DEADLINE
    for spec in health_registry.build([]):
        if spec.timeout > deadline:
            found.append(
                _warning(
                    "django_observe.W033",
                    f"Health check {spec.name!r} has a timeout of {spec.timeout:g} s, "
                    f"longer than OBSERVE['HEALTH_DEADLINE'] ({deadline:g} s).",
                )
            )
    for package, setting in health_registry.missing_packages().items():
        found.append(
            _warning(
                "django_observe.W037",
                f"{setting} is set but the {package!r} package is not installed, so the {package} health check is left out.",
            )
        )
    known = health_registry.known_names()
    for name in dict.fromkeys(conf.HEALTH_DISABLED_CHECKS):
        if name not in known:
            shown = name if len(name) < 60 else name[:57] + "..."
            found.append(
                _warning(
                    "django_observe.W035",
                    f"OBSERVE['HEALTH_DISABLED_CHECKS'] has {shown!r}, which is not a check; known: {', '.join(sorted(known))}.",
                )
            )
    shadowed = {path: view for path in sorted(_probe_paths()) if (view := _site_view(path))}
    if shadowed:
        listed = ", ".join(f"'/{path}' ({view})" for path, view in shadowed.items())
        found.append(
            _warning("django_observe.W034", f"Health probe paths are also URLs of your site, and the probe answers there first: {listed}.")
        )
    return found


def check_health_deploy(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """W036 empty or short health tokens (deploy only)."""
    tokens = get_settings().HEALTH_TOKENS
    if _short_tokens(tokens):
        return [
            _warning(
                "django_observe.W036",
                f"{_short_tokens(tokens)} of OBSERVE['HEALTH_TOKENS'] are empty or shorter than {_TOKEN_MIN_LENGTH} characters.",
            )
        ]
    return []


def _site_view(path: str) -> str | None:
    """'the view <name>' when ``/path`` (or ``/path/``) resolves to a view that is not ours, else None."""
    for candidate in (f"/{path}", f"/{path}/"):
        try:
            match = resolve(candidate)
        except Resolver404:
            continue
        except Exception:  # a broken URLconf is Django's own check to report
            return None
        module = getattr(match.func, "__module__", "") or ""
        if not module.startswith("django_observe."):
            return match.view_name or f"{module}.{getattr(match.func, '__name__', 'view')}"
    return None
