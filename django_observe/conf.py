"""The OBSERVE settings: defaults, env-var fallbacks, validation, a cached accessor.

Precedence for every key: the key in ``settings.OBSERVE``, then its environment
variable (when it has one), then the default. ``problems()`` is the one validator:
``checks.py`` turns its findings into system-check errors. ``get_settings()`` never
raises: gunicorn and uvicorn run no checks, and a typo in one key must not stop the
host's site, so an invalid value is replaced by its default and ``report_invalid()``
(called at startup) writes one ERROR line per invalid key and counts it.

``on_change()`` is the one reset hook: a part that caches something derived from
settings registers a callback together with the Django settings it depends on.

This module is at the bottom of the layers: it imports nothing else of ours but the guard.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import ipaddress
import logging
import math
import os
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, TypeVar

from django.conf import settings as django_settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from . import guard

logger = logging.getLogger("django_observe")

Validator = Callable[[str, Any], "str | None"]


@dataclasses.dataclass(frozen=True)
class Option:
    """One OBSERVE key: its default, a one-line doc, its env var and its validator."""

    default: Any
    doc: str
    validate: Validator
    env: str | None = None
    section: str = "General"
    #: The system check id a wrong value of this key is reported under.
    check_id: str = "django_observe.E001"


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


def _number(minimum: float | None = None, maximum: float | None = None, unit: str = "", integer: bool = False) -> Validator:
    def validate(key: str, value: Any) -> str | None:
        what = ("a whole number" if integer else "a number") + unit
        if minimum is not None and maximum is not None:
            what += f" between {minimum:g} and {maximum:g}"
        elif minimum is not None:
            what += f" of at least {minimum:g}"
        example = _example(minimum, maximum, integer)
        wrong_type = isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int))
        if wrong_type:
            return f"OBSERVE['{key}'] must be {what}, got {_got(value)}. Use e.g. OBSERVE = {{'{key}': {example}}}."
        if not math.isfinite(value) or (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            return f"OBSERVE['{key}'] must be {what}, got {value!r}. Use e.g. OBSERVE = {{'{key}': {example}}}."
        return None

    return validate


def _example(minimum: float | None, maximum: float | None, integer: bool = False) -> float | int:
    if integer:
        return max(1, int(minimum or 0))
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


def _buckets(key: str, value: Any) -> str | None:
    if (
        isinstance(value, (list, tuple))
        and value
        and all(isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b) and b > 0 for b in value)
        and all(a < b for a, b in zip(value, value[1:]))
    ):
        return None
    return f"OBSERVE['{key}'] must be a non-empty list of increasing positive numbers (seconds), e.g. [0.01, 0.05, 0.1, 0.5, 1, 5]."


def parse_network(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """``10.0.0.0/8`` or ``127.0.0.1`` as a network; None when it is neither."""
    try:
        return ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        return None


def _networks(key: str, value: Any) -> str | None:
    if _string_list(key, value) is not None:
        return _string_list(key, value)
    bad = [entry for entry in value if parse_network(entry) is None]
    if not bad:
        return None
    shown = bad[0] if len(bad[0]) < 60 else bad[0][:57] + "..."
    return f"OBSERVE['{key}'] has {shown!r}, which is not an IP address or network. Write addresses or CIDR networks, e.g. ['10.0.0.0/8', '127.0.0.1']."


_PROMETHEUS_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _namespace(key: str, value: Any) -> str | None:
    if isinstance(value, str) and (value == "" or _PROMETHEUS_PREFIX.fullmatch(value)):
        return None
    shown = repr(value) if isinstance(value, str) and len(value) < 40 else _got(value)
    return f"OBSERVE['{key}'] = {shown} is not a valid Prometheus name prefix: use letters, digits and underscores, starting with a letter, e.g. 'shop'."


def _dsn(key: str, value: Any) -> str | None:
    if not isinstance(value, str):
        return _string(key, value)
    if not value:
        return None
    from sentry_sdk.utils import BadDsn, Dsn

    try:
        Dsn(value)
    except (BadDsn, ValueError, TypeError):
        # Never echo the DSN: it carries the project's key.
        return f"OBSERVE['{key}'] (or env SENTRY_DSN) is not a valid Sentry DSN; events stay local until it is fixed."
    return None


def _dotted_path(key: str, value: Any) -> str | None:
    if isinstance(value, str) and (value == "" or re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+", value)):
        return None
    shown = repr(value) if isinstance(value, str) and len(value) < 60 else _got(value)
    return f"OBSERVE['{key}'] must be the dotted import path of a function, e.g. 'myproject.sentry.before_send', got {shown}."


def _choice_list(*choices: str) -> Validator:
    def validate(key: str, value: Any) -> str | None:
        if isinstance(value, (list, tuple)) and all(isinstance(item, str) and item.lower() in choices for item in value):
            return None
        return f"OBSERVE['{key}'] must be a list of some of {', '.join(map(repr, choices))}, got {_got(value)}. Use e.g. OBSERVE = {{'{key}': [{choices[0]!r}]}}."

    return validate


def _string_mapping(key: str, value: Any) -> str | None:
    if isinstance(value, Mapping) and all(isinstance(k, str) and k and isinstance(v, str) and v for k, v in value.items()):
        return None
    return f"OBSERVE['{key}'] must be a dict of non-empty strings, got {_got(value)}. Use e.g. OBSERVE = {{'{key}': {{'api.example.com': 'example'}}}}."


def _listen_address(key: str, value: Any) -> str | None:
    try:
        ipaddress.ip_address(value)
    except (TypeError, ValueError):
        shown = repr(value) if isinstance(value, str) and len(value) < 60 else _got(value)
        return f"OBSERVE['{key}'] must be an IP address to listen on, e.g. '127.0.0.1' (this host only) or '0.0.0.0' (every interface), got {shown}."
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
    "SLOW_REQUEST_THRESHOLD": Option(1.0, "Seconds; slower requests log at WARNING and count in `slow_requests_total`.", _number(0, 86_400, unit=" of seconds"), "SLOW_REQUEST_THRESHOLD", "Logging"),
    "REDACT_KEYS": Option(list(DEFAULT_REDACT_KEYS), "Key names (matched case-insensitively as substrings) whose values are replaced by `[Filtered]` in logs and captured errors.", _string_list, None, "Logging"),
    "EXTRA_REDACT_KEYS": Option([], "More key names to redact, added to `REDACT_KEYS` (keeps the defaults).", _string_list, None, "Logging"),
    # --- metrics -------------------------------------------------------------------------
    "METRICS_ENABLED": Option(True, "Record Prometheus metrics.", _boolean, None, "Metrics"),
    "METRICS_NAMESPACE": Option("", "Prefix for every metric name, e.g. `shop` gives `shop_http_requests_total`.", _namespace, None, "Metrics", "django_observe.E023"),
    "METRICS_PATH": Option("metrics", "URL path of the metrics endpoint (no leading slash).", _url_path, None, "Metrics"),
    "METRICS_PATH_ALIASES": Option([], "More URL paths serving the same metrics, e.g. `['api/v1/metrics']`.", _path_list, None, "Metrics"),
    "METRICS_TOKENS": Option([], "Bearer tokens accepted by the metrics endpoint (`Authorization: Bearer <token>`). Env `METRICS_TOKEN` (comma-separated) when unset.", _string_list, "METRICS_TOKEN", "Metrics"),
    "METRICS_ALLOW_STAFF": Option(True, "A logged-in staff user may read the metrics endpoint.", _boolean, None, "Metrics"),
    "METRICS_ALLOWED_IPS": Option([], "Client addresses or networks (REMOTE_ADDR, e.g. `10.0.0.0/8`) allowed without a token.", _networks, None, "Metrics", "django_observe.E020"),
    "METRICS_PUBLIC": Option(False, "Serve metrics to anyone. A deploy check warns when this is on in production.", _boolean, None, "Metrics"),
    "METRICS_LATENCY_BUCKETS": Option([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0], "Histogram buckets (seconds) of `http_request_duration_seconds`.", _buckets, None, "Metrics", "django_observe.E021"),
    "METRICS_DATABASE": Option(True, "Count database queries, their duration and errors per alias.", _boolean, None, "Metrics"),
    "METRICS_CACHE": Option(True, "Count cache hits and misses per cache alias.", _boolean, None, "Metrics"),
    # --- health --------------------------------------------------------------------------
    "HEALTH_PATH": Option("health", "URL prefix of the health endpoints (`health`, `health/live`, `health/ready`, `health/detailed`).", _url_path, None, "Health"),
    "HEALTH_CHECKS": Option({}, "Extra checks: name -> import path of a django-health-check `HealthCheck`, or a dict with `check`, `critical`, `timeout` and options.", _checks_mapping, None, "Health"),
    "HEALTH_DISABLED_CHECKS": Option([], "Names of built-in checks to turn off, e.g. `['celery_beat']`.", _string_list, None, "Health"),
    "HEALTH_TOKENS": Option([], "Tokens accepted in the `X-Health-Token` header by `/health/detailed`. Env `HEALTH_TOKEN` (comma-separated) when unset.", _string_list, "HEALTH_TOKEN", "Health"),
    "HEALTH_CHECK_TIMEOUT": Option(2.0, "Seconds each check may take before it is reported as `timeout`.", _number(0.01, 300, unit=" of seconds"), None, "Health"),
    "HEALTH_DEADLINE": Option(5.0, "Seconds the whole probe may take; checks still running are reported as `timeout`.", _number(0.01, 300, unit=" of seconds"), None, "Health"),
    "HEALTH_CACHE_SECONDS": Option(2.0, "Seconds a check result is shared between probes (single-flight).", _number(0, 3600, unit=" of seconds"), None, "Health"),
    "HEALTH_FAILURE_THRESHOLD": Option(3, "Consecutive failed recorded runs before a check is DOWN and an incident opens (flap damping).", _number(1, 1000, integer=True), None, "Health"),
    "HEALTH_MIGRATIONS": Option("warn", "Unapplied migrations make the migrations check `warn` or `fail`.", _choice("warn", "fail"), None, "Health"),
    "HEALTH_DISK_WARN_PERCENT": Option(90.0, "Disk usage percent at which the disk check warns.", _number(0, 100), None, "Health"),
    "HEALTH_DISK_FAIL_PERCENT": Option(95.0, "Disk usage percent at which the disk check fails.", _number(0, 100), None, "Health"),
    "HEALTH_MEMORY_WARN_PERCENT": Option(90.0, "Memory usage percent at which the memory check warns.", _number(0, 100), None, "Health"),
    "HEALTH_MEMORY_FAIL_PERCENT": Option(97.0, "Memory usage percent at which the memory check fails.", _number(0, 100), None, "Health"),
    "HEALTH_HISTORY_DAYS": Option(30, "Days of raw runs and rollups kept.", _number(1, 36_500, integer=True), None, "Health"),
    # --- errors / sentry -----------------------------------------------------------------
    "ERRORS_ENABLED": Option(True, "Store captured errors in the local error tracker (admin: Errors).", _boolean, None, "Errors"),
    "ERRORS_DATABASE": Option("default", "Database alias the error tracker writes to.", _string, None, "Errors"),
    "ERRORS_SYNC": Option(False, "Store errors inline instead of on the writer thread (tests).", _boolean, "OBSERVE_ERRORS_SYNC", "Errors"),
    "ERRORS_QUEUE_SIZE": Option(10_000, "Captured errors waiting for the writer; more are dropped and counted.", _number(1, 10_000_000, integer=True), None, "Errors"),
    "ERRORS_EVENTS_PER_HOUR": Option(10, "Events stored per group per hour after the first (counts stay exact).", _number(0, 1_000_000, integer=True), None, "Errors"),
    "ERRORS_MAX_EVENT_BYTES": Option(65_536, "Size cap of one stored event's JSON.", _number(1024, 100_000_000, integer=True), None, "Errors"),
    "ERRORS_RETENTION_DAYS": Option(90, "`observe_prune` deletes events older than this.", _number(1, 36_500, integer=True), None, "Errors"),
    "ERRORS_MAX_EVENTS": Option(100_000, "`observe_prune` keeps at most this many events.", _number(1, 10**12, integer=True), None, "Errors"),
    "SENTRY_ENABLED": Option(True, "Initialise sentry-sdk at startup (with or without a DSN).", _boolean, None, "Sentry"),
    "SENTRY_DSN": Option("", "Sentry DSN; empty keeps events local.", _dsn, "SENTRY_DSN", "Sentry", "django_observe.E040"),
    "SENTRY_ENVIRONMENT": Option("", "Sentry environment; empty means `ENVIRONMENT`.", _string, "SENTRY_ENVIRONMENT", "Sentry"),
    "SENTRY_TRACES_SAMPLE_RATE": Option(0.0, "Share of requests traced (0.0-1.0).", _number(0, 1), "SENTRY_TRACES_SAMPLE_RATE", "Sentry"),
    "SENTRY_PROFILES_SAMPLE_RATE": Option(0.0, "Share of traced requests profiled (0.0-1.0).", _number(0, 1), "SENTRY_PROFILES_SAMPLE_RATE", "Sentry"),
    "SENTRY_SEND_DEFAULT_PII": Option(False, "Send user ids, IPs and cookies to Sentry (off: no PII).", _boolean, None, "Sentry"),
    "SENTRY_INTEGRATIONS": Option("auto", "`auto`: sentry-sdk's Django, Celery and logging integrations only when tracing or profiling is on (they cost ~0.7 ms per request); otherwise django-observe captures request errors and error log records itself (same events, no per-request cost). `full` always installs them, `lean` never.", _choice("auto", "full", "lean"), None, "Sentry"),
    "SENTRY_BEFORE_SEND": Option("", "Import path of your own `before_send(event, hint)`; it runs after our scrubbing, and returning None drops the event from Sentry AND the local store.", _dotted_path, None, "Sentry", "django_observe.E042"),
    # --- tracing (tracing.py) ------------------------------------------------------------
    "TRACE_IDS": Option(True, "While an OpenTelemetry span is active (or a Sentry transaction, with `SENTRY_TRACES_SAMPLE_RATE` > 0), log lines and captured errors carry its `trace_id` and `span_id` (hex), and the span gets the `request_id` attribute. Nothing is imported when neither is used.", _boolean, None, "Tracing"),
    # --- auth activity (metrics/auth.py) ---------------------------------------------------
    "AUTH_METRICS": Option(True, "Count logins (`user_logins_total{result}`), logouts and new users from django.contrib.auth's signals; nothing to add to your views.", _boolean, None, "Auth"),
    "AUTH_LOG_FAILED_LOGINS": Option(True, "Write one WARNING `login_failed` line per failed login, with the client `ip` when `LOG_CLIENT_IP` is on. The password is never read.", _boolean, None, "Auth"),
    "AUTH_LOG_USERNAME": Option("redact", "The username on the `login_failed` line: `redact` (`[Filtered]`) or `hash` (`hmac:` + 16 hex of an HMAC keyed with SECRET_KEY: one account always gives the same value, so repeated attempts show up without the name).", _choice("redact", "hash"), None, "Auth"),
    "ACTIVE_USERS_METRIC": Option(False, "Export the `active_users` gauge: users who logged in within `ACTIVE_USERS_WINDOW`, counted from `last_login` at scrape time (one query, kept 60 s), never per request.", _boolean, None, "Auth"),
    "ACTIVE_USERS_WINDOW": Option(86_400, "Seconds a login counts towards `active_users` (default 24 h).", _number(60, 31_536_000, unit=" of seconds", integer=True), None, "Auth"),
    # --- outbound calls (outbound.py) -------------------------------------------------------
    "OUTBOUND_HOOKS": Option([], "HTTP clients whose calls are timed and counted in `external_requests_total` & co: `requests`, `httpx` (sync and async). `observe.dependency()` works without them.", _choice_list("requests", "httpx"), None, "Outbound calls"),
    "OUTBOUND_SERVICES": Option({}, "Host (or `host:port`, or `*.domain`) -> the `service` label of calls the hooks see, e.g. `{'generativelanguage.googleapis.com': 'gemini'}`.", _string_mapping, None, "Outbound calls"),
    "OUTBOUND_UNMAPPED_SERVICE": Option("other", "The `service` label of hooked calls to hosts not in `OUTBOUND_SERVICES` (one value, so labels stay bounded); `''` leaves them uncounted.", _string, None, "Outbound calls"),
    "OUTBOUND_REQUEST_ID": Option(False, "Send the current request id in `REQUEST_ID_HEADER` on calls the hooks see (unless the call sets it), so the next service logs the same id. It goes to every host: leave it off when calls leave your network.", _boolean, None, "Outbound calls"),
    # --- Celery (celery/, health/celery.py) -------------------------------------------------
    "CELERY_METRICS": Option(True, "Record the `celery_*` task metrics in workers (and `celery_tasks_published_total` where tasks are sent), from Celery's signals; nothing to add to your tasks.", _boolean, None, "Celery"),
    "CELERY_TASK_DURATION_BUCKETS": Option([0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0], "Histogram buckets (seconds) of `celery_task_duration_seconds`.", _buckets, None, "Celery"),
    "CELERY_TASK_LOG": Option("all", "Task log lines: `all` (a `task_started` and a finish line per task), `finish` (the finish line only), `failures` (only retries, failures, revocations and rejections), `off`.", _choice("all", "finish", "failures", "off"), "OBSERVE_CELERY_TASK_LOG", "Celery"),
    "CELERY_EXPORTER_PORT": Option(0, "Port of the worker's own metrics endpoint (`/metrics`, same tokens and allowed IPs as the web's), for workers Prometheus cannot reach through the web's `PROMETHEUS_MULTIPROC_DIR`. 0: off.", _number(0, 65_535, integer=True), "OBSERVE_CELERY_EXPORTER_PORT", "Celery"),
    "CELERY_EXPORTER_ADDRESS": Option("127.0.0.1", "Address the worker's metrics endpoint listens on; `0.0.0.0` for every interface (a container's port mapping).", _listen_address, "OBSERVE_CELERY_EXPORTER_ADDRESS", "Celery"),
    "CELERY_PING_TIMEOUT": Option(1.0, "Seconds the `celery_workers` check waits for ping replies; the known workers usually answer in milliseconds.", _number(0.05, 60, unit=" of seconds"), None, "Celery"),
    "CELERY_WORKERS_REFRESH_SECONDS": Option(30.0, "Seconds between background rediscoveries of the workers and their queues (a broadcast that waits the whole `CELERY_PING_TIMEOUT`) for the `celery_workers` check.", _number(1, 3600, unit=" of seconds"), None, "Celery"),
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
            return float(raw) if isinstance(default, float) else int(raw)
        except ValueError:
            return raw
    if isinstance(default, list):
        return [item.strip() for item in raw.split(",") if item.strip()]
    return raw


def _user_dict() -> Any:
    return getattr(django_settings, "OBSERVE", {})


class Problem(NamedTuple):
    """One wrong OBSERVE value: the key (None for OBSERVE itself), a sentence with the fix, the check id."""

    key: str | None
    message: str
    check_id: str = "django_observe.E001"


def _raw_values(user: Mapping[str, Any]) -> dict[str, tuple[Any, bool]]:
    """key -> (value, from OBSERVE?) for every key set in OBSERVE or in its environment variable."""
    found: dict[str, tuple[Any, bool]] = {}
    for key, option in DEFAULTS.items():
        if key in user:
            found[key] = (user[key], True)
        else:
            value = _env_value(option)
            if value is not None:
                found[key] = (value, False)
    return found


def problems(user: Any = None) -> list[Problem]:
    """Every problem with OBSERVE (and the env vars it falls back to), each a sentence that says the fix."""
    if user is None:
        user = _user_dict()
    if not isinstance(user, Mapping):
        return [Problem(None, f"settings.OBSERVE must be a dict, got {_got(user)}. Use e.g. OBSERVE = {{}}.")]
    found = []
    for key, (value, from_observe) in _raw_values(user).items():
        option = DEFAULTS[key]
        message = option.validate(key, value)
        if message and not from_observe and option.env:
            message = f"Environment variable {option.env}: " + message.replace(f"OBSERVE['{key}']", f"the value for OBSERVE['{key}']")
        if message:
            found.append(Problem(key, message, option.check_id))
    bad = {problem.key for problem in found}
    merged = _merge(user, skip=bad)
    for what in ("DISK", "MEMORY"):
        warn, fail = f"HEALTH_{what}_WARN_PERCENT", f"HEALTH_{what}_FAIL_PERCENT"
        if merged[warn] > merged[fail]:
            found.append(Problem(warn, f"OBSERVE['{warn}'] must not be above OBSERVE['{fail}']."))
    return found


def unknown_keys(user: Any = None) -> list[tuple[str, str | None]]:
    """(unknown key, closest valid key or None) for every key of OBSERVE we do not know."""
    if user is None:
        user = _user_dict()
    if not isinstance(user, Mapping):
        return []
    return [
        (str(key), next(iter(difflib.get_close_matches(str(key), DEFAULTS, n=1)), None))
        for key in user
        if key not in DEFAULTS
    ]


@dataclasses.dataclass(frozen=True, slots=True)
class ObserveSettings:
    """The merged, valid OBSERVE settings (``get_settings().LOG_FORMAT``); one typed field per key of ``DEFAULTS``.

    Lists become tuples, ``LOG_FORMAT`` is lower case, ``LOG_LEVEL`` upper case, ``VERSION``
    and ``SENTRY_ENVIRONMENT`` are filled from their fallbacks, and ``REDACT_KEYS`` includes
    ``EXTRA_REDACT_KEYS`` (lower case). A test keeps these fields and ``DEFAULTS`` in step.
    """

    # identity
    SERVICE_NAME: str
    ENVIRONMENT: str
    VERSION: str
    # request ids
    REQUEST_ID_HEADER: str
    TRUST_REQUEST_ID: bool
    # logging
    CONFIGURE_LOGGING: bool
    LOG_FORMAT: str
    LOG_LEVEL: str
    LOG_FILE: str
    ACCESS_LOG: bool
    LOG_CLIENT_IP: bool
    SLOW_REQUEST_THRESHOLD: float
    REDACT_KEYS: tuple[str, ...]
    EXTRA_REDACT_KEYS: tuple[str, ...]
    # metrics
    METRICS_ENABLED: bool
    METRICS_NAMESPACE: str
    METRICS_PATH: str
    METRICS_PATH_ALIASES: tuple[str, ...]
    METRICS_TOKENS: tuple[str, ...]
    METRICS_ALLOW_STAFF: bool
    METRICS_ALLOWED_IPS: tuple[str, ...]
    METRICS_PUBLIC: bool
    METRICS_LATENCY_BUCKETS: tuple[float, ...]
    METRICS_DATABASE: bool
    METRICS_CACHE: bool
    # health
    HEALTH_PATH: str
    HEALTH_CHECKS: Mapping[str, Any]
    HEALTH_DISABLED_CHECKS: tuple[str, ...]
    HEALTH_TOKENS: tuple[str, ...]
    HEALTH_CHECK_TIMEOUT: float
    HEALTH_DEADLINE: float
    HEALTH_CACHE_SECONDS: float
    HEALTH_FAILURE_THRESHOLD: int
    HEALTH_MIGRATIONS: str
    HEALTH_DISK_WARN_PERCENT: float
    HEALTH_DISK_FAIL_PERCENT: float
    HEALTH_MEMORY_WARN_PERCENT: float
    HEALTH_MEMORY_FAIL_PERCENT: float
    HEALTH_HISTORY_DAYS: int
    # errors / sentry
    ERRORS_ENABLED: bool
    ERRORS_DATABASE: str
    ERRORS_SYNC: bool
    ERRORS_QUEUE_SIZE: int
    ERRORS_EVENTS_PER_HOUR: int
    ERRORS_MAX_EVENT_BYTES: int
    ERRORS_RETENTION_DAYS: int
    ERRORS_MAX_EVENTS: int
    SENTRY_ENABLED: bool
    SENTRY_DSN: str
    SENTRY_ENVIRONMENT: str
    SENTRY_TRACES_SAMPLE_RATE: float
    SENTRY_PROFILES_SAMPLE_RATE: float
    SENTRY_SEND_DEFAULT_PII: bool
    SENTRY_INTEGRATIONS: str
    SENTRY_BEFORE_SEND: str
    # tracing
    TRACE_IDS: bool
    # auth activity
    AUTH_METRICS: bool
    AUTH_LOG_FAILED_LOGINS: bool
    AUTH_LOG_USERNAME: str
    ACTIVE_USERS_METRIC: bool
    ACTIVE_USERS_WINDOW: int
    # outbound calls
    OUTBOUND_HOOKS: tuple[str, ...]
    OUTBOUND_SERVICES: Mapping[str, str]
    OUTBOUND_UNMAPPED_SERVICE: str
    OUTBOUND_REQUEST_ID: bool
    # celery
    CELERY_METRICS: bool
    CELERY_TASK_DURATION_BUCKETS: tuple[float, ...]
    CELERY_TASK_LOG: str
    CELERY_EXPORTER_PORT: int
    CELERY_EXPORTER_ADDRESS: str
    CELERY_PING_TIMEOUT: float
    CELERY_WORKERS_REFRESH_SECONDS: float


_FIELD_TYPES = {field.name: field.type for field in dataclasses.fields(ObserveSettings)}


def _typed(key: str, value: Any) -> Any:
    """``value`` in the field's type: lists as tuples, whole numbers as floats where a float is declared."""
    if isinstance(value, list):
        value = tuple(value)
    declared = _FIELD_TYPES.get(key)
    if declared == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if declared == "tuple[float, ...]":
        return tuple(float(item) for item in value)
    return value


