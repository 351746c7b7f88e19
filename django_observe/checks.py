"""Django system checks; ids ``django_observe.E0xx`` / ``W0xx``, each with a hint (listed in docs/checks.md).

Ids by tens per topic: 00x settings, 01x middleware, 02x metrics, 03x health, 04x errors.
Ids never change and are never reused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.utils.module_loading import import_string

from .conf import problems, unknown_keys

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
