"""Capturing errors: the ``before_send`` hook that feeds the local store, and the lean capture path.

``sentry.init_sentry()`` picks the SDK client and calls ``install()``; from then on every
captured error -- with or without a DSN -- goes through the SDK's own pipeline (event
building, its ``EventScrubber``, serialization), then ``before_send``: a second scrubbing
pass (query strings, form and JSON bodies, headers, ``REDACT_KEYS``), the ``request_id``
tag, your own ``before_send`` (chained, not replaced), then the local store. The returned
event goes on to Sentry when a DSN is set.

Lean mode (no sentry-sdk Django/logging integrations, see ``sentry``): we build the events
ourselves, from a ``got_request_exception`` receiver for unhandled request exceptions and a
logging handler on the root logger for ERROR records. A request that does not fail pays only
for its own Sentry isolation scope (``enter_request_scope``, ~4 us): without the Django
integration nothing else forks one, and every request of a worker thread shared one trace id
and the tags, user and extras any earlier view had set.

One failure is one event: Django's "Internal Server Error" line (``django.request``) and
our own ``request_failed`` access line (``django_observe.*``) are never captured, and an
exception object already captured is not captured again (``logger.exception`` in a view
that then re-raises).
"""

from __future__ import annotations

import dataclasses
import logging
import random
import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any, cast

import sentry_sdk
from django.core.signals import got_request_exception
from django.http import HttpRequest
from sentry_sdk.scope import Scope
from sentry_sdk.utils import event_from_exception

from .. import context, tracing
from ..conf import get_settings
from ..guard import Guard
from ..metrics.commands import running_command
from . import events, intake, scrub
from . import fingerprint as grouping

Event = dict[str, Any]
Hint = dict[str, Any]
BeforeSend = Callable[[Event, Hint], "Event | None"]

# Loggers whose ERROR records are never captured: ours (the access line repeats the
# request's exception; a storage failure must not feed itself back), Django's request
# and server lines (the exception arrives through got_request_exception), and the SDK's.
SKIPPED_LOGGERS = ("django_observe", "django.request", "django.server", "sentry_sdk")
_SKIPPED_DOTTED = tuple(name + "." for name in SKIPPED_LOGGERS)
_CAPTURED_ATTR = "__django_observe_captured__"
#: dispatch_uid of our got_request_exception receiver (unchanged since it lived in ``sentry``).
RECEIVER_UID = "django_observe.sentry"


@dataclasses.dataclass
class CaptureState:
    client: Any = None  # the SDK client our events go through (the global one, or a private local-only one)
    ours: bool = False  # client is the global client and init_sentry() created it
    capture_requests: bool = False  # our got_request_exception receiver builds events
    capture_logs: bool = False  # our root-logger handler builds events
    user_before_send: BeforeSend | None = None
    handler: logging.Handler | None = None
    isolate_requests: bool = False  # events go through the global scopes and no SDK integration forks one per request


_state = CaptureState()
# A failure of ours while capturing: the event is dropped (never sent unscrubbed), counted, logged once.
_GUARD = Guard("sentry", "Could not prepare a captured error; it was dropped")


def install(client: Any, *, ours: bool, user_before_send: BeforeSend | None, requests: bool, logs: bool) -> None:
    """Send our events through ``client``; build events for request exceptions / ERROR records ourselves when asked.

    ``ours``: ``client`` is the global client ``init_sentry()`` created. ``requests`` / ``logs``:
    no sentry-sdk integration captures those, so our receiver / root-logger handler does.
    """
    _state.client = client
    _state.ours = ours
    _state.user_before_send = user_before_send
    _state.capture_requests = requests
    _state.capture_logs = logs
    _state.isolate_requests = requests and (ours or client is sentry_sdk.get_client())
    got_request_exception.connect(on_request_exception, dispatch_uid=RECEIVER_UID)
    root = logging.getLogger()
    if logs and _state.handler is None:
        _state.handler = ErrorLogHandler()
        root.addHandler(_state.handler)
    elif not logs and _state.handler is not None:
        root.removeHandler(_state.handler)
        _state.handler = None
    elif logs and _state.handler not in root.handlers:
        root.addHandler(_state.handler)  # type: ignore[arg-type]


def installed() -> bool:
    """True once init_sentry() ran (events are captured)."""
    return _state.client is not None


def user_before_send() -> BeforeSend | None:
    """The host's own before_send, run after ours (None when there is none)."""
    return _state.user_before_send


def log_handler() -> logging.Handler | None:
    """The root-logger handler that turns ERROR records into events (lean mode), if installed."""
    return _state.handler


# --- one Sentry scope per request (lean mode; ObserveMiddleware calls these) ----------


def enter_request_scope(request: HttpRequest) -> Any:
    """Give the request its own isolation scope and trace id; returns what ``leave_request_scope`` restores (None: nothing to do).

    What the SDK's Django integration does per request, at its cheapest: fork the isolation scope
    (``sentry_sdk.set_tag``/``set_user``/``set_extra`` in a view stay in its request) and start a new
    trace id (an incoming ``sentry-trace`` header is continued). The current scope is not forked.
    """
    if not _state.isolate_requests:
        return None
    previous = Scope.get_isolation_scope()
    scope = previous.fork()
    incoming = request.META.get("HTTP_SENTRY_TRACE")
    if incoming:
        scope.generate_propagation_context({"sentry-trace": incoming, "baggage": request.META.get("HTTP_BAGGAGE", "")})
    else:
        scope.set_new_propagation_context()
    Scope.set_isolation_scope(scope)
    return previous


