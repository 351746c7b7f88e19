"""The OBSERVE settings: defaults, env-var fallbacks, validation, a cached accessor.

Precedence for every key: the key in ``settings.OBSERVE``, then its environment
variable (when it has one), then the default. ``problems()`` is the one validator:
``checks.py`` turns its sentences into system-check errors and ``get_settings()``
raises the first of them at first use, because gunicorn never runs checks.

This module imports nothing else of ours; everything else imports it.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import os
from collections.abc import Callable
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

Validator = Callable[[str, Any], "str | None"]


@dataclasses.dataclass(frozen=True)
class Option:
    """One OBSERVE key: its default, a one-line doc, its env var and its validator."""

    default: Any
    doc: str
    validate: Validator
    env: str | None = None
    section: str = "General"


# --- validators: each returns None when fine, else a sentence with the fix -------------


def _got(value: Any) -> str:
    # Name the type only: a wrong value may be a secret (a token, a DSN).
    return type(value).__name__


def _boolean(key: str, value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    return f"OBSERVE['{key}'] must be True or False, got {_got(value)}. Use e.g. OBSERVE = {{'{key}': True}}."


def _string(key: str, value: Any) -> str | None:
    if isinstance(value, str):
        return None
    return f"OBSERVE['{key}'] must be a string, got {_got(value)}. Use e.g. OBSERVE = {{'{key}': 'text'}}."


def _string_list(key: str, value: Any) -> str | None:
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return None
    return (
        f"OBSERVE['{key}'] must be a list of strings, got {_got(value)}. "
        f"Use e.g. OBSERVE = {{'{key}': ['value']}}, or [] for none."
    )


def _choice(*choices: str) -> Validator:
    def validate(key: str, value: Any) -> str | None:
        if isinstance(value, str) and value.lower() in choices:
            return None
        shown = value if isinstance(value, str) and len(value) < 40 else _got(value)
        return f"OBSERVE['{key}'] must be one of {', '.join(map(repr, choices))}, got {shown!r}. Use e.g. OBSERVE = {{'{key}': {choices[0]!r}}}."

    return validate


def _number(minimum: float | None = None, maximum: float | None = None, unit: str = "") -> Validator:
    def validate(key: str, value: Any) -> str | None:
        what = f"a number{unit}"
        if minimum is not None and maximum is not None:
            what += f" between {minimum} and {maximum}"
        elif minimum is not None:
            what += f" of at least {minimum}"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"OBSERVE['{key}'] must be {what}, got {_got(value)}. Use e.g. OBSERVE = {{'{key}': {_example(minimum, maximum)}}}."
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            return f"OBSERVE['{key}'] must be {what}, got {value}. Use e.g. OBSERVE = {{'{key}': {_example(minimum, maximum)}}}."
        return None

    return validate


def _example(minimum: float | None, maximum: float | None) -> float:
    if maximum is not None and maximum <= 1:
        return 0.1
    return max(1.0, float(minimum or 0))


def _header_name(key: str, value: Any) -> str | None:
    if isinstance(value, str) and value and all(ch.isalnum() or ch == "-" for ch in value):
        return None
    return f"OBSERVE['{key}'] must be an HTTP header name such as 'X-Request-ID' (letters, digits and '-'), got {_got(value)}."


def _url_path(key: str, value: Any) -> str | None:
    if isinstance(value, str) and value and not value.startswith("/") and "://" not in value:
        return None
    return f"OBSERVE['{key}'] must be a URL path without the leading slash, e.g. 'metrics' or 'api/v1/metrics', got {_got(value) if not isinstance(value, str) else repr(value)}."


def _path_list(key: str, value: Any) -> str | None:
    if _string_list(key, value) is None and all(_url_path(key, item) is None for item in value):
        return None
    return f"OBSERVE['{key}'] must be a list of URL paths without the leading slash, e.g. ['api/v1/metrics']."


def _checks_mapping(key: str, value: Any) -> str | None:
    if isinstance(value, dict) and all(isinstance(name, str) for name in value):
        return None
    return (
        f"OBSERVE['{key}'] must be a dict of check name -> import path or options dict, got {_got(value)}. "
        "Use e.g. OBSERVE = {'%s': {'search': 'myproject.health.SearchCheck'}}." % key
    )


def _anything(key: str, value: Any) -> str | None:
    return None


DEFAULT_REDACT_KEYS = (
    "password",
    "passwd",
    "token",
    "secret",
    "authorization",
    "cookie",
    "sessionid",
    "session",
    "csrf",
    "api_key",
    "apikey",
    "private_key",
    "dsn",
    "signature",
    "credit_card",
)

# Each key: default, doc (rendered into docs/settings.md), validator, env var, section.
DEFAULTS: dict[str, Option] = {
    # --- identity ------------------------------------------------------------------------
    "SERVICE_NAME": Option("django", "Name of this service on every log line and metric (`service`).", _string, "SERVICE_NAME", "Identity"),
    "ENVIRONMENT": Option("production", "Deployment environment (`environment` on logs, metrics, errors, Sentry).", _string, "ENVIRONMENT", "Identity"),
    "VERSION": Option("", "Release of the running code (`version` on logs, errors, Sentry). Empty means the `RELEASE_VERSION` env var, else `unknown`.", _string, "RELEASE_VERSION", "Identity"),
    # --- request ids ---------------------------------------------------------------------
    "REQUEST_ID_HEADER": Option("X-Request-ID", "Header read for an incoming request id and written on every response.", _header_name, None, "Request ids"),
    "TRUST_REQUEST_ID": Option(True, "Keep an incoming request id when it matches `^[A-Za-z0-9._:-]{1,128}$`. False always makes a new one.", _boolean, None, "Request ids"),
    # --- logging -------------------------------------------------------------------------
    "CONFIGURE_LOGGING": Option(True, "Configure structlog and stdlib logging at startup. Set False when `LOGGING = django_observe.logging.logging_config()` or your own config is used.", _boolean, None, "Logging"),
    "LOG_FORMAT": Option("json", "`json` (one JSON object per line) or `console` (human-readable, one line per event).", _choice("json", "console"), "LOG_FORMAT", "Logging"),
    "LOG_LEVEL": Option("INFO", "Level of the root logger: DEBUG, INFO, WARNING, ERROR or CRITICAL.", _choice("debug", "info", "warning", "error", "critical"), "LOG_LEVEL", "Logging"),
    "LOG_FILE": Option("", "Write log lines to this file (reopened when rotated) instead of stderr.", _string, "LOG_FILE", "Logging"),
    "ACCESS_LOG": Option(True, "Write one `request_finished` / `request_failed` line per request.", _boolean, None, "Logging"),
    "LOG_CLIENT_IP": Option(False, "Add the client `ip` (REMOTE_ADDR) to the access line. Off by default for privacy.", _boolean, None, "Logging"),
    "SLOW_REQUEST_THRESHOLD": Option(1.0, "Seconds; slower requests log at WARNING and count in `slow_requests_total`.", _number(0, unit=" of seconds"), "SLOW_REQUEST_THRESHOLD", "Logging"),
    "REDACT_KEYS": Option(list(DEFAULT_REDACT_KEYS), "Key names (matched case-insensitively as substrings) whose values are replaced by `[Filtered]` in logs and captured errors.", _string_list, None, "Logging"),
    "EXTRA_REDACT_KEYS": Option([], "More key names to redact, added to `REDACT_KEYS` (keeps the defaults).", _string_list, None, "Logging"),
    # --- metrics -------------------------------------------------------------------------
    "METRICS_ENABLED": Option(True, "Record Prometheus metrics.", _boolean, None, "Metrics"),
    "METRICS_NAMESPACE": Option("", "Prefix for every metric name, e.g. `shop` gives `shop_http_requests_total`.", _string, None, "Metrics"),
    "METRICS_PATH": Option("metrics", "URL path of the metrics endpoint (no leading slash).", _url_path, None, "Metrics"),
    "METRICS_PATH_ALIASES": Option([], "More URL paths serving the same metrics, e.g. `['api/v1/metrics']`.", _path_list, None, "Metrics"),
    "METRICS_TOKENS": Option([], "Bearer tokens accepted by the metrics endpoint (`Authorization: Bearer <token>`). Env `METRICS_TOKEN` (comma-separated) when unset.", _string_list, "METRICS_TOKEN", "Metrics"),
    "METRICS_ALLOW_STAFF": Option(True, "A logged-in staff user may read the metrics endpoint.", _boolean, None, "Metrics"),
    "METRICS_ALLOWED_IPS": Option([], "Client addresses or networks (REMOTE_ADDR, e.g. `10.0.0.0/8`) allowed without a token.", _string_list, None, "Metrics"),
    "METRICS_PUBLIC": Option(False, "Serve metrics to anyone. A deploy check warns when this is on in production.", _boolean, None, "Metrics"),
    "METRICS_LATENCY_BUCKETS": Option([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0], "Histogram buckets (seconds) of `http_request_duration_seconds`.", _anything, None, "Metrics"),
    "METRICS_DATABASE": Option(True, "Count database queries, their duration and errors per alias.", _boolean, None, "Metrics"),
    "METRICS_CACHE": Option(True, "Count cache hits and misses per cache alias.", _boolean, None, "Metrics"),
    # --- health --------------------------------------------------------------------------
    "HEALTH_PATH": Option("health", "URL prefix of the health endpoints (`health`, `health/live`, `health/ready`, `health/detailed`).", _url_path, None, "Health"),
    "HEALTH_CHECKS": Option({}, "Extra checks: name -> import path of a django-health-check `HealthCheck`, or a dict with `check`, `critical`, `timeout` and options.", _checks_mapping, None, "Health"),
    "HEALTH_DISABLED_CHECKS": Option([], "Names of built-in checks to turn off, e.g. `['celery_beat']`.", _string_list, None, "Health"),
    "HEALTH_TOKENS": Option([], "Tokens accepted in the `X-Health-Token` header by `/health/detailed`. Env `HEALTH_TOKEN` (comma-separated) when unset.", _string_list, "HEALTH_TOKEN", "Health"),
    "HEALTH_CHECK_TIMEOUT": Option(2.0, "Seconds each check may take before it is reported as `timeout`.", _number(0.01, unit=" of seconds"), None, "Health"),
    "HEALTH_DEADLINE": Option(5.0, "Seconds the whole probe may take; checks still running are reported as `timeout`.", _number(0.01, unit=" of seconds"), None, "Health"),
    "HEALTH_CACHE_SECONDS": Option(2.0, "Seconds a check result is shared between probes (single-flight).", _number(0, unit=" of seconds"), None, "Health"),
    "HEALTH_FAILURE_THRESHOLD": Option(3, "Consecutive failed recorded runs before a check is DOWN and an incident opens (flap damping).", _number(1), None, "Health"),
    "HEALTH_MIGRATIONS": Option("warn", "Unapplied migrations make the migrations check `warn` or `fail`.", _choice("warn", "fail"), None, "Health"),
    "HEALTH_DISK_WARN_PERCENT": Option(90.0, "Disk usage percent at which the disk check warns.", _number(0, 100), None, "Health"),
    "HEALTH_DISK_FAIL_PERCENT": Option(95.0, "Disk usage percent at which the disk check fails.", _number(0, 100), None, "Health"),
    "HEALTH_MEMORY_WARN_PERCENT": Option(90.0, "Memory usage percent at which the memory check warns.", _number(0, 100), None, "Health"),
    "HEALTH_MEMORY_FAIL_PERCENT": Option(97.0, "Memory usage percent at which the memory check fails.", _number(0, 100), None, "Health"),
    "HEALTH_HISTORY_DAYS": Option(30, "Days of raw runs and rollups kept.", _number(1), None, "Health"),
    # --- errors / sentry -----------------------------------------------------------------
    "ERRORS_ENABLED": Option(True, "Store captured errors in the local error tracker (admin: Errors).", _boolean, None, "Errors"),
    "ERRORS_DATABASE": Option("default", "Database alias the error tracker writes to.", _string, None, "Errors"),
    "ERRORS_SYNC": Option(False, "Store errors inline instead of on the writer thread (tests).", _boolean, "OBSERVE_ERRORS_SYNC", "Errors"),
    "ERRORS_QUEUE_SIZE": Option(10_000, "Captured errors waiting for the writer; more are dropped and counted.", _number(1), None, "Errors"),
    "ERRORS_EVENTS_PER_HOUR": Option(10, "Events stored per group per hour after the first (counts stay exact).", _number(0), None, "Errors"),
    "ERRORS_MAX_EVENT_BYTES": Option(65_536, "Size cap of one stored event's JSON.", _number(1024), None, "Errors"),
    "ERRORS_RETENTION_DAYS": Option(90, "`observe_prune` deletes events older than this.", _number(1), None, "Errors"),
    "ERRORS_MAX_EVENTS": Option(100_000, "`observe_prune` keeps at most this many events.", _number(1), None, "Errors"),
    "SENTRY_ENABLED": Option(True, "Initialise sentry-sdk at startup (with or without a DSN).", _boolean, None, "Sentry"),
    "SENTRY_DSN": Option("", "Sentry DSN; empty keeps events local.", _string, "SENTRY_DSN", "Sentry"),
    "SENTRY_ENVIRONMENT": Option("", "Sentry environment; empty means `ENVIRONMENT`.", _string, "SENTRY_ENVIRONMENT", "Sentry"),
    "SENTRY_TRACES_SAMPLE_RATE": Option(0.0, "Share of requests traced (0.0-1.0).", _number(0, 1), "SENTRY_TRACES_SAMPLE_RATE", "Sentry"),
    "SENTRY_PROFILES_SAMPLE_RATE": Option(0.0, "Share of traced requests profiled (0.0-1.0).", _number(0, 1), "SENTRY_PROFILES_SAMPLE_RATE", "Sentry"),
    "SENTRY_SEND_DEFAULT_PII": Option(False, "Send user ids, IPs and cookies to Sentry (off: no PII).", _boolean, None, "Sentry"),
    "SENTRY_INTEGRATIONS": Option("auto", "`auto`: sentry-sdk's Django, Celery and logging integrations only when tracing or profiling is on (they cost ~0.7 ms per request); otherwise django-observe captures request errors and error log records itself (same events, no per-request cost). `full` always installs them, `lean` never.", _choice("auto", "full", "lean"), None, "Sentry"),
    "SENTRY_BEFORE_SEND": Option("", "Import path of your own `before_send(event, hint)`; it runs after our scrubbing, and returning None drops the event from Sentry AND the local store.", _string, None, "Sentry"),
}


def _env_value(option: Option) -> Any:
    """The option's env var, converted to the default's type; a bad string stays a string so problems() names it."""
    raw = os.environ.get(option.env) if option.env else None
    if raw is None or raw == "":
        return None
    default = option.default
    if isinstance(default, bool):
        lowered = raw.strip().lower()
        return {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}.get(lowered, raw)
    if isinstance(default, (int, float)):
        try:
            return type(default)(raw) if isinstance(default, float) else int(raw)
        except ValueError:
            return raw
    if isinstance(default, list):
        return [item.strip() for item in raw.split(",") if item.strip()]
    return raw


def _user_dict() -> Any:
    return getattr(django_settings, "OBSERVE", {})


def problems(user: Any = None) -> list[str]:
    """Every problem with OBSERVE (and the env vars it falls back to), as sentences that say the fix."""
    if user is None:
        user = _user_dict()
    if not isinstance(user, dict):
        return [f"settings.OBSERVE must be a dict, got {_got(user)}. Use e.g. OBSERVE = {{}}."]
    found = []
    for key, option in DEFAULTS.items():
        if key in user:
            value = user[key]
        else:
            value = _env_value(option)
            if value is None:
                continue
        message = option.validate(key, value)
        if message and key not in user and option.env:
            message = f"Environment variable {option.env}: " + message.replace(f"OBSERVE['{key}']", f"the value for OBSERVE['{key}']")
        if message:
            found.append(message)
    merged = _merge(user, validate=False) if not found else None
    if merged is not None:
        if merged["HEALTH_DISK_WARN_PERCENT"] > merged["HEALTH_DISK_FAIL_PERCENT"]:
            found.append("OBSERVE['HEALTH_DISK_WARN_PERCENT'] must not be above OBSERVE['HEALTH_DISK_FAIL_PERCENT'].")
        if merged["HEALTH_MEMORY_WARN_PERCENT"] > merged["HEALTH_MEMORY_FAIL_PERCENT"]:
            found.append("OBSERVE['HEALTH_MEMORY_WARN_PERCENT'] must not be above OBSERVE['HEALTH_MEMORY_FAIL_PERCENT'].")
    return found


def unknown_keys(user: Any = None) -> list[tuple[str, str | None]]:
    """(unknown key, closest valid key or None) for every key of OBSERVE we do not know."""
    if user is None:
        user = _user_dict()
    if not isinstance(user, dict):
        return []
    return [
        (key, next(iter(difflib.get_close_matches(str(key), DEFAULTS, n=1)), None))
        for key in user
        if key not in DEFAULTS
    ]


class ObserveSettings:
    """The merged OBSERVE settings; read an option as an attribute (``get_settings().LOG_FORMAT``)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("ObserveSettings is read-only; change settings.OBSERVE instead.")

    def __repr__(self) -> str:
        return f"ObserveSettings({sorted(self.__dict__)})"


