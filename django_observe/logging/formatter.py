"""The formatter: one event dict per line (context, identity, redaction), rendered as JSON or one console line."""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

from .. import context, tracing
from .._compat import structlog_context_used
from ..conf import get_settings
from ..redact import FILTERED, configured_words, safe_path

# --- the event dict ------------------------------------------------------------------------

# Attributes every LogRecord has; anything else on a record came from ``extra={...}``.
_RECORD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "_logger", "_name"}

# Keys we write ourselves: never secret, never scanned (keeps redaction cheap per line).
OWN_KEYS = frozenset(
    {
        "level",
        "logger",
        "timestamp",
        "request_id",
        "user_id",
        "service",
        "environment",
        "version",
        "request",
        "method",
        "route",
        "code",
        "duration_ms",
        "slow",
        "ip",
        "task_id",
        "task_name",
        "status_code",
        "path",
        "trace_id",
        "span_id",
        "module",
        "function",
        "line",
    }
)


def add_context(event_dict: dict[str, Any]) -> None:
    """Add the request or task context and the service identity to the event."""
    conf = get_settings()
    request_id = context.request_id_var.get()
    if request_id is not None:
        event_dict.setdefault("request_id", request_id)
        user_id = context.get_user_id()
        if user_id is not None:
            event_dict.setdefault("user_id", user_id)
    task_id = context.task_id_var.get()
    if task_id is not None:
        event_dict.setdefault("task_id", task_id)
        event_dict.setdefault("task_name", context.task_name_var.get())
    event_dict.setdefault("service", conf.SERVICE_NAME)
    event_dict.setdefault("environment", conf.ENVIRONMENT)
    event_dict.setdefault("version", conf.VERSION)
    if conf.TRACE_IDS:
        tracing.add_ids(event_dict)


def redact_secrets(event_dict: dict[str, Any]) -> None:
    """The one redactor (``django_observe.redact``) over a log line: secret keys at any depth,
    secrets inside strings (the message, exception text, URLs), in place."""
    words = configured_words()
    for key, value in event_dict.items():
        if key in OWN_KEYS:
            continue
        if words.is_secret_key(key):
            if value not in (None, "", FILTERED):
                event_dict[key] = FILTERED
        elif isinstance(value, (str, Mapping, list, tuple)):
            event_dict[key] = words.redact(value)


def _clean_request(event_dict: dict[str, Any]) -> None:
    """Django passes the HttpRequest in ``extra``: render it as "METHOD path" (its repr has the query string)."""
    request = event_dict.get("request")
    if request is not None and not isinstance(request, str):
        path = getattr(request, "path", None)
        if path is None:
            event_dict["request"] = type(request).__name__
        else:
            # Path parameters named like secrets (a password-reset <token>) are filtered, in the
            # message too ("Internal Server Error: /reset/MQ/<token>/").
            shown = safe_path(request, configured_words())
            event_dict["request"] = f"{getattr(request, 'method', None)} {shown}"
            if shown != path and isinstance(event_dict.get("event"), str):
                event_dict["event"] = event_dict["event"].replace(path, shown)
    event_dict.pop("server_time", None)  # runserver's, duplicates timestamp
    event_dict.pop("color_message", None)  # uvicorn's, the message again with terminal colours


def _exc_info(value: Any) -> Any:
    """structlog passes exc_info as True, an exception or a tuple: make it a sys.exc_info() tuple."""
    if value is True:
        return sys.exc_info()
    if isinstance(value, BaseException):
        return (type(value), value, value.__traceback__)
    return value


def timestamp(created: float) -> str:
    """ISO 8601 in UTC with microseconds; the formatted second is reused within that second."""
    seconds = int(created)
    second = _second[0]
    if second[0] != seconds:
        second = _second[0] = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)))  # one tuple: threads see both or neither
    return f"{second[1]}.{int((created - seconds) * 1_000_000):06d}Z"


_second: list[tuple[int, str]] = [(-1, "")]


_timestamp = timestamp  # the name bench/prototypes.py patches against


def _structlog_context() -> dict[str, Any]:
    # Walking the context costs per line; skip it while nothing was ever bound in this process.
    if structlog_context_used():
        return structlog.contextvars.get_contextvars()
    return {}


_JSON = json.JSONEncoder(default=repr, ensure_ascii=False)


# --- the formatter -------------------------------------------------------------------------