def leave_request_scope(previous: Any) -> None:
    """The request is answered: the scope its view may have changed is dropped."""
    if previous is not None:
        Scope.set_isolation_scope(previous)


# --- before_send: runs in the capturing thread, after the SDK's scrubber -------------


def before_send(event: Event, hint: Hint) -> Event | None:
    """Scrub again, tag with the request id, run the user's hook, then feed the local store."""
    scrubbed = False
    request_id = None
    with _GUARD:
        scrub.scrub_event(event, get_settings().REDACT_KEYS)
        request_id = context.get_request_id()
        if request_id:
            tags = event["tags"] = event["tags"] if isinstance(event.get("tags"), dict) else {}
            tags.setdefault("request_id", request_id)
        if context.task_id_var.get():
            event.setdefault("tags", {}).setdefault("celery_task_id", context.task_id_var.get())
        tracing.tag_event(event)
        scrubbed = True
    if not scrubbed:
        return None  # never send an event we could not scrub
    user_hook = _state.user_before_send
    if user_hook is not None:
        event = user_hook(event, hint)  # type: ignore[assignment]
        if event is None:
            return None
    if _crashed_command(event) and not get_settings().ERRORS_CAPTURE_COMMANDS:
        return event  # Sentry still gets it (DSN set); the site's error list does not
    intake.submit(event, request_id=request_id, user_id=context.get_user_id(), shortcut=hint.get("observe_shortcut"))
    return event


def _crashed_command(event: Event) -> bool:
    """The exception that ends a ``manage.py`` command (sentry-sdk's excepthook), not a failure of the site."""
    exception = grouping.last_exception(event) or {}
    mechanism = exception.get("mechanism") or {}
    return isinstance(mechanism, dict) and mechanism.get("type") == "excepthook" and running_command() is not None


# --- capture: our own entry points (lean mode, and the public helpers) ---------------


def _already_captured(error: BaseException) -> bool:
    if getattr(error, _CAPTURED_ATTR, False):
        return True
    try:
        setattr(error, _CAPTURED_ATTR, True)
    except Exception:  # an exception type with __slots__: accept a possible duplicate
        pass
    return False


def _options_for(client: Any) -> dict[str, Any]:
    # The SDK re-reads each frame's source file through its module loader on every event
    # (no cache); we add the same context from linecache instead (see events.add_source_context).
    return {**client.options, "include_source_context": False}


def _exception_key(error: BaseException) -> tuple[Any, ...]:
    """Type and raise path (file, line) of an exception: finer than its group, cheap to compute."""
    positions: list[tuple[str, int]] = []
    tb = error.__traceback__
    while tb is not None and len(positions) < 64:
        positions.append((tb.tb_frame.f_code.co_filename, tb.tb_lineno))
        tb = tb.tb_next
    return (type(error), tuple(positions))


def _count_known(shortcut: Any) -> bool:
    """Storm fast path: count a failure seen before without building its event (local-only clients)."""
    client = _state.client
    if client is None or getattr(client, "transport", None) is not None or _state.user_before_send is not None:
        return False  # events also go to Sentry, or a user hook must see each one
    return intake.buffer.count_known(shortcut)


def _event_from_exception(exc_info: Any, client: Any, mechanism: dict[str, Any]) -> tuple[Event, Hint]:
    """sentry-sdk builds the event (frames, locals, its serialization) exactly as for its own captures."""
    built, hint = event_from_exception(exc_info, client_options=_options_for(client), mechanism=mechanism)
    return cast(Event, built), hint


def _exc_info(error: BaseException) -> tuple[type[BaseException], BaseException, TracebackType | None]:
    return type(error), error, error.__traceback__


def _capture(event: Event, hint: Hint, tags: dict[str, Any] | None = None, extra: dict[str, Any] | None = None) -> str | None:
    if tags:
        event.setdefault("tags", {}).update({key: str(value) for key, value in tags.items()})
    if extra:
        event.setdefault("extra", {}).update(extra)
    client = _state.client
    if client is None:
        return None
    # The SDK returns None when there is no transport (no DSN); the id is ours to report.
    # Not uuid4: an event id needs no cryptographic randomness, and os.urandom is a syscall.
    event_id = event.setdefault("event_id", f"{random.getrandbits(128):032x}")
    sdk_event = cast(Any, event)  # sentry-sdk types events as a TypedDict; ours are plain dicts
    if _state.ours or client is sentry_sdk.get_client():
        sentry_sdk.capture_event(sdk_event, hint=hint)
    else:
        client.capture_event(sdk_event, hint=hint)
    return str(event_id)


