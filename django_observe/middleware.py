"""ObserveMiddleware: request id, context, timing, metrics and the access line, in one pass.

One class, native in both modes: ``_begin`` and ``_end`` are synchronous code with
no I/O shared by the sync and async paths, so an async stack pays no
``sync_to_async`` hop for us. Nothing that fails inside them reaches the user: it
is counted and logged once, and the response goes out.

Put it FIRST in MIDDLEWARE: its timer then covers the whole stack and the health
probes it answers (``/health/live`` etc.) are served before any redirect or
login middleware can turn them into a 301/302.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, NamedTuple

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import got_request_exception
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_vary_headers
from django_structlog import signals as structlog_signals

from . import context, metrics, tracing
from ._compat import add_response_closer
from .conf import ObserveSettings, get_settings
from .errors import capture
from .guard import Guard
from .health.routes import probe_view
from .logging import access_logger, log_access, tame_django_loggers, write_access_line
from .redact import configured_words, safe_path

logger = logging.getLogger(__name__)

_KNOWN_METHODS = frozenset(metrics.KNOWN_METHODS)

GetResponse = Callable[[HttpRequest], Any]


class Started(NamedTuple):
    """What ``_begin`` hands to ``_end``: the clock and the settings of this request."""

    began: float
    conf: ObserveSettings


_GUARD = Guard("middleware", "ObserveMiddleware failed; the request was served without part of its telemetry")


@receiver(got_request_exception)
def _remember_exception(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """Keep the unhandled exception on the request so the access line and metrics can name it.

    Django turns it into a 500 response inside the stack, so our middleware never sees it
    raised; this signal fires for view and middleware exceptions alike, synchronously, in
    the request's own thread or task.
    """
    import sys

    if request is not None:
        request.__dict__["_observe_exception"] = sys.exc_info()[1]


def method_label(method: str | None) -> str:
    """The request method when it is a standard one, else ``OTHER`` (keeps metric labels bounded)."""
    return method if method in _KNOWN_METHODS else metrics.OTHER_METHOD


#: The label of the site root, ``path("", view)``: its route is the empty string.
ROOT_ENDPOINT = "/"


def endpoint_label(request: HttpRequest) -> str:
    """The resolved URL pattern (``items/<int:pk>/``, ``/`` for the root), never the raw path."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return request.__dict__.get("_observe_endpoint", metrics.UNRESOLVED_ENDPOINT)
    route = match.route
    if route:
        return route
    # "" is path("", view) (also inside include("")); None is a ResolverMatch made without a route.
    return ROOT_ENDPOINT if route == "" else metrics.UNRESOLVED_ENDPOINT