class ObserveFormatter(logging.Formatter):
    """Renders structlog events and stdlib records alike, as JSON or one console line.

    Written here rather than using structlog's ProcessorFormatter: that one copies every
    record and runs a processor chain per line, which measured ~100 µs per access line
    against ~20 µs for this direct path (bench/micro_foundation.py).
    """

    def __init__(self, log_format: str = "json") -> None:
        super().__init__()
        self.log_format = log_format
        self._console = structlog.dev.ConsoleRenderer(colors=False, pad_event_to=0) if log_format == "console" else None

    def event_dict(self, record: logging.LogRecord) -> dict[str, Any]:
        """The record as an event dict, with context, identity and redaction applied (not yet rendered)."""
        message = record.msg
        if isinstance(message, dict) and not record.args:
            # structlog's events (see _to_stdlib) and our access line put the event dict in msg.
            fields = dict(message)
        else:
            fields = {key: value for key, value in record.__dict__.items() if key not in _RECORD_ATTRS}
            fields["event"] = record.getMessage()
        event = self.complete(fields, record.name, record.levelname, record.created, record.exc_info, record.stack_info)
        if get_settings().LOG_CALLSITE:
            event["module"], event["function"], event["line"] = record.module, record.funcName, record.lineno
        return event

    def complete(
        self, fields: dict[str, Any], name: str, levelname: str, created: float, exc_info: Any = None, stack_info: str | None = None
    ) -> dict[str, Any]:
        """Turn the fields of one line into the event dict: our keys first, then context, redaction, traceback."""
        event = {"event": fields.pop("event", "")}
        event["level"] = fields.pop("level", None) or levelname.lower()
        event["logger"] = name
        event["timestamp"] = timestamp(created)
        event.update(fields)
        for key, value in _structlog_context().items():
            event.setdefault(key, value)
        add_context(event)
        _clean_request(event)
        redact_secrets(event)
        exc_info = _exc_info(event.pop("exc_info", None)) or exc_info
        if exc_info and exc_info[0] is not None:
            # Exception messages carry query strings and DSNs as often as log messages do.
            text = self.formatException(exc_info) if self._console is None else escaped_traceback(exc_info)
            event["exception"] = configured_words().scrub_string(text)
        if event.pop("stack_info", None) is True or stack_info:
            event["stack"] = stack_info or "".join(traceback.format_stack())
        return event

    def render(self, event: dict[str, Any]) -> str:
        """One line of JSON, or one console line."""
        if self._console is None:
            return _JSON.encode(event)
        line: str = self._console(None, event["level"], console_safe(event))
        return line

    def format(self, record: logging.LogRecord) -> str:
        return self.render(self.event_dict(record))


# Every C0 and C1 control character, DEL, and the Unicode line and paragraph separators: any of
# them could start a new line or move the cursor on a terminal, and so forge a log line.
_CONTROL = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_CONTROL.update({0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x2028: "\\u2028", 0x2029: "\\u2029"})


def escape_controls(text: str) -> str:
    """``text`` with every control character written as an escape (``\\n``, ``\\x1b``, ``\\u2028``)."""
    return text.translate(_CONTROL) if not text.isprintable() else text


def escaped_traceback(exc_info: Any) -> str:
    """The traceback with every control character of each exception's message line escaped.

    The stack lines come from the code and stay as they are; a message is what the outside can
    control (``?m=line1%0AFORGED`` decoded into an exception), so its CR, LF, ESC, NEL, U+2028 ...
    are written as escapes and it stays one line.
    """
    te = traceback.TracebackException(*exc_info)
    own: set[str] = set()
    current: traceback.TracebackException | None = te
    seen: set[int] = set()
    while current is not None and id(current) not in seen:  # the cause/context chain, as format() walks it
        seen.add(id(current))
        own.update(current.format_exception_only())
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return "".join(escape_controls(chunk[:-1]) + "\n" if chunk in own and chunk.endswith("\n") else chunk for chunk in te.format()).rstrip(
        "\n"
    )


def console_safe(event: dict[str, Any]) -> dict[str, Any]:
    """The event for one console line that no key or value can break or colour.

    Keys and string values are escaped; a traceback keeps its lines but each one is indented, so
    nothing in an exception message can appear at the start of a line as if it were a new entry.
    """
    safe: dict[str, Any] = {}
    for key, value in event.items():
        key = escape_controls(key) if isinstance(key, str) else key
        if key in ("exception", "stack") and isinstance(value, str):
            safe[key] = "\n".join("    " + escape_controls(line) for line in value.splitlines())
        elif isinstance(value, str):
            safe[key] = escape_controls(value)
        elif isinstance(value, (dict, list, tuple)):
            safe[key] = escape_controls(repr(value))
        else:
            safe[key] = value
    return safe


def make_formatter(log_format: str | None = None) -> logging.Formatter:
    """The formatter for LOGGING configs (``"()": "django_observe.logging.make_formatter"``)."""
    configure_structlog()
    return ObserveFormatter(log_format or get_settings().LOG_FORMAT)


def configure_structlog() -> None:
    """Route structlog through stdlib logging, so one handler and one formatter render everything.

    The chain is short on purpose: context, identity and redaction are added by the
    formatter, once, for structlog events and stdlib records alike.
    """
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            _to_stdlib,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def _to_stdlib(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> tuple[tuple[MutableMapping[str, Any]], dict[str, Any]]:
    """Hand the event dict to the stdlib logger as the record's msg (what ObserveFormatter reads)."""
    return (event_dict,), {}
