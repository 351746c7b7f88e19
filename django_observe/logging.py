"""Structured logs: structlog and stdlib ``logging`` rendered by one formatter.

Every line, whoever writes it (our access line, the host's structlog or stdlib
loggers, Django's own ``django.request`` lines), goes through the same
processors and so carries ``request_id``, ``user_id`` (when known), ``service``,
``environment``, ``version``, ``timestamp``, ``level`` and ``logger``; values
under secret-looking keys are replaced by ``[Filtered]``.

Two ways in: ``ObserveConfig.ready()`` calls ``configure()`` (``CONFIGURE_LOGGING``,
the default), or the host writes ``LOGGING = django_observe.logging.logging_config()``.
"""

from __future__ import annotations

import functools
import logging
import logging.handlers
import sys
from collections.abc import Mapping
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from . import context
from .conf import get_settings, on_settings_reset

FILTERED = "[Filtered]"
FORMATTER_PATH = "django_observe.logging.make_formatter"

# Keys we write ourselves: never secret, never scanned (keeps redaction cheap per line).
_OWN_KEYS = frozenset(
    {
        "event", "level", "logger", "timestamp", "request_id", "user_id", "service", "environment",
        "version", "request", "method", "route", "code", "duration_ms", "slow", "ip", "task_id",
        "task_name", "exception", "exc_info", "stack_info", "status_code", "_record", "_from_structlog",
    }
)


# --- processors ---------------------------------------------------------------------------


def add_context(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
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
    return event_dict


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


def redact_secrets(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Replace values under keys that look like secrets (password, token, cookie, ...) by ``[Filtered]``."""
    secret_words = get_settings().REDACT_KEYS
    for key, value in event_dict.items():
        if key in _OWN_KEYS:
            continue
        if _is_secret_key(key, secret_words):
            event_dict[key] = FILTERED
        elif isinstance(value, (Mapping, list, tuple)):
            event_dict[key] = _redact_value(value, secret_words)
    return event_dict


def clean_django_extras(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Django passes the HttpRequest in ``extra``: render it as "METHOD path" (its repr has the query string)."""
    request = event_dict.get("request")
    if request is not None and not isinstance(request, str):
        method = getattr(request, "method", None)
        path = getattr(request, "path", None)
        event_dict["request"] = f"{method} {path}" if path is not None else type(request).__name__
    event_dict.pop("server_time", None)
    return event_dict


def escape_newlines(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Console mode: a value cannot start a new line, so it cannot forge one."""
    for key, value in event_dict.items():
        if key != "exception" and isinstance(value, str) and ("\n" in value or "\r" in value):
            event_dict[key] = value.replace("\r", "\\r").replace("\n", "\\n")
    return event_dict


def _drop_color_message(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    # uvicorn adds a duplicate of the message with terminal colour codes.
    event_dict.pop("color_message", None)
    return event_dict


def shared_processors() -> list[Processor]:
    """What every line passes through, structlog and stdlib alike, before rendering."""
    return [
        structlog.contextvars.merge_contextvars,
        add_context,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        clean_django_extras,
        _drop_color_message,
        redact_secrets,
        structlog.processors.StackInfoRenderer(),
    ]


def renderer(log_format: str) -> list[Processor]:
    """The last processors: tracebacks to text, then JSON or a console line."""
    if log_format == "console":
        return [
            structlog.processors.format_exc_info,
            escape_newlines,
            structlog.dev.ConsoleRenderer(colors=False, pad_event_to=0),
        ]
    return [
        structlog.processors.format_exc_info,
        structlog.processors.JSONRenderer(),
    ]


# --- wiring -------------------------------------------------------------------------------


class ObserveFormatter(structlog.stdlib.ProcessorFormatter):
    """A ProcessorFormatter that reads LOG_FORMAT when it is built (at django.setup)."""


def make_formatter(log_format: str | None = None) -> logging.Formatter:
    """The formatter for LOGGING configs: renders structlog events and stdlib records alike."""
    configure_structlog()
    log_format = log_format or get_settings().LOG_FORMAT
    return ObserveFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared_processors()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer(log_format)],
    )


def configure_structlog() -> None:
    """Route structlog through stdlib logging so one handler renders everything."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def logging_config(level: str | None = None, log_file: str | None = None) -> dict[str, Any]:
    """A LOGGING dict that renders every line through our formatter.

    Use it when you configure logging yourself: ``LOGGING = logging_config()`` in settings
    (extend the returned dict as you like). Level and file default to OBSERVE's
    ``LOG_LEVEL`` / ``LOG_FILE``, read when Django sets logging up.
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
        "root": {"handlers": ["django_observe"], "level": level or _level_from_settings()},
        "loggers": {
            "django": {"handlers": [], "level": "INFO", "propagate": True},
            # runserver's own "GET / 200" lines duplicate our access line.
            "django.server": {"handlers": [], "level": "WARNING", "propagate": True},
        },
    }


def _level_from_settings() -> str:
    import os

    return (os.environ.get("LOG_LEVEL") or "INFO").upper()


class ObserveHandler(logging.Handler):
    """Writes to LOG_FILE (reopened after rotation) when set, else to stderr."""

    def __init__(self, level: int | str = logging.NOTSET, log_file: str | None = None) -> None:
        super().__init__(level)
        path = log_file if log_file is not None else get_settings().LOG_FILE
        self.inner: logging.Handler = (
            logging.handlers.WatchedFileHandler(path, encoding="utf-8") if path else logging.StreamHandler(sys.stderr)
        )

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.inner.stream.write(self.format(record) + "\n")  # type: ignore[attr-defined]
            self.inner.flush()
        except Exception:
            self.handleError(record)

    def handle(self, record: logging.LogRecord) -> bool:  # reopen a rotated file before writing
        if isinstance(self.inner, logging.handlers.WatchedFileHandler):
            self.inner.reopenIfNeeded()
        return super().handle(record)

    def close(self) -> None:
        self.inner.close()
        super().close()


def configure() -> None:
    """Install our handler on the root logger (``CONFIGURE_LOGGING``); called from ready().

    Does nothing when LOGGING already routes the root logger through our formatter.
    Replaces other root handlers, since two would print every line twice.
    """
    root = logging.getLogger()
    if any(isinstance(h.formatter, ObserveFormatter) for h in root.handlers):
        configure_structlog()
        return
    conf = get_settings()
    handler = ObserveHandler()
    handler.setFormatter(make_formatter(conf.LOG_FORMAT))
    for existing in root.handlers[:]:
        root.removeHandler(existing)
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


@functools.cache
def access_logger() -> Any:
    """The logger of the access line (``django_observe.request``)."""
    return structlog.get_logger("django_observe.request")


@on_settings_reset
def _forget_cached_loggers() -> None:
    access_logger.cache_clear()
    _is_secret_key.cache_clear()