def _merge(user: dict[str, Any], validate: bool = True) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, option in DEFAULTS.items():
        if key in user:
            value = user[key]
        else:
            env_value = _env_value(option)
            value = env_value if env_value is not None else option.default
        if isinstance(value, list):
            value = tuple(value)
        values[key] = value
    values["LOG_FORMAT"] = str(values["LOG_FORMAT"]).lower()
    values["LOG_LEVEL"] = str(values["LOG_LEVEL"]).upper()
    values["VERSION"] = values["VERSION"] or os.environ.get("RELEASE_VERSION", "") or "unknown"
    values["SENTRY_ENVIRONMENT"] = values["SENTRY_ENVIRONMENT"] or values["ENVIRONMENT"]
    values["REDACT_KEYS"] = tuple(k.lower() for k in (*values["REDACT_KEYS"], *values["EXTRA_REDACT_KEYS"]))
    return values


@functools.cache
def get_settings() -> ObserveSettings:
    """The merged, validated settings, cached until ``OBSERVE`` changes.

    Raises ImproperlyConfigured with the first problem, so a server that never runs
    ``manage.py check`` (gunicorn, uvicorn) still refuses a wrong value loudly.
    """
    found = problems()
    if found:
        raise ImproperlyConfigured(found[0])
    return ObserveSettings(_merge(_user_dict()))


