"""Django system checks; ids ``django_observe.E0xx`` / ``W0xx``, each with a hint (listed in docs/checks.md).

Ids by tens per topic: 00x settings, 01x middleware, 02x metrics, 03x health, 04x errors.
Ids never change and are never reused.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.utils.module_loading import import_string

from .conf import problems, unknown_keys

# Every check id, with what it means and the fix: docs/checks.md is generated from this
# (`python -m django_observe.checks > docs/checks.md`) and a test fails when an id used in
# the code is missing here or the page is stale.
CHECK_IDS: dict[str, tuple[str, str]] = {
    "django_observe.E001": ("A key of OBSERVE (or the environment variable it falls back to) has a wrong type or value.", "Write the value the message asks for, or remove the key to get the default."),
    "django_observe.W001": ("OBSERVE has a key django-observe does not know, usually a typo; it has no effect.", "Rename it to the suggested key."),
    "django_observe.W010": ("ObserveMiddleware is not in MIDDLEWARE: no request ids, access log or request metrics.", "Add 'django_observe.middleware.ObserveMiddleware' as the first entry of MIDDLEWARE."),
    "django_observe.W011": ("ObserveMiddleware runs after middleware that can redirect, refuse or log before it.", "Move it to the first entry of MIDDLEWARE."),
    # --- metrics (02x) ---
    "django_observe.E020": ("An entry of OBSERVE['METRICS_ALLOWED_IPS'] is not an IP address or network.", "Write addresses or CIDR networks, e.g. ['10.0.0.0/8', '127.0.0.1']."),
    "django_observe.E021": ("OBSERVE['METRICS_LATENCY_BUCKETS'] is not a non-empty, increasing list of numbers.", "Use e.g. [0.01, 0.05, 0.1, 0.5, 1, 5]."),
    "django_observe.E022": ("PROMETHEUS_MULTIPROC_DIR is set but is not a writable directory: metrics cannot be recorded.", "Create the directory (empty, owned by the server's user) before starting the server."),
    "django_observe.E023": ("OBSERVE['METRICS_NAMESPACE'] is not a valid Prometheus name prefix.", "Use letters, digits and underscores, starting with a letter, e.g. 'shop'."),
    "django_observe.W020": ("(deploy) The metrics endpoint is public (METRICS_PUBLIC) outside development.", "Set OBSERVE['METRICS_TOKENS'] (or env METRICS_TOKEN) and configure the token in Prometheus' scrape config; remove METRICS_PUBLIC."),
    "django_observe.W021": ("Several worker processes are configured but PROMETHEUS_MULTIPROC_DIR is not set: each scrape shows one worker's counts.", "Set PROMETHEUS_MULTIPROC_DIR to an empty directory and use django_observe.gunicorn's hooks (docs/deployment.md)."),
    "django_observe.W022": ("(deploy) Metrics are on but nothing lets Prometheus read them: no token, no allowed IP, not public.", "Set OBSERVE['METRICS_TOKENS'] (or env METRICS_TOKEN) or OBSERVE['METRICS_ALLOWED_IPS']."),
    # --- health (03x) ---
    "django_observe.E030": ("An entry of OBSERVE['HEALTH_CHECKS'] cannot be loaded (bad import path, not a HealthCheck, or an option the check does not take); the probes report it as failing.", "Point it at a django-health-check HealthCheck subclass, e.g. {'search': 'myproject.health.SearchCheck'}, and pass only options the check takes."),
    "django_observe.E031": ("Two health checks share a name (or differ only in case): history, metrics and the JSON answers would mix them.", "Rename one, or add the built-in's name to OBSERVE['HEALTH_DISABLED_CHECKS'] to replace it."),
    "django_observe.E032": ("A health check's 'critical' is not True/False or its 'timeout' is not a positive number of seconds.", "Use e.g. {'search': {'check': '...', 'critical': False, 'timeout': 1.5}}."),
    "django_observe.W033": ("A health check's timeout is longer than OBSERVE['HEALTH_DEADLINE']: it is always cut off by the overall deadline.", "Lower the check's timeout or raise HEALTH_DEADLINE."),
    # --- errors / sentry (04x) ---
    "django_observe.E040": ("OBSERVE['SENTRY_DSN'] (or env SENTRY_DSN) is not a valid Sentry DSN: nothing would be sent to Sentry.", "Copy the DSN from your Sentry project's settings (Client Keys), e.g. https://<key>@o0.ingest.sentry.io/<project>, or leave it empty to keep errors local."),
    "django_observe.E041": ("OBSERVE['ERRORS_DATABASE'] names a database alias that is not in DATABASES: captured errors would be dropped.", "Use an alias from DATABASES (usually 'default')."),
    "django_observe.E042": ("OBSERVE['SENTRY_BEFORE_SEND'] cannot be imported or is not callable.", "Give the dotted path of a function before_send(event, hint), e.g. 'myproject.sentry.before_send'."),
    "django_observe.W040": ("(deploy) OBSERVE['ERRORS_SYNC'] is on: errors are written inside the failing request's transaction, slower, and lost when ATOMIC_REQUESTS rolls it back.", "Remove ERRORS_SYNC outside tests; the writer thread stores errors on its own connection."),
}

MIDDLEWARE_PATH = "django_observe.middleware.ObserveMiddleware"
SETTINGS_DOCS = "See docs/settings.md for every key and its default."

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
    """E001: a wrong type or value in OBSERVE (or in an env var it falls back to)."""
    return [Error(message, hint=SETTINGS_DOCS, id="django_observe.E001") for message in problems()]


def check_unknown_keys(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """W001: a key in OBSERVE that we do not know (usually a typo)."""
    found = []
    for key, closest in unknown_keys():
        hint = f"Did you mean '{closest}'?" if closest else SETTINGS_DOCS
        found.append(Warning(f"Unknown OBSERVE key {key!r}; it has no effect.", hint=hint, id="django_observe.W001"))
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
            Warning(
                "ObserveMiddleware is not in MIDDLEWARE, so requests get no request id, access log or metrics.",
                hint=f"Add '{MIDDLEWARE_PATH}' as the first entry of MIDDLEWARE.",
                id="django_observe.W010",
            )
        ]
    earlier = [path for path in _MUST_COME_AFTER if (position := _position(path)) is not None and position < ours]
    if earlier:
        return [
            Warning(
                f"ObserveMiddleware comes after {', '.join(p.rsplit('.', 1)[1] for p in earlier)} in MIDDLEWARE: "
                "their work is not timed, their log lines have no request id, and they can redirect or refuse health probes.",
                hint=f"Move '{MIDDLEWARE_PATH}' to the first entry of MIDDLEWARE.",
                id="django_observe.W011",
            )
        ]
    return []


def render_reference() -> str:
    """docs/checks.md, generated from CHECK_IDS."""
    lines = [
        "# System checks",
        "",
        "<!-- Generated by `python -m django_observe.checks > docs/checks.md`; do not edit by hand. -->",
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
    import django

    django.setup()
    print(render_reference(), end="")


# --- metrics (02x) ------------------------------------------------------------------------------

_DEVELOPMENT_ENVIRONMENTS = frozenset({"development", "dev", "local", "test", "testing"})


def check_metrics(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """E020 bad allowed IP, E021 bad buckets, E022 unusable multiprocess dir, E023 bad namespace, W021 workers without it."""
    if problems():
        return []  # E001 says what is wrong first
    import os
    import re

    from .conf import get_settings
    from .metrics import multiprocess_dir
    from .metrics.export import parse_network
    from .metrics.workers import configured_workers

    conf = get_settings()
    found: list[CheckMessage] = []
    for entry in conf.METRICS_ALLOWED_IPS:
        if parse_network(entry) is None:
            found.append(Error(f"OBSERVE['METRICS_ALLOWED_IPS'] has {entry!r}, which is not an IP address or network.", hint="Write addresses or CIDR networks, e.g. ['10.0.0.0/8', '127.0.0.1'].", id="django_observe.E020"))
    buckets = conf.METRICS_LATENCY_BUCKETS
    if not (
        isinstance(buckets, (list, tuple))
        and buckets
        and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in buckets)
        and all(a < b for a, b in zip(buckets, buckets[1:]))
    ):
        found.append(Error("OBSERVE['METRICS_LATENCY_BUCKETS'] must be a non-empty list of increasing numbers (seconds).", hint="Use e.g. [0.01, 0.05, 0.1, 0.5, 1, 5].", id="django_observe.E021"))
    path = multiprocess_dir()
    if path and not (os.path.isdir(path) and os.access(path, os.W_OK)):
        found.append(Error("PROMETHEUS_MULTIPROC_DIR is set but is not a writable directory, so no metric can be recorded.", hint="Create it (empty, owned by the server's user) before the server starts, e.g. mkdir -p \"$PROMETHEUS_MULTIPROC_DIR\".", id="django_observe.E022"))
    if conf.METRICS_NAMESPACE and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", conf.METRICS_NAMESPACE):
        found.append(Error(f"OBSERVE['METRICS_NAMESPACE'] = {conf.METRICS_NAMESPACE!r} is not a valid Prometheus name prefix.", hint="Use letters, digits and underscores, starting with a letter, e.g. 'shop'.", id="django_observe.E023"))
    workers = configured_workers((Path(str(getattr(settings, "BASE_DIR", "."))),))
    if conf.METRICS_ENABLED and not path and workers is not None and workers[0] > 1:
        found.append(Warning(f"{workers[0]} worker processes are configured ({workers[1]}) but PROMETHEUS_MULTIPROC_DIR is not set: each scrape of /metrics shows one worker's counts.", hint="Set PROMETHEUS_MULTIPROC_DIR to an empty directory and add 'from django_observe.gunicorn import *' to gunicorn.conf.py (docs/deployment.md).", id="django_observe.W021"))
    return found


def check_metrics_deploy(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """W020 metrics public outside development, W022 metrics on but unreadable by Prometheus (deploy only)."""
    if problems():
        return []
    from .conf import get_settings

    conf = get_settings()
    if not conf.METRICS_ENABLED or conf.ENVIRONMENT.lower() in _DEVELOPMENT_ENVIRONMENTS:
        return []
    if conf.METRICS_PUBLIC:
        return [Warning(f"The metrics endpoint is public (OBSERVE['METRICS_PUBLIC'] = True) in environment {conf.ENVIRONMENT!r}: anyone can read your traffic, routes and errors.", hint="Remove METRICS_PUBLIC, set OBSERVE['METRICS_TOKENS'] (or env METRICS_TOKEN) and put the token in Prometheus' scrape config (authorization: credentials).", id="django_observe.W020")]
    if not [t for t in conf.METRICS_TOKENS if t] and not conf.METRICS_ALLOWED_IPS:
        return [Warning("Metrics are recorded but Prometheus cannot read them: no METRICS_TOKENS, no METRICS_ALLOWED_IPS and METRICS_PUBLIC is off (only staff sessions get in).", hint="Set OBSERVE['METRICS_TOKENS'] (or env METRICS_TOKEN) or OBSERVE['METRICS_ALLOWED_IPS'].", id="django_observe.W022")]
    return []


# --- errors / sentry (04x) ------------------------------------------------------------


def check_errors(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """E040 invalid Sentry DSN, E041 unknown ERRORS_DATABASE alias, E042 bad SENTRY_BEFORE_SEND."""
    if problems():
        return []
    from .conf import get_settings

    conf = get_settings()
    found: list[CheckMessage] = []
    if conf.SENTRY_DSN:
        from sentry_sdk.utils import BadDsn, Dsn

        try:
            Dsn(conf.SENTRY_DSN)
        except (BadDsn, ValueError):
            # Never echo the DSN: it carries the project's key.
            found.append(Error("OBSERVE['SENTRY_DSN'] (or env SENTRY_DSN) is not a valid Sentry DSN.", hint=CHECK_IDS["django_observe.E040"][1], id="django_observe.E040"))
    if conf.ERRORS_ENABLED and conf.ERRORS_DATABASE not in settings.DATABASES:
        found.append(Error(f"OBSERVE['ERRORS_DATABASE'] = {conf.ERRORS_DATABASE!r} is not in DATABASES.", hint=f"Use one of {', '.join(map(repr, settings.DATABASES))}.", id="django_observe.E041"))
    if conf.SENTRY_BEFORE_SEND:
        try:
            hook = import_string(conf.SENTRY_BEFORE_SEND)
        except ImportError:
            hook = None
        if not callable(hook):
            found.append(Error(f"OBSERVE['SENTRY_BEFORE_SEND'] = {conf.SENTRY_BEFORE_SEND!r} cannot be imported or is not callable.", hint=CHECK_IDS["django_observe.E042"][1], id="django_observe.E042"))
    return found


def check_errors_deploy(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """W040 ERRORS_SYNC left on in a deployment."""
    if problems():
        return []
    from .conf import get_settings

    if get_settings().ERRORS_SYNC:
        return [Warning("OBSERVE['ERRORS_SYNC'] is on: errors are stored inside the failing request's transaction (slower, and lost when ATOMIC_REQUESTS rolls it back).", hint=CHECK_IDS["django_observe.W040"][1], id="django_observe.W040")]
    return []


# --- health (03x) -----------------------------------------------------------------------


def check_health(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """E030 unloadable host check, E031 duplicate check names, E032 bad critical/timeout, W033 timeout above the deadline."""
    if problems():
        return []
    from .conf import get_settings
    from .health.checks import _build, config_problems

    found: list[CheckMessage] = [
        Error(message, hint=hint, id=check_id) for check_id, message, hint in config_problems()
    ]
    deadline = get_settings().HEALTH_DEADLINE
    for spec in _build([]):
        if spec.timeout > deadline:
            found.append(Warning(
                f"Health check {spec.name!r} has a timeout of {spec.timeout:g} s, longer than OBSERVE['HEALTH_DEADLINE'] ({deadline:g} s).",
                hint=CHECK_IDS["django_observe.W033"][1], id="django_observe.W033",
            ))
    return found
