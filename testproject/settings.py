"""Demo and test site for django-observe.

SQLite by default; set DATABASE_URL=postgres://user:password@host:port/name for
PostgreSQL. REDIS_URL and CELERY_BROKER_URL switch on the Redis cache and Celery.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("OBSERVE_STATE_DIR", BASE_DIR / ".state"))
STATE_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-not-a-secret-" + "x" * 32)
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_observe",
    "testproject.demo",
]

MIDDLEWARE = [
    "django_observe.middleware.ObserveMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "testproject.urls"
WSGI_APPLICATION = "testproject.wsgi.application"
ASGI_APPLICATION = "testproject.asgi.application"

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


def database_from_url(url: str) -> dict[str, object]:
    """postgres://user:password@host:port/name -> a DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise ValueError(f"DATABASE_URL must start with postgres://, got {parts.scheme}://")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/") or "postgres",
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": parts.port or 5432,
        "CONN_MAX_AGE": 0,
    }


if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": database_from_url(os.environ["DATABASE_URL"])}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(STATE_DIR / "db.sqlite3")),
            "OPTIONS": {"timeout": 20},
        }
    }

# The error tracker's tests run the demo with ATOMIC_REQUESTS=1 (errors must survive the rollback).
if os.environ.get("ATOMIC_REQUESTS") == "1":
    DATABASES["default"]["ATOMIC_REQUESTS"] = True

if os.environ.get("REDIS_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["REDIS_URL"]}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "")
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "observe-demo")
CELERY_BROKER_CONNECTION_TIMEOUT = 2

AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = STATE_DIR / "static"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "/admin/login/"

OBSERVE = {
    "SERVICE_NAME": "observe-demo",
    "ENVIRONMENT": os.environ.get("ENVIRONMENT", "development"),
    "SLOW_REQUEST_THRESHOLD": float(os.environ.get("SLOW_REQUEST_THRESHOLD", "0.5")),
    "LOG_FORMAT": os.environ.get("LOG_FORMAT", "json"),
}

# Tests (and experiments) add OBSERVE keys to a subprocess server with a JSON object,
# e.g. OBSERVE_JSON='{"HEALTH_CHECKS": {"slow": "tests.health.probes.Sleep"}}'.
if os.environ.get("OBSERVE_JSON"):
    import json

    OBSERVE.update(json.loads(os.environ["OBSERVE_JSON"]))