@receiver(setting_changed)  # from django.core.signals: importing django.test here would load the test runner
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "OBSERVE":
        get_settings.cache_clear()
        for callback in _on_reset:
            callback()


_on_reset: list[Callable[[], None]] = []


def on_settings_reset(callback: Callable[[], None]) -> Callable[[], None]:
    """Register ``callback`` to run when OBSERVE changes (tests' override_settings), e.g. to drop a module cache."""
    _on_reset.append(callback)
    return callback


def render_reference() -> str:
    """docs/settings.md, generated from DEFAULTS (a test fails when the committed file differs)."""
    lines = [
        "# Settings reference",
        "",
        "<!-- Generated by `python -m django_observe.conf > docs/settings.md`; do not edit by hand. -->",
        "",
        "Most projects set nothing: `OBSERVE = {}` gives every default below. Do not copy the",
        "defaults into your settings; set only the keys you want to change. Precedence for every key:",
        "the key in `OBSERVE`, then its environment variable (when it has one), then the default.",
        "A wrong type or value fails `manage.py check` (ids in [checks](checks.md)) and startup.",
        "",
    ]
    sections: dict[str, list[tuple[str, Option]]] = {}
    for key, option in DEFAULTS.items():
        sections.setdefault(option.section, []).append((key, option))
    for section, items in sections.items():
        lines += [f"## {section}", "", "| key | default | env var | meaning |", "|---|---|---|---|"]
        for key, option in items:
            default = repr(option.default) if option.default != "" else "`''`"
            if option.default != "":
                default = f"`{default}`"
            env = f"`{option.env}`" if option.env else ""
            lines.append(f"| `{key}` | {default} | {env} | {option.doc} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - the docs generator
    print(render_reference(), end="")