def _merge(user: Mapping[str, Any], skip: set[str | None] | frozenset[str | None] = frozenset()) -> dict[str, Any]:
    """Every key's value (OBSERVE, else env, else default); keys in ``skip`` (invalid ones) take their default."""
    raw = _raw_values(user)
    values: dict[str, Any] = {}
    for key, option in DEFAULTS.items():
        value = raw[key][0] if key in raw and key not in skip else option.default
        values[key] = _typed(key, value)
    values["LOG_FORMAT"] = str(values["LOG_FORMAT"]).lower()
    values["LOG_LEVEL"] = str(values["LOG_LEVEL"]).upper()
    values["VERSION"] = values["VERSION"] or os.environ.get("RELEASE_VERSION", "") or "unknown"
    values["SENTRY_ENVIRONMENT"] = values["SENTRY_ENVIRONMENT"] or values["ENVIRONMENT"]
    values["REDACT_KEYS"] = tuple(k.lower() for k in (*values["REDACT_KEYS"], *values["EXTRA_REDACT_KEYS"]))
    return values


@functools.cache
def _load() -> tuple[ObserveSettings, tuple[Problem, ...]]:
    raw = _user_dict()
    found = tuple(problems(raw))
    user = raw if isinstance(raw, Mapping) else {}
    bad = {problem.key for problem in found}
    return ObserveSettings(**_merge(user, skip=bad)), found


