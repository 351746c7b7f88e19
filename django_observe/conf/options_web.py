"""OBSERVE keys of the web side: identity, request ids, logging and metrics (tables that ``options.DEFAULTS`` joins).

Add a key to the table of its section; ``DEFAULTS`` keeps the tables' order, which is the order of docs/settings.md
and of ``ObserveSettings``' fields.
"""

from __future__ import annotations

from .option import Option
from .validators import boolean, buckets, choice, header_name, namespace, networks, number, path_list, string, string_list, url_path

# The union of sentry-sdk's DEFAULT_DENYLIST and Django's SafeExceptionReporterFilter pattern
# (API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE), plus common personal secrets. Words of
# four characters or fewer match whole words of a key only (`pin` hides `user_pin`, not `shipping`).
DEFAULT_REDACT_KEYS = (
    # longer words: anywhere in the key
    "password", "passwd", "passphrase", "secret", "token", "authorization", "authentication", "credential",
    "cookie", "session", "csrf", "xsrf", "api_key", "apikey", "access_key", "private_key", "privatekey",
    "signature", "mysql_pwd", "connect.sid", "phpsessid", "symfony", "forwarded_for", "credit_card", "card_number",
    # short words: whole words of the key
    "auth", "pass", "pwd", "api", "key", "pin", "ssn", "dsn", "sid", "otp", "cvv", "jwt",
)  # fmt: skip

# Identity: the labels every log line, metric and error carries.
IDENTITY_OPTIONS: dict[str, Option] = {
    "SERVICE_NAME": Option("django", "Name of this service on every log line and metric (`service`).", string, "SERVICE_NAME", "Identity"),
    "ENVIRONMENT": Option(
        "production", "Deployment environment (`environment` on logs, metrics, errors, Sentry).", string, "ENVIRONMENT", "Identity"
    ),
    "VERSION": Option(
        "",
        "Release of the running code (`version` on logs, errors, Sentry). Empty means the `RELEASE_VERSION` env var, else `unknown`.",
        string,
        "RELEASE_VERSION",
        "Identity",
    ),
}

# Request ids (context.py, middleware.py).
REQUEST_IDS_OPTIONS: dict[str, Option] = {
    "REQUEST_ID_HEADER": Option(
        "X-Request-ID", "Header read for an incoming request id and written on every response.", header_name, None, "Request ids"
    ),
    "TRUST_REQUEST_ID": Option(
        True,
        "Keep an incoming request id when it matches `^[A-Za-z0-9._:-]{1,128}$`. False always makes a new one.",
        boolean,
        None,
        "Request ids",
    ),
}

# Logging (logging/).
LOGGING_OPTIONS: dict[str, Option] = {
    "CONFIGURE_LOGGING": Option(
        True,
        "Configure structlog and stdlib logging at startup. Set False when `LOGGING = django_observe.logging.logging_config()` "
        "or your own config is used.",
        boolean,
        None,
        "Logging",
    ),
    "LOG_FORMAT": Option(
        "json",
        "`json` (one JSON object per line) or `console` (human-readable, one line per event); `text` means `console`. "
        "Unset, it is `console` when `ENVIRONMENT` is `development`, else `json`.",
        choice("json", "console", "text"),
        "LOG_FORMAT",
        "Logging",
    ),
    "LOG_LEVEL": Option(
        "INFO",
        "Level of the root logger: DEBUG, INFO, WARNING, ERROR or CRITICAL.",
        choice("debug", "info", "warning", "error", "critical"),
        "LOG_LEVEL",
        "Logging",
    ),
    "LOG_FILE": Option("", "Write log lines to this file (reopened when rotated) instead of stderr.", string, "LOG_FILE", "Logging"),
    "ACCESS_LOG": Option(True, "Write one `request_finished` / `request_failed` line per request.", boolean, None, "Logging"),
    "LOG_CLIENT_IP": Option(
        False, "Add the client `ip` (REMOTE_ADDR) to the access line. Off by default for privacy.", boolean, None, "Logging"
    ),
    "SLOW_REQUEST_THRESHOLD": Option(
        1.0,
        "Seconds; slower requests log at WARNING and count in `slow_requests_total`.",
        number(0, 86_400, unit=" of seconds"),
        "SLOW_REQUEST_THRESHOLD",
        "Logging",
    ),
    "REDACT_KEYS": Option(
        list(DEFAULT_REDACT_KEYS),
        "Words naming secrets: a key containing one (words of 4 characters or fewer: as a whole word of the key, "
        "so `pin` hides `user_pin` but not `shipping`) has its value replaced by `[Filtered]` at any depth, "
        "and `key=value` pairs and URL credentials inside strings are filtered, "
        "in logs, captured errors, Sentry events and health messages alike (docs/security.md).",
        string_list,
        None,
        "Logging",
    ),
    "EXTRA_REDACT_KEYS": Option([], "More key names to redact, added to `REDACT_KEYS` (keeps the defaults).", string_list, None, "Logging"),
    "LOG_BUFFER_SECONDS": Option(
        0.5,
        "Seconds a log line may wait to be written with others (one write per 32 lines; WARNING and worse lines, "
        "exit and fork write everything at once). `0` writes every line when it is logged. A process killed with "
        "SIGKILL loses at most this much of its last lines (docs/logging.md).",
        number(0, 60, unit=" of seconds"),
        "LOG_BUFFER_SECONDS",
        "Logging",
    ),
}

