"""Health endpoints: /health/live (no I/O), /health/ready, /health, /health/detailed.

ObserveMiddleware answers these paths itself (the table is in ``routes``), before
any redirect, login or rate-limit middleware can turn a probe into a 301/302/403
(django-health-check#678); the same views are also in ``django_observe.urls``.
Every answer carries never_cache's headers. Views marked ``does_io = True``
block on checks (up to HEALTH_DEADLINE), so the middleware runs them in a
worker thread under ASGI.

Public answers (live, ready, summary) carry status words and check names only:
never exception text, paths or hostnames. ``/health/detailed`` needs an
``X-Health-Token`` header matching one of HEALTH_TOKENS (constant-time compare)
or a staff session.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable
from importlib import import_module
from typing import Any

import psutil
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.http import http_date

from .. import tokens
from ..conf import get_settings
from ..guard import Guard
from . import runner as health_runner
from . import words

logger = logging.getLogger(__name__)

TOKEN_META_KEY = "HTTP_X_HEALTH_TOKEN"
_GUARD = Guard("health", "A health endpoint failed inside django-observe; it answered 503")
View = Callable[[HttpRequest], HttpResponse]


def _allowed(request: HttpRequest) -> HttpResponse | None:
    if request.method in ("GET", "HEAD"):
        return None
    response = HttpResponse(status=405)
    response["Allow"] = "GET, HEAD"
    return response


#: What django.views.decorators.cache.never_cache writes, set directly: its header
#: parsing and merging cost 35 µs, a third of a liveness probe.
NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"


def _json(request: HttpRequest, data: dict[str, Any] | bytes, status: int = 200) -> HttpResponse:
    if isinstance(data, bytes):
        response: HttpResponse = HttpResponse(data, status=status, content_type="application/json")
    else:
        response = JsonResponse(data, status=status)
    if request.method == "HEAD":
        response.content = b""
    response["Cache-Control"] = NEVER_CACHE
    response["Expires"] = http_date(time.time())
    return response


def _probe(view: Callable[[HttpRequest], HttpResponse], does_io: bool) -> View:
    """login_not_required, GET/HEAD only, and the ``does_io`` mark for the middleware (never_cache: in ``_json``)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest) -> HttpResponse:
        refused = _allowed(request)
        if refused is not None:
            refused["Cache-Control"] = NEVER_CACHE
            return refused
        with _GUARD:
            return view(request)
        # A bug of ours (counted, logged once): answer like a failed probe, never with a 500 page.
        return _json(request, {"status": "fail"}, 503)

    final = login_not_required(wrapped)
    final.does_io = does_io  # type: ignore[attr-defined]
    return final


def _live(request: HttpRequest) -> HttpResponse:
    """Liveness: 200 while the process serves requests. Touches no dependency."""
    now = time.time()
    # Formatted directly: JsonResponse's encoder would be most of this probe's cost.
    body = b'{"status": "alive", "alive": true, "timestamp": %.3f, "uptime_seconds": %.3f}' % (now, max(now - _process_started(), 0.0))
    return _json(request, body)


def _ready(request: HttpRequest) -> HttpResponse:
    """Readiness: the critical checks; pass and warn give 200, a failure or timeout 503."""
    results = health_runner.runner.run(health_runner.specs(critical_only=True))
    status = health_runner.readiness(results)
    body = {
        "status": status,
        "ready": status != health_runner.FAIL,
        "checks": {result.name: result.status for result in results},
        "timestamp": round(time.time(), 3),
    }
    return _json(request, body, 503 if status == health_runner.FAIL else 200)


def _summary(request: HttpRequest) -> HttpResponse:
    """Public summary for uptime monitors: status word, version, environment; 503 when unhealthy."""
    conf = get_settings()
    results = health_runner.runner.run(health_runner.specs())
    status = health_runner.overall(results)
    body = {"status": status, "version": conf.VERSION, "environment": conf.ENVIRONMENT}
    if conf.HEALTH_DEPENDENCY_WORDS:
        body.update(words.dependency_words(results))
    return _json(request, body, 503 if status == health_runner.UNHEALTHY else 200)


def _detailed(request: HttpRequest) -> HttpResponse:
    """Every check with timing, observed value and message, plus system resources; token or staff only."""
    refused = _refusal(request)
    if refused is not None:
        return refused
    conf = get_settings()
    results = health_runner.runner.run(health_runner.specs())
    status = health_runner.overall(results)
    body = {
        "status": status,
        "version": conf.VERSION,
        "environment": conf.ENVIRONMENT,
        "uptime_seconds": round(time.time() - _process_started(), 1),
        "timestamp": timezone.now().isoformat(),
        "checks": {result.name: result.detail() for result in results},
        "system": {**system_resources(), "health_threads": health_runner.runner.threads},
    }
    return _json(request, body, 503 if status == health_runner.UNHEALTHY else 200)


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """None when the request may read the detailed view, else the 401/403 answer."""
    token = request.META.get(TOKEN_META_KEY)
    if token is not None:
        if tokens.matches(token, tokens.accepted(get_settings().HEALTH_TOKENS)):
            return None
        return _json(request, {"status": "forbidden", "detail": "Invalid X-Health-Token."}, 403)
    user = _user(request)
    if user is None or not user.is_authenticated:
        response = _json(request, {"status": "unauthorized", "detail": "Send an X-Health-Token header or log in as staff."}, 401)
        response["WWW-Authenticate"] = 'X-Health-Token realm="health"'
        return response
    if not (user.is_active and user.is_staff):
        return _json(request, {"status": "forbidden", "detail": "Staff only."}, 403)
    return None


def _user(request: HttpRequest) -> Any:
    """request.user, or (answered in ObserveMiddleware, before the session middleware) the session's user."""
    user = getattr(request, "user", None)
    if user is not None:
        return user
    if not (apps.is_installed("django.contrib.sessions") and apps.is_installed("django.contrib.auth")):
        return None
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not session_key:
        return None
    try:
        request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
        return get_user(request)
    except Exception:
        logger.warning("Could not read the session for /health/detailed; answering 401.", exc_info=True)
        return None


@functools.cache
def _process_started() -> float:
    try:
        return psutil.Process(os.getpid()).create_time()
    except psutil.Error:  # pragma: no cover
        return time.time()


def system_resources() -> dict[str, float | None]:
    """CPU (since the previous call), memory and disk usage in percent; None where unavailable."""
    found: dict[str, float | None] = {}
    for key, read in (
        ("cpu_percent", lambda: psutil.cpu_percent(interval=None)),
        ("memory_percent", lambda: psutil.virtual_memory().percent),
        ("disk_percent", lambda: psutil.disk_usage(os.getcwd()).percent),
    ):
        try:
            found[key] = float(read())
        except (psutil.Error, OSError):
            found[key] = None
    return found


live = _probe(_live, does_io=False)
ready = _probe(_ready, does_io=True)
summary = _probe(_summary, does_io=True)
detailed = _probe(_detailed, does_io=True)