class ObserveMiddleware:
    """Give every request an id, bind it for logs, time it, count it and log one access line."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        if not apps.is_installed("django_observe"):
            # Without the app nothing configures logging, metrics or error capture, and no
            # system check runs to say so: refuse to start half-working.
            raise ImproperlyConfigured(
                "ObserveMiddleware is in MIDDLEWARE but 'django_observe' is not in INSTALLED_APPS. Add 'django_observe' to INSTALLED_APPS."
            )
        self.get_response = get_response
        # Built right after Django set up (again, under runserver) its default logging: take Django's
        # loggers back, or runserver prints raw request lines and a second copy of every 404/500.
        with _GUARD:
            tame_django_loggers()
        # Decided once: an async stack must not hold a thread for the whole request.
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    # --- entry points ----------------------------------------------------------------

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        started = self._begin(request)
        probe = self._probe_view(request)
        if probe:
            return self._end(request, probe(request), started)
        scope = capture.enter_request_scope(request)  # lean Sentry mode: a scope and a trace id per request
        try:
            response = self.get_response(request)
        finally:
            capture.leave_request_scope(scope)
        return self._end(request, response, started)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        started = self._begin(request)
        probe = self._probe_view(request)
        if probe is None:
            scope = capture.enter_request_scope(request)
            try:
                response = await self.get_response(request)
            finally:
                capture.leave_request_scope(scope)
        elif getattr(probe, "does_io", False):
            # Readiness runs checks with blocking waits: never on the event loop.
            response = await sync_to_async(probe, thread_sensitive=False)(request)
        else:
            response = probe(request)
        return self._end(request, response, started)

    # --- the two halves, shared by both modes ----------------------------------------

    def _begin(self, request: HttpRequest) -> Started:
        conf = get_settings()  # once per request: _end and _finish get it from here
        with _GUARD:
            incoming = request.META.get(_meta_key(conf.REQUEST_ID_HEADER))
            if incoming is not None and conf.TRUST_REQUEST_ID and context.valid_request_id(incoming):
                request_id = incoming
            else:
                request_id = context.new_request_id()
                if incoming is not None:
                    # The raw value may be an injection attempt: never log it.
                    logger.debug("Rejected an invalid incoming request id (%d characters).", len(incoming))
            request.request_id = request_id  # type: ignore[attr-defined]
            context.bind_request(request_id, request)
            if conf.TRACE_IDS:
                tracing.tag_span(request_id, conf)
            if conf.METRICS_ENABLED:
                metrics.request_started()
            if structlog_signals.bind_extra_request_metadata.receivers:
                structlog_signals.bind_extra_request_metadata.send(
                    sender=self.__class__,
                    request=request,
                    logger=access_logger(),
                    log_kwargs={"request": _request_text(request), "user_agent": request.META.get("HTTP_USER_AGENT")},
                )
        return Started(time.perf_counter(), conf)

    def _end(self, request: HttpRequest, response: HttpResponseBase, started: Started) -> HttpResponseBase:
        with _GUARD:
            header = started.conf.REQUEST_ID_HEADER
            request_id = getattr(request, "request_id", None) or context.new_request_id()
            response[header] = request_id
            if "HTTP_ORIGIN" in request.META:
                # Only a cross-origin request needs the header exposed to its script (browsers send
                # Origin with every one); one header less to build and send on every other response.
                _expose_header(response, header)
            user_id = context.user_id_from_request(request)
            if user_id is not None:
                context.bind_user_id(user_id)
            exception = request.__dict__.get("_observe_exception")
            if exception is not None and structlog_signals.update_failure_response.receivers:
                # django-structlog's documented signal: its receivers may change the 500 before it goes out.
                structlog_signals.update_failure_response.send(
                    sender=ObserveMiddleware, request=request, response=response, logger=access_logger(), exception=exception
                )
        if response.streaming:
            self._finish_after_stream(request, response, started)
        else:
            self._finish(request, response, started)
        # Django's own "Not Found"/"Internal Server Error" lines are written after the middleware
        # chain returns: the id stays bound until the server closes the response.
        add_response_closer(response, context.clear)
        return response

    def _finish(self, request: HttpRequest, response: HttpResponseBase, started: Started) -> None:
        """Record the finished request once: metrics and the access line."""
        with _GUARD:
            duration = time.perf_counter() - started.began
            conf = started.conf
            method = method_label(request.method)
            endpoint = endpoint_label(request)
            exception = request.__dict__.get("_observe_exception")
            slow = duration > conf.SLOW_REQUEST_THRESHOLD
            if conf.METRICS_ENABLED:
                metrics.request_finished(method, endpoint, response.status_code, duration, slow, exception)
            if conf.ACCESS_LOG:
                _log_access(
                    request, response, method, endpoint, duration, slow, exception, conf.LOG_CLIENT_IP, conf.ACCESS_LOG_PATH_AND_STATUS
                )

    def _finish_after_stream(self, request: HttpRequest, response: Any, started: Started) -> None:
        """Streaming: the access line and the duration wait until the last chunk was sent."""
        finished = False

        def finish() -> None:
            nonlocal finished
            if not finished:
                finished = True
                self._finish(request, response, started)

        if response.is_async:
            original_async: AsyncIterator[Any] = response.streaming_content

            async def wrapped_async() -> AsyncIterator[Any]:
                try:
                    async for chunk in original_async:
                        yield chunk
                finally:
                    finish()

            response.streaming_content = wrapped_async()
        else:
            original: Iterator[Any] = response.streaming_content

            def wrapped() -> Iterator[Any]:
                try:
                    yield from original
                finally:
                    finish()

            response.streaming_content = wrapped()
        # A client that disconnects early closes the response without exhausting it.
        add_response_closer(response, finish)

    def _probe_view(self, request: HttpRequest) -> Callable[[HttpRequest], HttpResponseBase] | None:
        view = probe_view(request.path_info)
        if view is None:
            return None
        accepts = getattr(view, "accepts", None)
        if accepts is not None and not accepts(request):
            return None  # /metrics without a token (a staff session, say): the whole stack decides, as for any view
        request.__dict__["_observe_endpoint"] = request.path_info.lstrip("/")
        return view


def _meta_key(header: str) -> str:
    return _META_KEYS.get(header) or _META_KEYS.setdefault(header, "HTTP_" + header.upper().replace("-", "_"))


_META_KEYS: dict[str, str] = {}


def _expose_header(response: HttpResponseBase, header: str) -> None:
    """Append our header to Access-Control-Expose-Headers; never overwrite what CORS code put there.

    Only CORS requests get it, so the response now depends on ``Origin``: shared caches are told.
    """
    patch_vary_headers(response, ("Origin",))
    existing = response.get("Access-Control-Expose-Headers")
    if not existing:
        response["Access-Control-Expose-Headers"] = header
    elif header.lower() not in (part.strip().lower() for part in existing.split(",")):
        response["Access-Control-Expose-Headers"] = f"{existing}, {header}"


def _request_text(request: HttpRequest) -> str:
    # The path only: query strings carry tokens (?token=, ?api_key=) often enough; path parameters
    # named like secrets (a password-reset <token>) are filtered too.
    return f"{request.method} {safe_path(request, configured_words())}"


def _log_access(
    request: HttpRequest,
    response: HttpResponseBase,
    method: str,
    endpoint: str,
    duration: float,
    slow: bool,
    exception: BaseException | None,
    with_ip: bool,
    path_and_status: bool = False,
) -> None:
    status = response.status_code
    request_text, duration_ms = _request_text(request), round(duration * 1000, 3)
    if (
        exception is None
        and not (slow or with_ip or path_and_status)
        and not structlog_signals.bind_extra_request_finished_metadata.receivers
        and write_access_line(
            logging.ERROR if status >= 500 else logging.WARNING if status >= 400 else logging.INFO,
            request_text,
            method,
            endpoint,
            status,
            duration_ms,
        )
    ):
        return  # the default line, in one f-string straight to our handler (logging/plain.py)
    fields: dict[str, Any] = {
        "request": request_text,
        "method": method,
        "route": endpoint,
        "code": status,
        "duration_ms": duration_ms,
    }
    if with_ip:
        fields["ip"] = request.META.get("REMOTE_ADDR")
    if path_and_status:
        fields["path"] = request.path
        fields["status_code"] = status
    if exception is not None:
        if structlog_signals.bind_extra_request_failed_metadata.receivers:
            structlog_signals.bind_extra_request_failed_metadata.send(
                sender=ObserveMiddleware, request=request, logger=access_logger(), exception=exception, log_kwargs=fields
            )
        # The type and message only: Django's own "Internal Server Error" line carries the
        # traceback, and formatting it twice was 40 % of a failing request (bench/PROFILE.md).
        fields["exception"] = "".join(traceback.format_exception_only(type(exception), exception)).strip()
        log_access(logging.ERROR, "request_failed", fields)
        return
    if structlog_signals.bind_extra_request_finished_metadata.receivers:
        structlog_signals.bind_extra_request_finished_metadata.send(
            sender=ObserveMiddleware, request=request, logger=access_logger(), response=response, log_kwargs=fields
        )
    if slow:
        fields["slow"] = True
    if status >= 500:
        level = logging.ERROR
    elif slow or status >= 400:
        level = logging.WARNING
    else:
        level = logging.INFO
    log_access(level, "request_finished", fields)
