"""Benchmark settings. One Django project, several observability stacks, picked by env STACK.

  STACK=bare             plain Django: the minimal common base below, nothing else.
  STACK=peers            the base + what a user stacks up today from the peer packages:
                         django-prometheus, django-structlog (JSON to a file), django-guid,
                         sentry-sdk with DjangoIntegration and dsn=None; django-health-check
                         serves /health/ready (URL only, no middleware).
  STACK=observe          the base + django-observe with everything a production user turns on:
                         ObserveMiddleware first, JSON access log to a file, metrics
                         (multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set), local error
                         capture, the Sentry helper with no DSN, health endpoints.
  STACK=project-bare     what `django-admin startproject` gives: the contrib apps (admin, auth,
                         contenttypes, sessions, messages, staticfiles), its seven middleware,
                         the template engine, /admin/ in the URLs.
  STACK=project-observe  project-bare + django-observe exactly as in `observe`.

Everything that is not inside a stack block is identical for every stack. The database is
identical too: every stack's database is migrated with django-observe's tables and indexes
(dbprep.py, BENCH_SCHEMA_OBSERVE=1 while migrating), so no stack pays or saves for its schema
size (SQLite parses the whole schema on each new connection).

Database (env): BENCH_DB=sqlite (default) | postgresql, BENCH_CONN_MAX_AGE=0 (default: a new
connection per request) | 60 | ..., BENCH_PG_URL (server and credentials; each stack uses its own
database ``obsbench_<stack>`` there, made by dbprep.py).
Runtime state (SQLite files, JSON logs) goes to BENCH_STATE_DIR (default /tmp/obsbench).
"""

import json
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

STACK = os.environ.get("STACK", "bare")
STACKS = ("bare", "peers", "observe", "project-bare", "project-observe")
if STACK not in STACKS:
    raise ImproperlyConfigured(f"Unknown STACK={STACK!r} (expected one of {', '.join(STACKS)})")
PROJECT = STACK.startswith("project-")
WITH_OBSERVE = STACK in ("observe", "project-observe")
ASGI_APPLICATION = "benchsite.asgi.application"
STATE_DIR = Path(os.environ.get("BENCH_STATE_DIR", "/tmp/obsbench"))
STATE_DIR.mkdir(parents=True, exist_ok=True)

# ---------------------------------------------------------------------------
# Common base (identical across stacks)
# ---------------------------------------------------------------------------
SECRET_KEY = "benchmark-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]

ROOT_URLCONF = "benchsite.urls"
WSGI_APPLICATION = "benchsite.wsgi.application"

if PROJECT:
    # Exactly what `django-admin startproject` writes (Django 5.2), plus the bench app.
    INSTALLED_APPS = [
        "django.contrib.admin",
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
        "django.contrib.staticfiles",
        "core",
    ]
    MIDDLEWARE = [
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ]
    TEMPLATES = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [],
            "APP_DIRS": True,
            "OPTIONS": {
                "context_processors": [
                    "django.template.context_processors.request",
                    "django.contrib.auth.context_processors.auth",
                    "django.contrib.messages.context_processors.messages",
                ],
            },
        },
    ]
    STATIC_URL = "static/"
else:
    INSTALLED_APPS = [
        "core",
    ]
    # Only the Django default middleware that does not need sessions/auth/templates
    # (the views use none of those). Same list, same order, in every minimal stack.
    MIDDLEWARE = [
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.common.CommonMiddleware",
    ]
    TEMPLATES = []

BENCH_DB = os.environ.get("BENCH_DB", "sqlite")
CONN_MAX_AGE = int(os.environ.get("BENCH_CONN_MAX_AGE", "0"))
if BENCH_DB == "sqlite":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            # BENCH_DB_FILE (ablate.py only): another file for the same stack.
            "NAME": os.environ.get("BENCH_DB_FILE") or STATE_DIR / f"db-{STACK}.sqlite3",
            # 0 (Django's default): a new SQLite connection per request.
            "CONN_MAX_AGE": CONN_MAX_AGE,
        }
    }
elif BENCH_DB == "postgresql":
    from urllib.parse import urlsplit

    _pg = urlsplit(os.environ.get("BENCH_PG_URL", "postgres://observe:observe@127.0.0.1:5432/observe"))
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": _pg.hostname or "127.0.0.1",
            "PORT": _pg.port or 5432,
            "USER": _pg.username or "",
            "PASSWORD": _pg.password or "",
            "NAME": "obsbench_" + STACK.replace("-", "_"),
            "CONN_MAX_AGE": CONN_MAX_AGE,
        }
    }
else:
    raise ImproperlyConfigured(f"Unknown BENCH_DB={BENCH_DB!r} (expected 'sqlite' or 'postgresql')")

# dbprep.py migrates every stack's database with django-observe's migrations too, so all stacks
# run on the same schema. Only while migrating: the app is not installed at run time.
if os.environ.get("BENCH_SCHEMA_OBSERVE") == "1" and not WITH_OBSERVE:
    INSTALLED_APPS = [*INSTALLED_APPS, "django_observe"]
