"""OBSERVE keys of the services: health, errors, Sentry, tracing, auth, outbound calls and Celery (tables that ``options.DEFAULTS`` joins).

Add a key to the table of its section; ``DEFAULTS`` keeps the tables' order, which is the order of docs/settings.md
and of ``ObserveSettings``' fields.
"""

from __future__ import annotations

from .option import Option
from .validators import (
    boolean,
    buckets,
    checks_mapping,
    choice,
    choice_list,
    dotted_path,
    dsn,
    listen_address,
    number,
    string,
    string_list,
    string_mapping,
    url_path,
)

# Health checks and their history (health/).
HEALTH_OPTIONS: dict[str, Option] = {
    "HEALTH_PATH": Option(
        "health",
        "URL prefix of the health endpoints (`health`, `health/live`, `health/ready`, `health/detailed`).",
        url_path,
        None,
        "Health",
    ),
    "HEALTH_CHECKS": Option(
        {},
        "Extra checks: name -> import path of a django-health-check `HealthCheck`, or a dict with `check`, `critical`, `timeout` "
        "and options.",
        checks_mapping,
        None,
        "Health",
    ),
    "HEALTH_DISABLED_CHECKS": Option([], "Names of built-in checks to turn off, e.g. `['celery_beat']`.", string_list, None, "Health"),
    "HEALTH_TOKENS": Option(
        [],
        "Tokens accepted in the `X-Health-Token` header by `/health/detailed`. Env `HEALTH_TOKEN` (comma-separated) when unset.",
        string_list,
        "HEALTH_TOKEN",
        "Health",
    ),
    "HEALTH_CHECK_TIMEOUT": Option(
        2.0, "Seconds each check may take before it is reported as `timeout`.", number(0.01, 300, unit=" of seconds"), None, "Health"
    ),
    "HEALTH_DEADLINE": Option(
        5.0,
        "Seconds the whole probe may take; checks still running are reported as `timeout`.",
        number(0.01, 300, unit=" of seconds"),
        None,
        "Health",
    ),
    "HEALTH_CACHE_SECONDS": Option(
        2.0, "Seconds a check result is shared between probes (single-flight).", number(0, 3600, unit=" of seconds"), None, "Health"
    ),
    "HEALTH_FAILURE_THRESHOLD": Option(
        3,
        "Consecutive failed recorded runs before a check is DOWN and an incident opens (flap damping).",
        number(1, 1000, integer=True),
        None,
        "Health",
    ),
    "HEALTH_MIGRATIONS": Option(
        "warn", "Unapplied migrations make the migrations check `warn` or `fail`.", choice("warn", "fail"), None, "Health"
    ),
    "HEALTH_DISK_WARN_PERCENT": Option(90.0, "Disk usage percent at which the disk check warns.", number(0, 100), None, "Health"),
    "HEALTH_DISK_FAIL_PERCENT": Option(95.0, "Disk usage percent at which the disk check fails.", number(0, 100), None, "Health"),
    "HEALTH_MEMORY_WARN_PERCENT": Option(90.0, "Memory usage percent at which the memory check warns.", number(0, 100), None, "Health"),
    "HEALTH_MEMORY_FAIL_PERCENT": Option(97.0, "Memory usage percent at which the memory check fails.", number(0, 100), None, "Health"),
    "HEALTH_HISTORY_DAYS": Option(30, "Days of raw runs and rollups kept.", number(1, 36_500, integer=True), None, "Health"),
}

# The local error tracker (errors/).
ERRORS_OPTIONS: dict[str, Option] = {
    "ERRORS_ENABLED": Option(True, "Store captured errors in the local error tracker (admin: Errors).", boolean, None, "Errors"),
    "ERRORS_DATABASE": Option("default", "Database alias the error tracker writes to.", string, None, "Errors"),
    "ERRORS_SYNC": Option(False, "Store errors inline instead of on the writer thread (tests).", boolean, "OBSERVE_ERRORS_SYNC", "Errors"),
    "ERRORS_QUEUE_SIZE": Option(
        10_000, "Captured errors waiting for the writer; more are dropped and counted.", number(1, 10_000_000, integer=True), None, "Errors"
    ),
    "ERRORS_EVENTS_PER_HOUR": Option(
        10, "Events stored per group per hour after the first (counts stay exact).", number(0, 1_000_000, integer=True), None, "Errors"
    ),
    "ERRORS_MAX_EVENT_BYTES": Option(
        65_536, "Size cap of one stored event's JSON.", number(1024, 100_000_000, integer=True), None, "Errors"
    ),
    "ERRORS_RETENTION_DAYS": Option(90, "`observe_prune` deletes events older than this.", number(1, 36_500, integer=True), None, "Errors"),
    "ERRORS_MAX_EVENTS": Option(
        100_000, "`observe_prune` keeps at most this many events.", number(1, 10**12, integer=True), None, "Errors"
    ),
    "ERRORS_NEW_GROUPS_PER_HOUR": Option(
        500,
        "New error groups created per hour, all processes together. Beyond it, events of further new groups are counted in one "
        'group, *New error groups over the hourly limit*, and in `observe_internal_errors_total{component="errors_overflow"}`: '
        "input can never grow the error tables without bound.",
        number(1, 10_000_000, integer=True),
        None,
        "Errors",
    ),
    "ERRORS_CAPTURE_COMMANDS": Option(
        False,
        "Store the exception that crashes a `manage.py` command in the local error tracker. Off: "
        "a failed `migrate` or a typo on the command line never becomes an error group of the site (it still goes to Sentry when "
        "a DSN is set).",
        boolean,
        None,
        "Errors",
    ),
}

