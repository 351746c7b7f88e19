"""Auth activity from django.contrib.auth's own signals: logins, failed logins, logouts, new users, active users.

Nothing is added to the host's views: every login path that goes through ``authenticate()``
and ``login()`` (the admin, ``LoginView``, DRF's session login, allauth) sends the signals.

- ``user_logins_total{result="success"|"failure"}``, ``user_logouts_total``,
  ``user_registrations_total`` (post_save of AUTH_USER_MODEL with ``created=True``; fixtures
  loaded with ``loaddata`` are not sign-ups and do not count);
- a failed login writes one WARNING ``login_failed`` line: the username redacted or hashed
  (``AUTH_LOG_USERNAME``), the client ``ip`` when ``LOG_CLIENT_IP`` allows it. The
  password is never read: Django has already masked it in ``credentials``, and we take
  the username key only;
- ``active_users`` (``ACTIVE_USERS_METRIC``) is counted at scrape time from ``last_login``.
  The database is shared by every worker, so a multiprocess server needs no per-process
  file for it, and nothing runs per request.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.conf import settings as django_settings
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .. import guard
from ..conf import get_settings, on_change
from . import collectors, core
from .definitions import SPECS_BY_NAME

logger = logging.getLogger("django_observe.auth")

FILTERED = "[Filtered]"
#: Seconds one COUNT of active users is reused: scrapes come every 15-60 s and the
#: ``last_login`` column has no index, so a scrape storm must not scan the user table each time.
ACTIVE_USERS_CACHE_SECONDS = 60.0

_GUARD = guard.Guard("auth_metrics", "Auth activity could not be recorded; the login itself went on")


def _counting() -> bool:
    conf = get_settings()
    return conf.METRICS_ENABLED and conf.AUTH_METRICS


def _inc(name: str, *labels: str) -> None:
    metric: Any = core.get_metrics().by_name[name]
    (metric.labels(*labels) if labels else metric).inc()


# --- receivers ----------------------------------------------------------------------------


def on_logged_in(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    with _GUARD:
        if _counting():
            _inc("user_logins_total", "success")


def on_login_failed(sender: Any, credentials: dict[str, Any] | None = None, request: Any = None, **kwargs: Any) -> None:
    with _GUARD:
        conf = get_settings()
        if conf.METRICS_ENABLED and conf.AUTH_METRICS:
            _inc("user_logins_total", "failure")
        if conf.AUTH_LOG_FAILED_LOGINS:
            fields: dict[str, Any] = {}
            username = _username(credentials or {})
            if username is not None:
                fields["username"] = hashed_username(username) if conf.AUTH_LOG_USERNAME == "hash" else FILTERED
            if conf.LOG_CLIENT_IP and request is not None:
                fields["ip"] = request.META.get("REMOTE_ADDR")
            logger.warning("login_failed", extra=fields)


def on_logged_out(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    # Django sends the signal for anonymous logouts too, with user=None: not a logout.
    if user is None:
        return
    with _GUARD:
        if _counting():
            _inc("user_logouts_total")


def on_user_saved(sender: Any, instance: Any = None, created: bool = False, raw: bool = False, **kwargs: Any) -> None:
    if not created or raw:
        return
    with _GUARD:
        if _counting():
            _inc("user_registrations_total")


def _username(credentials: dict[str, Any]) -> str | None:
    """The username the client typed (whatever USERNAME_FIELD is); never any other key."""
    from django.contrib.auth import get_user_model

    for key in (getattr(get_user_model(), "USERNAME_FIELD", "username"), "username", "email"):
        value = credentials.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def hashed_username(username: str) -> str:
    """``hmac:`` + 16 hex characters: stable per account, not reversible without SECRET_KEY (no dictionary attack)."""
    key = str(django_settings.SECRET_KEY).encode()
    return "hmac:" + hmac.new(key, username.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()[:16]


# --- active users, at scrape time ------------------------------------------------------------


class ActiveUsersCollector(Collector):
    """``active_users``: users whose ``last_login`` is within ``ACTIVE_USERS_WINDOW``, counted when scraped."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cached: tuple[float, int, int] | None = None  # (monotonic time, window, count)

    def describe(self) -> Iterable[Metric]:
        # The family name (for ?name[]= filtering) without running the query at registration.
        return [GaugeMetricFamily(self._name(), SPECS_BY_NAME["active_users"].doc)]

    def collect(self) -> Iterable[Metric]:
        conf = get_settings()
        if not (conf.METRICS_ENABLED and conf.ACTIVE_USERS_METRIC):
            return
        count = None
        with guard.Guard("active_users", "Could not count active users; the scrape goes on without active_users"):
            count = self._count(conf.ACTIVE_USERS_WINDOW)
        if count is not None:
            yield GaugeMetricFamily(self._name(), SPECS_BY_NAME["active_users"].doc, value=count)

    def _name(self) -> str:
        # From the settings, never from core.get_metrics(): describe() runs while prometheus_client
        # holds its registry lock, and building our metrics there registers them under that same
        # (non-reentrant) lock — a deadlock at start-up whenever the metrics were not built yet.
        return collectors.prefixed(get_settings().METRICS_NAMESPACE, "active_users")

    def _count(self, window: int) -> int | None:
        now = time.monotonic()
        with self._lock:
            cached = self._cached
            if cached is not None and cached[1] == window and now - cached[0] < ACTIVE_USERS_CACHE_SECONDS:
                return cached[2]
        from django.contrib.auth import get_user_model
        from django.utils import timezone

        user_model = get_user_model()
        if not any(field.name == "last_login" for field in user_model._meta.concrete_fields):
            return None  # a custom user model without last_login: nothing to count from
        since = timezone.now() - datetime.timedelta(seconds=window)
        count = user_model._default_manager.filter(last_login__gte=since).count()
        with self._lock:
            self._cached = (now, window, count)
        return count

    def forget(self) -> None:
        """Drop the cached count (tests, and after settings change)."""
        with self._lock:
            self._cached = None


active_users = ActiveUsersCollector()


# --- wiring ------------------------------------------------------------------------------------

_connected = False


def connect() -> None:
    """Connect the receivers and register the ``active_users`` collector; called from ``ready()``. Idempotent."""
    global _connected
    if _connected or not apps.is_installed("django.contrib.auth"):
        return
    from django.contrib.auth import get_user_model
    from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
    from django.db.models.signals import post_save

    user_logged_in.connect(on_logged_in, dispatch_uid="django_observe.auth.logged_in")
    user_login_failed.connect(on_login_failed, dispatch_uid="django_observe.auth.login_failed")
    user_logged_out.connect(on_logged_out, dispatch_uid="django_observe.auth.logged_out")
    post_save.connect(on_user_saved, sender=get_user_model(), dispatch_uid="django_observe.auth.user_saved")
    collectors.add_scrape_time_collector(active_users)
    _connected = True


on_change()(active_users.forget)