USE_TZ = True
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Where a stack writes its structured log, if it has one (run.sh / inproc.py truncate it
# before a run and count its lines afterwards as a sanity check).
BENCH_LOG_FILE = STATE_DIR / f"{STACK}-app.jsonl"

# ---------------------------------------------------------------------------
# Stack blocks
# ---------------------------------------------------------------------------
if STACK in ("bare", "project-bare"):
    pass

elif STACK == "peers":
    import sentry_sdk
    import structlog
    from sentry_sdk.integrations.django import DjangoIntegration

    INSTALLED_APPS += [
        "django_prometheus",
        "django_structlog",
        "django_guid",
    ]

    # Order as each package documents it: prometheus Before first / After last,
    # django-guid at the top, django-structlog RequestMiddleware after the Django defaults.
    MIDDLEWARE = [
        "django_prometheus.middleware.PrometheusBeforeMiddleware",
        "django_guid.middleware.guid_middleware",
        *MIDDLEWARE,
        "django_structlog.middlewares.RequestMiddleware",
        "django_prometheus.middleware.PrometheusAfterMiddleware",
    ]

    # django-prometheus DB wrapper (query/connection/error counters) around the same backend.
    DATABASES["default"]["ENGINE"] = DATABASES["default"]["ENGINE"].replace("django.db.backends.", "django_prometheus.db.backends.")

    # django-guid: package defaults (Correlation-ID header in and out, validated uuid4).
    DJANGO_GUID = {}

    # structlog -> stdlib logging -> JSON lines in a file (never the terminal),
    # as in django-structlog's documented setup; django-guid's CorrelationId log filter
    # puts the correlation id on every line.
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    LOGGING = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "correlation_id": {"()": "django_guid.log_filters.CorrelationId"},
        },
        "formatters": {
            "json": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ExtraAdder(allow=["correlation_id"]),
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(),
                ],
                "foreign_pre_chain": [
                    structlog.contextvars.merge_contextvars,
                    structlog.processors.TimeStamper(fmt="iso"),
                    structlog.stdlib.add_logger_name,
                    structlog.stdlib.add_log_level,
                ],
            },
        },
        "handlers": {
            "json_file": {
                "class": "logging.handlers.WatchedFileHandler",
                "filename": str(BENCH_LOG_FILE),
                "formatter": "json",
                "filters": ["correlation_id"],
            },
        },
        "loggers": {
            "django_structlog": {"handlers": ["json_file"], "level": "INFO", "propagate": False},
            "django_guid": {"handlers": ["json_file"], "level": "WARNING", "propagate": False},
        },
        # Everything else at WARNING+ (e.g. django.request's "Internal Server Error") also
        # goes to the JSON file.
        "root": {"handlers": ["json_file"], "level": "WARNING"},
    }

    # Sentry with NO dsn: the SDK and its integrations are fully installed and events are
    # built (scrubbed, serialised) but there is no transport, so nothing leaves the machine.
    # Drop env vars that could give it a DSN or a Spotlight sidecar behind our back.
    os.environ.pop("SENTRY_DSN", None)
    os.environ.pop("SENTRY_SPOTLIGHT", None)
    sentry_sdk.init(dsn=None, integrations=[DjangoIntegration()])

elif WITH_OBSERVE:
    # django-observe as its docs tell a production user to set it up: one app, one
    # middleware FIRST, one OBSERVE dict, one include() in urls.py. Nothing else.
    from django_observe.conf import DEFAULTS as _OBSERVE_KEYS

    INSTALLED_APPS = [*INSTALLED_APPS, "django_observe"]
    MIDDLEWARE = ["django_observe.middleware.ObserveMiddleware", *MIDDLEWARE]

    # Never a DSN from the environment: errors stay local (Sentry helper installed, no transport).
    os.environ.pop("SENTRY_DSN", None)
    os.environ.pop("SENTRY_SPOTLIGHT", None)
    _observe = {
        "SERVICE_NAME": "bench",
        "ENVIRONMENT": "production",
        "VERSION": "bench-1",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "LOG_FILE": str(BENCH_LOG_FILE),  # one JSON access line per request, like peers' file
        "ACCESS_LOG": True,
        "METRICS_ENABLED": True,
        "METRICS_TOKENS": ["bench-metrics-token"],
        "HEALTH_TOKENS": ["bench-health-token"],
        "ERRORS_ENABLED": True,
        "SENTRY_ENABLED": True,
        "SENTRY_DSN": "",
    }
    # Ablation runs (ablate.py) switch single parts off: BENCH_OBSERVE_OVERRIDES='{"ACCESS_LOG": false}'.
    _observe.update(json.loads(os.environ.get("BENCH_OBSERVE_OVERRIDES") or "{}"))
    # Keys the installed version does not know yet are left out (the capability that
    # reads them has not landed), so the stack runs with whatever exists.
    OBSERVE = {key: value for key, value in _observe.items() if key in _OBSERVE_KEYS}