# Sentry (errors/capture.py).
SENTRY_OPTIONS: dict[str, Option] = {
    "SENTRY_ENABLED": Option(
        True,
        "Initialise sentry-sdk at startup (with or without a DSN). False (env `SENTRY_ENABLED=false`) sends nothing to Sentry "
        "even with a DSN; errors are still stored locally.",
        boolean,
        "SENTRY_ENABLED",
        "Sentry",
    ),
    "SENTRY_DSN": Option("", "Sentry DSN; empty keeps events local.", dsn, "SENTRY_DSN", "Sentry", "django_observe.E040"),
    "SENTRY_ENVIRONMENT": Option("", "Sentry environment; empty means `ENVIRONMENT`.", string, "SENTRY_ENVIRONMENT", "Sentry"),
    "SENTRY_TRACES_SAMPLE_RATE": Option(0.0, "Share of requests traced (0.0-1.0).", number(0, 1), "SENTRY_TRACES_SAMPLE_RATE", "Sentry"),
    "SENTRY_PROFILES_SAMPLE_RATE": Option(
        0.0, "Share of traced requests profiled (0.0-1.0).", number(0, 1), "SENTRY_PROFILES_SAMPLE_RATE", "Sentry"
    ),
    "SENTRY_SEND_DEFAULT_PII": Option(False, "Send user ids, IPs and cookies to Sentry (off: no PII).", boolean, None, "Sentry"),
    "SENTRY_INTEGRATIONS": Option(
        "auto",
        "`auto`: sentry-sdk's Django, Celery and logging integrations only when tracing or profiling is on (they cost ~0.7 ms "
        "per request); otherwise django-observe captures request errors and error log records itself (same events, no "
        "per-request cost). `full` always installs them, `lean` never.",
        choice("auto", "full", "lean"),
        None,
        "Sentry",
    ),
    "SENTRY_BEFORE_SEND": Option(
        "",
        "Import path of your own `before_send(event, hint)`; it runs after our scrubbing, and returning None drops the event "
        "from Sentry AND the local store.",
        dotted_path,
        None,
        "Sentry",
        "django_observe.E042",
    ),
}

# Trace ids (tracing.py).
TRACING_OPTIONS: dict[str, Option] = {
    "TRACE_IDS": Option(
        True,
        "While an OpenTelemetry span is active (or a Sentry transaction, with `SENTRY_TRACES_SAMPLE_RATE` > 0), log lines and "
        "captured errors carry its `trace_id` and `span_id` (hex), and the span gets the `request_id` attribute. "
        "Nothing is imported when neither is used.",
        boolean,
        None,
        "Tracing",
    ),
}

# Auth activity (metrics/auth.py).
AUTH_OPTIONS: dict[str, Option] = {
    "AUTH_METRICS": Option(
        True,
        "Count logins (`user_logins_total{result}`), logouts and new users from django.contrib.auth's signals; "
        "nothing to add to your views.",
        boolean,
        None,
        "Auth",
    ),
    "AUTH_LOG_FAILED_LOGINS": Option(
        True,
        "Write one WARNING `login_failed` line per failed login, with the client `ip` when `LOG_CLIENT_IP` is on. "
        "The password is never read.",
        boolean,
        None,
        "Auth",
    ),
    "AUTH_LOG_USERNAME": Option(
        "redact",
        "The username on the `login_failed` line: `redact` (`[Filtered]`) or `hash` (`hmac:` + 16 hex of an HMAC keyed with "
        "SECRET_KEY: one account always gives the same value, so repeated attempts show up without the name).",
        choice("redact", "hash"),
        None,
        "Auth",
    ),
    "ACTIVE_USERS_METRIC": Option(
        False,
        "Export the `active_users` gauge: users who logged in within `ACTIVE_USERS_WINDOW`, counted from `last_login` at scrape "
        "time (one query, kept 60 s), never per request.",
        boolean,
        None,
        "Auth",
    ),
    "ACTIVE_USERS_WINDOW": Option(
        86_400,
        "Seconds a login counts towards `active_users` (default 24 h).",
        number(60, 31_536_000, unit=" of seconds", integer=True),
        None,
        "Auth",
    ),
}

