"""Every system check id of django-observe: what it means and the fix, written once.

``checks.py`` takes each hint from here; docs/checks.md is generated from here. Ids by tens per
topic: 00x settings, 01x middleware, 02x metrics, 03x health, 04x errors. Ids never change and are
never reused. This module imports nothing, so the page can be generated without Django set up.
"""

from __future__ import annotations

# Every check id, with what it means and the fix: docs/checks.md is generated from this
# (`python -m django_observe.check_ids > docs/checks.md`) and a test fails when an id used in
# the code is missing here or the page is stale.
CHECK_IDS: dict[str, tuple[str, str]] = {
    "django_observe.E001": (
        "A key of OBSERVE (or the environment variable it falls back to) has a wrong type or value; "
        "until fixed, servers use the key's default and log one ERROR line.",
        "Write the value the message asks for, or remove the key to get the default. docs/settings.md lists every key.",
    ),
    "django_observe.E002": (
        "OBSERVE['LOG_FILE'] (or env LOG_FILE) is in a directory that does not exist or cannot be written: log lines go to stderr instead.",
        "Create the directory (writable by the server's user) or point LOG_FILE at an existing one.",
    ),
    "django_observe.W001": (
        "OBSERVE has a key django-observe does not know, usually a typo; it has no effect.",
        "Rename it to the suggested key.",
    ),
    "django_observe.W010": (
        "ObserveMiddleware is not in MIDDLEWARE: no request ids, access log or request metrics.",
        "Add 'django_observe.middleware.ObserveMiddleware' as the first entry of MIDDLEWARE.",
    ),
    "django_observe.W011": (
        "ObserveMiddleware runs after middleware that can redirect, refuse or log before it.",
        "Move 'django_observe.middleware.ObserveMiddleware' to the first entry of MIDDLEWARE.",
    ),
    # --- metrics (02x) ---
    "django_observe.E020": (
        "An entry of OBSERVE['METRICS_ALLOWED_IPS'] is not an IP address or network.",
        "Write addresses or CIDR networks, e.g. ['10.0.0.0/8', '127.0.0.1'].",
    ),
    "django_observe.E021": (
        "OBSERVE['METRICS_LATENCY_BUCKETS'] is not a non-empty, increasing list of numbers.",
        "Use e.g. [0.01, 0.05, 0.1, 0.5, 1, 5].",
    ),
    "django_observe.E022": (
        "PROMETHEUS_MULTIPROC_DIR is set but is not a writable directory: metrics cannot be recorded.",
        'Create it (empty, owned by the server\'s user) before the server starts, e.g. mkdir -p "$PROMETHEUS_MULTIPROC_DIR".',
    ),
    "django_observe.E023": (
        "OBSERVE['METRICS_NAMESPACE'] is not a valid Prometheus name prefix.",
        "Use letters, digits and underscores, starting with a letter, e.g. 'shop'.",
    ),
    "django_observe.W020": (
        "(deploy) The metrics endpoint is public (METRICS_PUBLIC) outside development.",
        "Remove METRICS_PUBLIC, set OBSERVE['METRICS_TOKENS'] (or env METRICS_TOKEN) and put the token in Prometheus' scrape "
        "config (authorization: credentials).",
    ),
    "django_observe.W021": (
        "Several worker processes are configured but PROMETHEUS_MULTIPROC_DIR is not set: each scrape shows one worker's counts.",
        "Set PROMETHEUS_MULTIPROC_DIR to an empty directory and add 'from django_observe.gunicorn import *' to gunicorn.conf.py "
        "(docs/deployment.md).",
    ),
    "django_observe.W022": (
        "(deploy) Metrics are on but nothing lets Prometheus read them: no token, no allowed IP, not public.",
        "Set OBSERVE['METRICS_TOKENS'] (or env METRICS_TOKEN) or OBSERVE['METRICS_ALLOWED_IPS'].",
    ),
    "django_observe.W023": (
        "OBSERVE['METRICS_PATH'] (or an alias) is also a health probe path: the probe answers and metrics are unreachable there.",
        "Give metrics and health different paths, e.g. METRICS_PATH 'metrics' and HEALTH_PATH 'health'.",
    ),
    "django_observe.W024": (
        "(deploy) An entry of OBSERVE['METRICS_TOKENS'] is empty or shorter than 16 characters: "
        "empty tokens open nothing, short ones are guessable.",
        "Use long random tokens, e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'.",
    ),
    # --- health (03x) ---
    "django_observe.E030": (
        "An entry of OBSERVE['HEALTH_CHECKS'] cannot be loaded (bad import path, not a HealthCheck, or an option the check does "
        "not take); the probes report it as failing.",
        "Point it at a django-health-check HealthCheck subclass, e.g. {'search': "
        "'myproject.health.SearchCheck'}, and pass only options the check takes.",
    ),
    "django_observe.E031": (
        "Two health checks share a name (or differ only in case): history, metrics and the JSON answers would mix them.",
        "Rename one, or add the built-in's name to OBSERVE['HEALTH_DISABLED_CHECKS'] to replace it.",
    ),
    "django_observe.E032": (
        "A health check's 'critical' is not True/False or its 'timeout' is not a positive number of seconds.",
        "Use e.g. {'search': {'check': '...', 'critical': False, 'timeout': 1.5}}.",
    ),
    "django_observe.W033": (
        "A health check's timeout is longer than OBSERVE['HEALTH_DEADLINE']: it is always cut off by the overall deadline.",
        "Lower the check's timeout or raise HEALTH_DEADLINE.",
    ),
    "django_observe.W034": (
        "A health probe path is also a URL of your site (e.g. HEALTH_PATH 'admin'): "
        "ObserveMiddleware answers the probe first, so that page is unreachable.",
        "Choose a HEALTH_PATH no view of your site uses, e.g. 'health'.",
    ),
    "django_observe.W035": (
        "OBSERVE['HEALTH_DISABLED_CHECKS'] names a check that does not exist: nothing is disabled by that entry.",
        "Use the names shown by `manage.py observe_check`, e.g. 'celery_beat'.",
    ),
    "django_observe.W037": (
        "A setting asks for a health check whose client library is not installed (REDIS_URL without redis, CELERY_BROKER_URL "
        "without celery): that check is left out.",
        "Install the extra, e.g. pip install 'django-observe[redis]' or 'django-observe[celery]', or remove the setting.",
    ),
    "django_observe.W036": (
        "(deploy) An entry of OBSERVE['HEALTH_TOKENS'] is empty or shorter than 16 characters: "
        "empty tokens open nothing, short ones are guessable.",
        "Use long random tokens, e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'.",
    ),
    # --- errors / sentry (04x) ---
    "django_observe.E040": (
        "OBSERVE['SENTRY_DSN'] (or env SENTRY_DSN) is not a valid Sentry DSN: nothing would be sent to Sentry.",
        "Copy the DSN from your Sentry project's settings (Client Keys), e.g. "
        "https://<key>@o0.ingest.sentry.io/<project>, or leave it empty to keep errors local.",
    ),
    "django_observe.E041": (
        "OBSERVE['ERRORS_DATABASE'] names a database alias that is not in DATABASES: captured errors would be dropped.",
        "Use an alias from DATABASES (usually 'default').",
    ),
    "django_observe.E042": (
        "OBSERVE['SENTRY_BEFORE_SEND'] cannot be imported or is not callable.",
        "Give the dotted path of a function before_send(event, hint), e.g. 'myproject.sentry.before_send'.",
    ),
    "django_observe.W040": (
        "(deploy) OBSERVE['ERRORS_SYNC'] is on: errors are written inside the failing request's transaction, slower, and lost "
        "when ATOMIC_REQUESTS rolls it back.",
        "Remove ERRORS_SYNC outside tests; the writer thread stores errors on its own connection.",
    ),
}


def render_reference() -> str:
    """docs/checks.md, generated from CHECK_IDS."""
    lines = [
        "# System checks",
        "",
        "<!-- Generated by `python -m django_observe.check_ids > docs/checks.md`; do not edit by hand. -->",
        "",
        "`python manage.py check` runs these (`--deploy` adds the deploy-only ones). Errors (`E`) stop",
        "`runserver` and `migrate`; warnings (`W`) do not. Silence one with `SILENCED_SYSTEM_CHECKS`.",
        "",
        "| id | what it means | fix |",
        "|---|---|---|",
    ]
    for check_id, (meaning, fix) in sorted(CHECK_IDS.items(), key=lambda item: item[0][16:] + item[0][15]):
        lines.append(f"| `{check_id}` | {meaning} | {fix} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - the docs generator
    print(render_reference(), end="")