def capture_exception(
    error: BaseException | None = None,
    request: HttpRequest | None = None,
    tags: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    handled: bool = True,
) -> str | None:
    """Capture ``error`` (default: the one being handled) with the request id and your context.

    Goes to Sentry (when a DSN is set) and to the local store. Returns the event id, or
    None when nothing was captured (no exception, already captured, dropped). Never raises.
    """
    with _GUARD:
        if error is None:
            error = sys.exc_info()[1]
        if error is None or _already_captured(error):
            return None
        client = _state.client
        if client is None:
            return None
        shortcut = ("exception", handled, _exception_key(error)) if not tags and not extra else None
        if shortcut is not None and _count_known(shortcut):
            return None
        event, hint = _event_from_exception(_exc_info(error), client, {"type": "django_observe", "handled": handled})
        hint["observe_shortcut"] = shortcut
        events.trim_library_frames(event)
        events.add_source_context(event)
        if request is None:
            request = context.request_var.get()
        if request is not None:
            _add_request(event, request)
        return _capture(event, hint, tags, extra)
    return None


def capture_message(
    message: str,
    level: str = "error",
    request: HttpRequest | None = None,
    tags: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> str | None:
    """Capture a message (no exception) with the request id and your context; returns the event id."""
    with _GUARD:
        event: Event = {"level": level, "message": message, "logentry": {"message": message, "formatted": message}}
        if request is not None:
            _add_request(event, request)
        return _capture(event, {}, tags, extra)
    return None


def on_request_exception(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """Unhandled exception in a view or middleware (Django is about to render its 500)."""
    if not _state.capture_requests:
        return
    error = sys.exc_info()[1]
    if error is None:
        return
    capture_exception(error, request=request, handled=False)


def _add_request(event: Event, request: HttpRequest) -> None:
    with _GUARD:  # a half-built request section is not worth losing the event for
        events.add_request(event, request, bool(get_settings().SENTRY_SEND_DEFAULT_PII))


class ErrorLogHandler(logging.Handler):
    """Root-logger handler that turns ERROR (and above) records into events (lean mode).

    Its level filters everything below ERROR before ``emit`` runs, so INFO/WARNING lines
    (the access line of every request) cost one integer comparison.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        with _GUARD:
            name = record.name
            if name in SKIPPED_LOGGERS or name.startswith(_SKIPPED_DOTTED) or not _state.capture_logs:
                return
            client = _state.client
            if client is None:
                return
            exc_info, message, formatted, extra = _record_parts(record)
            error = exc_info[1] if exc_info else None
            if error is not None and _already_captured(error):
                return
            shortcut = ("log", name, record.levelno, message, _exception_key(error) if error is not None else None)
            if _count_known(shortcut):
                return
            if error is not None:
                event, hint = _event_from_exception(exc_info, client, {"type": "logging", "handled": True})
                events.trim_library_frames(event)
                events.add_source_context(event)
            else:
                event, hint = {}, {}
            hint["log_record"] = record
            hint["observe_shortcut"] = shortcut
            event["level"] = "fatal" if record.levelno >= logging.CRITICAL else "error"
            event["logger"] = name
            event["logentry"] = {"message": message, "formatted": formatted, "params": [] if extra is not None else _params(record.args)}
            if extra:
                event["extra"] = extra
            request = context.request_var.get()
            if request is not None:
                _add_request(event, request)
            _capture(event, hint)


_STRUCTLOG_META = frozenset({"event", "exc_info", "exception", "stack_info", "level", "logger", "timestamp", "_record", "_from_structlog"})


def _record_parts(record: logging.LogRecord) -> tuple[Any, str, str, dict[str, Any] | None]:
    """(exc_info, template, formatted message, structured fields) of a stdlib or structlog record."""
    msg = record.msg
    if isinstance(msg, dict):  # structlog through ProcessorFormatter.wrap_for_formatter: the event dict
        message = str(msg.get("event", ""))
        exc: Any = msg.get("exc_info") or record.exc_info
        if exc is True:
            exc = sys.exc_info()
        elif isinstance(exc, BaseException):
            exc = (type(exc), exc, exc.__traceback__)
        if not (isinstance(exc, tuple) and len(exc) == 3 and exc[1] is not None):
            exc = None
        fields = {key: value for key, value in msg.items() if key not in _STRUCTLOG_META}
        return exc, message, message, fields
    exc_info = record.exc_info if record.exc_info and record.exc_info[1] is not None else None
    return exc_info, msg if isinstance(msg, str) else str(msg), record.getMessage(), None


def _params(args: Any) -> list[Any]:
    if not args:
        return []
    if isinstance(args, dict):
        return [args]
    return list(args) if isinstance(args, tuple) else [args]


# --- the test error: proves the whole pipeline (admin button and observe_test_error) ----


class ObserveTestError(Exception):
    """Raised on purpose by "Send a test error"; safe to resolve or delete."""


def send_test_error(actor: str = "") -> str | None:
    """Raise and capture a test error through the same path as a real one; returns its event id."""
    who = f" by {actor}" if actor else ""
    try:
        raise ObserveTestError(f"django-observe test error sent{who}; safe to resolve")
    except ObserveTestError as error:
        return capture_exception(error, tags={"observe_test": "yes"})
