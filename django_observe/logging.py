"""Structured logs: structlog and stdlib ``logging`` rendered by one formatter.

Every line, whoever writes it (our access line, the host's structlog or stdlib
loggers, Django's own ``django.request`` lines), is rendered by ObserveFormatter
and so carries ``request_id``, ``user_id`` (when known), ``service``,
``environment``, ``version``, ``timestamp``, ``level`` and ``logger``; values
under secret-looking keys are replaced by ``[Filtered]``.

Two ways in: ``ObserveConfig.ready()`` calls ``configure()`` (``CONFIGURE_LOGGING``,
the default), or the host writes ``LOGGING = django_observe.logging.logging_config()``.
"""

from __future__ import annotations

import functools
import json
import logging
import logging.handlers
import sys
import time
import traceback
from collections.abc import Mapping
from typing import Any

import structlog

from . import context
from ._compat import reopen, structlog_context_used
from .conf import get_settings, on_change
from .guard import report

FILTERED = "[Filtered]"
FORMATTER_PATH = "django_observe.logging.make_formatter"


# --- the event dict ------------------------------------------------------------------------

# Attributes every LogRecord has; anything else on a record came from ``extra={...}``.
_RECORD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "_logger", "_name"}

# Keys we write ourselves: never secret, never scanned (keeps redaction cheap per line).
_OWN_KEYS = frozenset(
    {
        "event", "level", "logger", "timestamp", "request_id", "user_id", "service", "environment",
        "version", "request", "method", "route", "code", "duration_ms", "slow", "ip", "task_id",
        "task_name", "exception", "status_code",
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


@functools.lru_cache(maxsize=4096)
def _is_secret_key(key: str, secret_words: tuple[str, ...]) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in secret_words)


def _redact_value(value: Any, secret_words: tuple[str, ...], depth: int = 0) -> Any:
    if depth > 5:
        return value
    if isinstance(value, Mapping):
        return {
            k: FILTERED if isinstance(k, str) and _is_secret_key(k, secret_words) else _redact_value(v, secret_words, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_redact_value(item, secret_words, depth + 1) for item in value]
    return value


def redact_secrets(event_dict: dict[str, Any]) -> None:
    """Replace values under keys that look like secrets (password, token, cookie, ...) by ``[Filtered]``."""
    secret_words = get_settings().REDACT_KEYS
    for key, value in event_dict.items():
        if key in _OWN_KEYS:
            continue
        if _is_secret_key(key, secret_words):
            event_dict[key] = FILTERED
        elif isinstance(value, (Mapping, list, tuple)):
            event_dict[key] = _redact_value(value, secret_words)


def _clean_request(event_dict: dict[str, Any]) -> None:
    """Django passes the HttpRequest in ``extra``: render it as "METHOD path" (its repr has the query string)."""
    request = event_dict.get("request")
    if request is not None and not isinstance(request, str):
        path = getattr(request, "path", None)
        event_dict["request"] = f"{getattr(request, 'method', None)} {path}" if path is not None else type(request).__name__
    event_dict.pop("server_time", None)  # runserver's, duplicates timestamp
    event_dict.pop("color_message", None)  # uvicorn's, the message again with terminal colours


def _exc_info(value: Any) -> Any:
    """structlog passes exc_info as True, an exception or a tuple: make it a sys.exc_info() tuple."""
    if value is True:
        return sys.exc_info()
    if isinstance(value, BaseException):
        return (type(value), value, value.__traceback__)
    return value


@functools.lru_cache(maxsize=4)
def _second(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def _timestamp(created: float) -> str:
    """ISO 8601 in UTC with microseconds; the formatted second is reused within that second."""
    seconds = int(created)
    return f"{_second(seconds)}.{int((created - seconds) * 1_000_000):06d}Z"


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
        return self.complete(fields, record.name, record.levelname, record.created, record.exc_info, record.stack_info)

    def complete(
        self, fields: dict[str, Any], name: str, levelname: str, created: float, exc_info: Any = None, stack_info: str | None = None
    ) -> dict[str, Any]:
        """Turn the fields of one line into the event dict: our keys first, then context, redaction, traceback."""
        event = {"event": fields.pop("event", "")}
        event["level"] = fields.pop("level", None) or levelname.lower()
        event["logger"] = name
        event["timestamp"] = _timestamp(created)
        event.update(fields)
        for key, value in _structlog_context().items():
            event.setdefault(key, value)
        add_context(event)
        _clean_request(event)
        redact_secrets(event)
        exc_info = _exc_info(event.pop("exc_info", None)) or exc_info
        if exc_info and exc_info[0] is not None:
            event["exception"] = self.formatException(exc_info)
        if event.pop("stack_info", None) is True or stack_info:
            event["stack"] = stack_info or "".join(traceback.format_stack())
        return event

    def render(self, event: dict[str, Any]) -> str:
        """One line of JSON, or one console line."""
        if self._console is None:
            return _JSON.encode(event)
        for key, value in event.items():
            # A value cannot start a new line, so it cannot forge one (tracebacks stay readable).
            if key not in ("exception", "stack") and isinstance(value, str) and ("\n" in value or "\r" in value):
                event[key] = value.replace("\r", "\\r").replace("\n", "\\n")
        return self._console(None, event["level"], event)  # type: ignore[return-value]

    def format(self, record: logging.LogRecord) -> str:
        return self.render(self.event_dict(record))


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


def _to_stdlib(logger: Any, method_name: str, event_dict: dict[str, Any]) -> tuple[tuple[dict[str, Any]], dict[str, Any]]:
    """Hand the event dict to the stdlib logger as the record's msg (what ObserveFormatter reads)."""
    return (event_dict,), {}


def logging_config(level: str | None = None, log_file: str | None = None) -> dict[str, Any]:
    """A LOGGING dict that renders every line through our formatter.

    Use it when you configure logging yourself: ``LOGGING = logging_config()`` in settings
    (extend the returned dict as you like). It runs while settings are being read, so the
    level defaults to the ``LOG_LEVEL`` env var (else INFO) and the file to OBSERVE's
    ``LOG_FILE``, read when Django builds the handler.
    """
    handler: dict[str, Any] = {"class": "django_observe.logging.ObserveHandler", "formatter": "django_observe"}
    if level:
        handler["level"] = level
    if log_file:
        handler["log_file"] = log_file
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"django_observe": {"()": FORMATTER_PATH}},
        "handlers": {"django_observe": handler},
        "root": {"handlers": ["django_observe"], "level": level or _level_from_env()},
        "loggers": {
            "django": {"handlers": [], "level": "INFO", "propagate": True},
            # runserver's own "GET / 200" lines duplicate our access line.
            "django.server": {"handlers": [], "level": "WARNING", "propagate": True},
        },
    }


def _level_from_env() -> str:
    import os

    return (os.environ.get("LOG_LEVEL") or "INFO").upper()


class ObserveHandler(logging.Handler):
    """Writes to LOG_FILE when set, else to stderr.

    A log file moved away by logrotate is noticed within a second and reopened (checking
    on every line, as WatchedFileHandler does, costs a stat() per line).
    """

    reopen_check_seconds = 1.0

    def __init__(self, level: int | str = logging.NOTSET, log_file: str | None = None) -> None:
        super().__init__(level)
        path = log_file if log_file is not None else get_settings().LOG_FILE
        self.inner: logging.Handler = logging.StreamHandler(sys.stderr)
        self._checked_at = 0.0
        if path:
            try:
                self.inner = logging.handlers.WatchedFileHandler(path, encoding="utf-8")
            except OSError:
                # A missing directory must not stop the site (gunicorn runs no checks; E002 says it).
                report("logging", message=f"Cannot open LOG_FILE {path!r}, so log lines go to stderr", level=logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._write(self.format(record), record.created)
        except OSError:
            self._lost()
        except Exception:
            self.handleError(record)

    @staticmethod
    def _lost() -> None:
        # A full or read-only disk: the request goes on; every lost line is counted, the first is logged
        # (the report itself is written to the same failing file and lost; the count is what remains).
        report("log_write", message="Could not write a log line to LOG_FILE (disk full or not writable); lines are being lost", level=logging.ERROR)

    def _write(self, line: str, created: float) -> None:
        if isinstance(self.inner, logging.handlers.WatchedFileHandler):
            if self.inner.stream is None:
                # A second dictConfig (Celery, a second django.setup()) closes every handler it
                # finds, ours included; reopen instead of losing every later line.
                self.inner.stream = reopen(self.inner)
            elif created - self._checked_at >= self.reopen_check_seconds:
                self._checked_at = created
                self.inner.reopenIfNeeded()
        self.inner.stream.write(line + "\n")  # type: ignore[attr-defined]
        self.inner.flush()

    def write_fields(self, name: str, level: int, fields: dict[str, Any], exc_info: Any) -> None:
        """Render and write one line from its fields, without a LogRecord (the access line's fast path)."""
        formatter = self.formatter
        if not isinstance(formatter, ObserveFormatter):
            raise TypeError("write_fields needs an ObserveFormatter")
        created = time.time()
        line = formatter.render(formatter.complete(fields, name, logging.getLevelName(level), created, exc_info))
        with self.lock:  # type: ignore[union-attr]
            try:
                self._write(line, created)
            except OSError:
                self._lost()

    def close(self) -> None:
        self.inner.close()
        super().close()


def configure() -> None:
    """Install our handler on the root logger (``CONFIGURE_LOGGING``); called from ready().

    Leaves the handlers alone when LOGGING already routes the root logger through our
    formatter. Otherwise replaces the root handlers (two would print every line twice);
    calling it again (settings changed) replaces the handler it installed before.
    """
    root = logging.getLogger()
    if any(isinstance(h.formatter, ObserveFormatter) and not getattr(h, "installed_by_configure", False) for h in root.handlers):
        configure_structlog()  # LOGGING = logging_config() already did the rest
        return
    conf = get_settings()
    handler = ObserveHandler()
    handler.installed_by_configure = True  # type: ignore[attr-defined]
    handler.setFormatter(make_formatter(conf.LOG_FORMAT))
    for existing in root.handlers[:]:
        root.removeHandler(existing)
        if getattr(existing, "installed_by_configure", False):
            existing.close()
    root.addHandler(handler)
    root.setLevel(conf.LOG_LEVEL)
    django_logger = logging.getLogger("django")
    # Django's default console handler would print the same line a second time;
    # mail_admins stays (it only sends when ADMINS is set and DEBUG is off).
    django_logger.handlers = [h for h in django_logger.handlers if isinstance(h, logging.handlers.SMTPHandler) or h.__class__.__name__ == "AdminEmailHandler"]
    django_logger.propagate = True
    server_logger = logging.getLogger("django.server")
    server_logger.handlers = []
    server_logger.propagate = True
    server_logger.setLevel(logging.WARNING)


ACCESS_LOGGER_NAME = "django_observe.request"
_access_stdlib_logger = logging.getLogger(ACCESS_LOGGER_NAME)


@functools.cache
def access_logger() -> Any:
    """A structlog logger named like the access line's, handed to django-structlog signal receivers."""
    return structlog.get_logger(ACCESS_LOGGER_NAME)


def log_access(level: int, event: str, fields: dict[str, Any], exception: BaseException | None = None) -> None:
    """Write the access line.

    When nothing but our own handler would see it (the default set-up), the line is rendered
    and written directly: building a LogRecord and walking the logger tree cost about a third
    of the line (bench/PROFILE.md). Otherwise it goes through stdlib logging like any line, so
    your handlers, filters and levels on ``django_observe.request`` apply.
    """
    if not _access_stdlib_logger.isEnabledFor(level):
        return
    fields["event"] = event
    exc_info = (type(exception), exception, exception.__traceback__) if exception is not None else None
    handler = _sole_observe_handler(level)
    if handler is not None:
        try:
            handler.write_fields(ACCESS_LOGGER_NAME, level, fields, exc_info)
        except Exception:
            handler.handleError(_access_stdlib_logger.makeRecord(ACCESS_LOGGER_NAME, level, "", 0, fields, (), exc_info))
        return
    record = _access_stdlib_logger.makeRecord(ACCESS_LOGGER_NAME, level, "", 0, fields, (), exc_info)
    _access_stdlib_logger.handle(record)


def _sole_observe_handler(level: int) -> ObserveHandler | None:
    """The root's ObserveHandler when it is the only handler taking ``level``, and no filter is on the way.

    Handlers whose level is above the line's (the error tracker's ERROR handler for an INFO
    access line) would ignore it anyway.
    """
    logger: logging.Logger | None = _access_stdlib_logger
    while logger is not None:
        if logger.filters:
            return None
        if logger.parent is None:  # the root
            handlers = [handler for handler in logger.handlers if handler.level <= level]
            if len(handlers) == 1 and type(handlers[0]) is ObserveHandler and not handlers[0].filters:
                return handlers[0]
            return None
        if logger.handlers or not logger.propagate:
            return None
        logger = logger.parent
    return None


@on_change()
def _forget_cached_loggers() -> None:
    access_logger.cache_clear()
    _is_secret_key.cache_clear()

