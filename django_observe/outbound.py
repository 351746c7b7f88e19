"""Calls to other services: timed and counted by ``observe.dependency()`` and by opt-in requests/httpx hooks.

    from django_observe import observe

    with observe.dependency("gemini", "generate"):          # or: async with ...
        reply = client.generate(prompt)

    @observe.dependency("billing", "charge")                # sync or async functions
    def charge(order): ...

Each call counts once in ``external_requests_total{service,operation,status}``, is timed in
``external_request_duration_seconds{service,operation}``, and a failure counts in
``external_request_errors_total{service,operation,error}``. Labels are bounded: service and
operation come from your code (or ``OUTBOUND_SERVICES`` and the HTTP method for the hooks),
``error`` is an exception class name or ``http_4xx``/``http_5xx``.

The hooks (``OUTBOUND_HOOKS = ["requests", "httpx"]``) wrap ``requests.Session.send`` and
``httpx.Client.send``/``AsyncClient.send``: every call through them counts, with the
service taken from the host. Inside a ``dependency()`` block they do not count a second
time; they hand the HTTP status to the block instead. With ``OUTBOUND_REQUEST_ID`` they
also send the current request id, so the next service logs the same id.
requests and httpx are imported only when named in ``OUTBOUND_HOOKS``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction

from . import context, guard
from .conf import get_settings, on_change
from .metrics import core
from .metrics.definitions import KNOWN_METHODS, OTHER_METHOD

_Func = TypeVar("_Func", bound=Callable[..., Any])

_GUARD = guard.Guard("outbound", "An outbound call could not be recorded; the call itself went on")


class Call:
    """One call in progress (what ``with observe.dependency(...) as call`` gives).

    Set ``call.status`` to record your own status word (keep the set of words small);
    otherwise it is the HTTP status of the last hooked HTTP call inside the block, else
    ``success`` or ``error``.
    """

    __slots__ = ("service", "operation", "status", "http_status", "started", "token")

    def __init__(self, service: str, operation: str) -> None:
        self.service = service
        self.operation = operation
        self.status: str | None = None
        self.http_status: int | None = None
        self.started = 0.0
        self.token: Token[Call | None] | None = None


_current: ContextVar[Call | None] = ContextVar("django_observe_outbound_call", default=None)
# requests follows redirects by calling Session.send again: only the outermost send counts.
_in_hook: ContextVar[bool] = ContextVar("django_observe_outbound_hook", default=False)


class dependency:
    """Time and count a call to ``service``: a context manager (sync and async) and a decorator (sync and async).

    Holds no per-call state, so one module-level instance may be shared by threads and tasks.
    """

    __slots__ = ("service", "operation")

    def __init__(self, service: str, operation: str = "call") -> None:
        self.service = str(service)
        self.operation = str(operation)

    def __enter__(self) -> Call:
        call = Call(self.service, self.operation)
        call.token = _current.set(call)
        call.started = time.perf_counter()
        return call

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None) -> None:
        call = _current.get()
        if call is None:  # entered in another context (a generator resumed elsewhere): nothing to close
            return
        duration = time.perf_counter() - call.started
        try:
            if call.token is not None:
                _current.reset(call.token)
        except ValueError:  # exited in another context than it was entered in
            _current.set(None)
        record(call.service, call.operation, duration, status=call.status, error=error, http_status=call.http_status)

    async def __aenter__(self) -> Call:
        return self.__enter__()

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None) -> None:
        self.__exit__(kind, error, traceback)

    def __call__(self, func: _Func) -> _Func:
        if iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def outbound_headers() -> dict[str, str]:
    """``{REQUEST_ID_HEADER: request id}`` of the current request or task (``{}`` outside one), for any client."""
    request_id = context.get_request_id()
    return {get_settings().REQUEST_ID_HEADER: request_id} if request_id else {}


# --- recording ---------------------------------------------------------------------------------


class _Children:
    owner: Any = None
    calls: dict[tuple[str, str, str], tuple[Any, Any]] = {}


def record(
    service: str,
    operation: str,
    duration: float,
    status: str | None = None,
    error: BaseException | None = None,
    http_status: int | None = None,
) -> None:
    """Count and time one finished call. Never raises."""
    with _GUARD:
        if not get_settings().METRICS_ENABLED:
            return
        if status is None:
            status = str(http_status) if http_status is not None else ("error" if error is not None else "success")
        metrics = core.get_metrics()
        by_name: dict[str, Any] = metrics.by_name  # each family's kind is known by its name
        if _Children.owner is not metrics:  # metrics re-created (another namespace or buckets)
            _Children.owner, _Children.calls = metrics, {}
        key = (service, operation, status)
        children = _Children.calls.get(key)
        if children is None:
            children = _Children.calls[key] = (
                by_name["external_requests_total"].labels(service, operation, status),
                by_name["external_request_duration_seconds"].labels(service, operation),
            )
        children[0].inc()
        children[1].observe(duration)
        if error is not None:
            reason = type(error).__name__
        elif http_status is not None and http_status >= 400:
            reason = "http_5xx" if http_status >= 500 else "http_4xx"
        else:
            return
        by_name["external_request_errors_total"].labels(service, operation, reason).inc()


# --- the requests and httpx hooks ------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def service_for(host: str, port: int | None) -> str | None:
    """The ``service`` label for a host: ``OUTBOUND_SERVICES`` by host:port, host, then ``*.domain``; else the unmapped one."""
    conf = get_settings()
    mapping = conf.OUTBOUND_SERVICES
    host = host.lower().strip("[]")
    if port is not None and f"{host}:{port}" in mapping:
        return mapping[f"{host}:{port}"]
    if host in mapping:
        return mapping[host]
    for pattern, service in mapping.items():
        if pattern.startswith("*.") and (host.endswith(pattern[1:]) or host == pattern[2:]):
            return service
    return conf.OUTBOUND_UNMAPPED_SERVICE or None


on_change()(service_for.cache_clear)

_KNOWN = frozenset(KNOWN_METHODS)


class _Hooked:
    """What a hooked HTTP call needs at its end."""

    __slots__ = ("service", "operation", "enclosing", "started", "token")

    def __init__(self, service: str | None, operation: str, enclosing: Call | None) -> None:
        self.service = service
        self.operation = operation
        self.enclosing = enclosing
        self.started = time.perf_counter()
        self.token: Token[bool] = _in_hook.set(True)


def _begin(library: str, host: str | None, port: int | None, method: str | None, headers: Any) -> _Hooked | None:
    """Before the call: None when this call is not ours to count, else what ``_end`` needs. Never raises."""
    if _in_hook.get():
        return None
    with _GUARD:
        conf = get_settings()
        if library not in conf.OUTBOUND_HOOKS:
            return None
        if conf.OUTBOUND_REQUEST_ID:
            header = conf.REQUEST_ID_HEADER
            request_id = context.get_request_id()
            if request_id and header not in headers:
                headers[header] = request_id
        method = (method or "").upper()
        return _Hooked(service_for(host or "", port), method if method in _KNOWN else OTHER_METHOD, _current.get())
    return None


def _end(hooked: _Hooked | None, status_code: int | None, error: BaseException | None) -> None:
    if hooked is None:
        return
    duration = time.perf_counter() - hooked.started
    try:
        _in_hook.reset(hooked.token)
    except ValueError:
        _in_hook.set(False)
    if hooked.enclosing is not None:
        # Inside observe.dependency(): the block counts the call once, with this status.
        if status_code is not None:
            hooked.enclosing.http_status = status_code
        return
    if hooked.service is not None:
        record(hooked.service, hooked.operation, duration, error=error, http_status=status_code)


def _requests_parts(request: Any) -> tuple[str | None, int | None]:
    try:
        parts = urlsplit(request.url)
        return parts.hostname, parts.port
    except ValueError:  # a bad port in the URL: requests will say so itself
        return None, None


def _wrap_requests(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def send(session: Any, request: Any, **kwargs: Any) -> Any:
        host, port = _requests_parts(request)
        hooked = _begin("requests", host, port, request.method, request.headers)
        try:
            response = original(session, request, **kwargs)
        except BaseException as error:
            _end(hooked, None, error)
            raise
        _end(hooked, response.status_code, None)
        return response

    send.django_observe_original = original  # type: ignore[attr-defined]
    return send


def _wrap_httpx(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def send(client: Any, request: Any, **kwargs: Any) -> Any:
        hooked = _begin("httpx", request.url.host, request.url.port, request.method, request.headers)
        try:
            response = original(client, request, **kwargs)
        except BaseException as error:
            _end(hooked, None, error)
            raise
        _end(hooked, response.status_code, None)
        return response

    send.django_observe_original = original  # type: ignore[attr-defined]
    return send


def _wrap_httpx_async(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def send(client: Any, request: Any, **kwargs: Any) -> Any:
        hooked = _begin("httpx", request.url.host, request.url.port, request.method, request.headers)
        try:
            response = await original(client, request, **kwargs)
        except BaseException as error:
            _end(hooked, None, error)
            raise
        _end(hooked, response.status_code, None)
        return response

    send.django_observe_original = original  # type: ignore[attr-defined]
    return send


def _targets(library: str) -> list[tuple[Any, Callable[[Callable[..., Any]], Callable[..., Any]]]]:
    if library == "requests":
        import requests

        return [(requests.Session, _wrap_requests)]
    import httpx

    return [(httpx.Client, _wrap_httpx), (httpx.AsyncClient, _wrap_httpx_async)]


def install_hooks() -> list[str]:
    """Wrap the clients named in ``OUTBOUND_HOOKS`` (called from ``ready()``); the libraries hooked. Idempotent.

    A library that is not installed is skipped with one warning, never an error at startup.
    """
    hooked = []
    for library in get_settings().OUTBOUND_HOOKS:
        with guard.Guard("outbound_hooks", f"OUTBOUND_HOOKS names {library!r}, which could not be hooked (is it installed?)"):
            for cls, wrap in _targets(library):
                if not hasattr(cls.send, "django_observe_original"):
                    cls.send = wrap(cls.send)
            hooked.append(library)
    return hooked


def uninstall_hooks() -> None:
    """Restore the original ``send`` methods (tests)."""
    for library in ("requests", "httpx"):
        try:
            targets = _targets(library)
        except ImportError:
            continue
        for cls, _wrap in targets:
            original = getattr(cls.send, "django_observe_original", None)
            if original is not None:
                cls.send = original