# Outbound calls (outbound.py).
OUTBOUND_OPTIONS: dict[str, Option] = {
    "OUTBOUND_HOOKS": Option(
        [],
        "HTTP clients whose calls are timed and counted in `external_requests_total` & co: `requests`, `httpx` (sync and async). "
        "`observe.dependency()` works without them.",
        choice_list("requests", "httpx"),
        None,
        "Outbound calls",
    ),
    "OUTBOUND_SERVICES": Option(
        {},
        "Host (or `host:port`, or `*.domain`) -> the `service` label of calls the hooks see, e.g. "
        "`{'generativelanguage.googleapis.com': 'gemini'}`.",
        string_mapping,
        None,
        "Outbound calls",
    ),
    "OUTBOUND_UNMAPPED_SERVICE": Option(
        "other",
        "The `service` label of hooked calls to hosts not in `OUTBOUND_SERVICES` (one value, so labels stay bounded); "
        "`''` leaves them uncounted.",
        string,
        None,
        "Outbound calls",
    ),
    "OUTBOUND_REQUEST_ID": Option(
        False,
        "Send the current request id in `REQUEST_ID_HEADER` on calls the hooks see (unless the call sets it), so the next "
        "service logs the same id. It goes to every host: leave it off when calls leave your network.",
        boolean,
        None,
        "Outbound calls",
    ),
}

# Seed-shaped endpoints (docs/seeds.md); after the other tables in DEFAULTS, where they were added.
SEED_HEALTH_OPTIONS: dict[str, Option] = {
    "HEALTH_ROOT_ALIASES": Option(
        False, "Also answer `/live` and `/ready` (at the site root) like `/health/live` and `/health/ready`.", boolean, None, "Health"
    ),
    "HEALTH_DEPENDENCY_WORDS": Option(
        False,
        "`/health` adds one word per configured dependency: `database`, `redis`, `cache`, `celery` (`connected`/`disconnected`), "
        "`storage` (`accessible`/`inaccessible`).",
        boolean,
        None,
        "Health",
    ),
}

# Celery (celery/, health/celery.py).
CELERY_OPTIONS: dict[str, Option] = {
    "CELERY_METRICS": Option(
        True,
        "Record the `celery_*` task metrics in workers (and `celery_tasks_published_total` where tasks are sent), from Celery's "
        "signals; nothing to add to your tasks.",
        boolean,
        None,
        "Celery",
    ),
    "CELERY_TASK_DURATION_BUCKETS": Option(
        [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0],
        "Histogram buckets (seconds) of `celery_task_duration_seconds`.",
        buckets,
        None,
        "Celery",
    ),
    "CELERY_TASK_LOG": Option(
        "all",
        "Task log lines: `all` (a `task_started` and a finish line per task), `finish` (the finish line only), `failures` (only "
        "retries, failures, revocations and rejections), `off`.",
        choice("all", "finish", "failures", "off"),
        "OBSERVE_CELERY_TASK_LOG",
        "Celery",
    ),
    "CELERY_EXPORTER_PORT": Option(
        0,
        "Port of the worker's own metrics endpoint (`/metrics`, same tokens and allowed IPs as the web's), for workers "
        "Prometheus cannot reach through the web's `PROMETHEUS_MULTIPROC_DIR`. 0: off.",
        number(0, 65_535, integer=True),
        "OBSERVE_CELERY_EXPORTER_PORT",
        "Celery",
    ),
    "CELERY_EXPORTER_ADDRESS": Option(
        "127.0.0.1",
        "Address the worker's metrics endpoint listens on; `0.0.0.0` for every interface (a container's port mapping).",
        listen_address,
        "OBSERVE_CELERY_EXPORTER_ADDRESS",
        "Celery",
    ),
    "CELERY_PING_TIMEOUT": Option(
        1.0,
        "Seconds the `celery_workers` check waits for ping replies; the known workers usually answer in milliseconds.",
        number(0.05, 60, unit=" of seconds"),
        None,
        "Celery",
    ),
    "CELERY_WORKERS_REFRESH_SECONDS": Option(
        30.0,
        "Seconds between background rediscoveries of the workers and their queues (a broadcast that waits the whole "
        "`CELERY_PING_TIMEOUT`) for the `celery_workers` check.",
        number(1, 3600, unit=" of seconds"),
        None,
        "Celery",
    ),
}