# Metrics (metrics/).
METRICS_OPTIONS: dict[str, Option] = {
    "METRICS_ENABLED": Option(True, "Record Prometheus metrics.", boolean, None, "Metrics"),
    "METRICS_NAMESPACE": Option(
        "", "Prefix for every metric name, e.g. `shop` gives `shop_http_requests_total`.", namespace, None, "Metrics", "django_observe.E023"
    ),
    "METRICS_PATH": Option("metrics", "URL path of the metrics endpoint (no leading slash).", url_path, None, "Metrics"),
    "METRICS_PATH_ALIASES": Option([], "More URL paths serving the same metrics, e.g. `['api/v1/metrics']`.", path_list, None, "Metrics"),
    "METRICS_TOKENS": Option(
        [],
        "Bearer tokens accepted by the metrics endpoint (`Authorization: Bearer <token>`). "
        "Env `METRICS_TOKEN` (comma-separated) when unset.",
        string_list,
        "METRICS_TOKEN",
        "Metrics",
    ),
    "METRICS_ALLOW_STAFF": Option(True, "A logged-in staff user may read the metrics endpoint.", boolean, None, "Metrics"),
    "METRICS_ALLOWED_IPS": Option(
        [],
        "Client addresses or networks (REMOTE_ADDR, e.g. `10.0.0.0/8`) allowed without a token.",
        networks,
        None,
        "Metrics",
        "django_observe.E020",
    ),
    "METRICS_PUBLIC": Option(
        False, "Serve metrics to anyone. A deploy check warns when this is on in production.", boolean, None, "Metrics"
    ),
    "METRICS_LATENCY_BUCKETS": Option(
        [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
        "Histogram buckets (seconds) of `http_request_duration_seconds`.",
        buckets,
        None,
        "Metrics",
        "django_observe.E021",
    ),
    "METRICS_DATABASE": Option(True, "Count database queries, their duration and errors per alias.", boolean, None, "Metrics"),
    "METRICS_CACHE": Option(True, "Count cache hits and misses per cache alias.", boolean, None, "Metrics"),
    "METRICS_SHARED_COMMANDS": Option(
        ["runserver", "runserver_plus", "runworker", "db_worker", "rqworker", "qcluster", "process_tasks"],
        "`manage.py` commands whose metrics join `PROMETHEUS_MULTIPROC_DIR` (servers and workers started with `manage.py`). "
        "Every other command (`migrate`, `observe_check`, ...) keeps its metrics in its own process, so it never adds series or "
        "counts to the server's scrape.",
        string_list,
        None,
        "Metrics",
    ),
}

# Seed-shaped log fields (docs/seeds.md); after the other tables in DEFAULTS, where they were added.
SEED_LOGGING_OPTIONS: dict[str, Option] = {
    "LOG_CALLSITE": Option(
        False,
        "Add `module`, `function` and `line` of the logging call to every line that has a log record (not the access line). Off: no cost.",
        boolean,
        None,
        "Logging",
    ),
    "ACCESS_LOG_PATH_AND_STATUS": Option(
        False,
        "Also write `path` (no query string) and `status_code` (= `code`) on the access line, "
        "for queries such as LogQL `| json | status_code >= 400`.",
        boolean,
        None,
        "Logging",
    ),
}