def get_settings() -> ObserveSettings:
    """The merged settings, cached until ``OBSERVE`` changes. Never raises: an invalid value is
    replaced by its default (``manage.py check`` reports it; ``report_invalid()`` logs it)."""
    return _load()[0]


def _clear_cache() -> None:
    _load.cache_clear()


get_settings.cache_clear = _clear_cache  # type: ignore[attr-defined]  # tests and old callers: get_settings.cache_clear()

_reported: set[str] = set()


def report_invalid() -> list[Problem]:
    """One ERROR line per invalid key (once per process), counted in ``observe_internal_errors_total{component="settings"}``.

    Called from ``ready()`` and after OBSERVE changes: servers run no system checks, so this is
    how a wrong value running in production gets noticed.
    """
    found = list(_load()[1])
    for problem in found:
        key = problem.key or "OBSERVE"
        if key in _reported:
            continue
        _reported.add(key)
        guard.report(
            "settings",
            message=f"Invalid setting {key}, so its default is used: {problem.message} ({problem.check_id})",
            exc_info=False,
            level=logging.ERROR,
            once=False,
        )
    return found


# --- the one reset hook -------------------------------------------------------------------

_Callback = TypeVar("_Callback", bound=Callable[[], None])
_listeners: list[tuple[tuple[str, ...], Callable[[], None]]] = []


def on_change(*settings: str) -> Callable[[_Callback], _Callback]:
    """Decorator: run the callback when one of these Django settings changes (``override_settings``).

    ``@on_change()`` means ``@on_change("OBSERVE")``; a name ending in ``*`` is a prefix
    (``"CELERY_*"``). The settings accessor itself is always reset first.
    """
    names = settings or ("OBSERVE",)

    def register(callback: _Callback) -> _Callback:
        _listeners.append((names, callback))
        return callback

    return register


def _matches(setting: str, names: tuple[str, ...]) -> bool:
    return any(setting == name or (name.endswith("*") and setting.startswith(name[:-1])) for name in names)


@receiver(setting_changed)  # from django.core.signals: importing django.test here would load the test runner
def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "OBSERVE":
        _load.cache_clear()
        _reported.clear()
    for names, callback in list(_listeners):
        if _matches(setting, names):
            callback()


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
