"""Where lines go: the handler (stderr or ``LOG_FILE``), the logging set-up, and the access line's fast path."""

from __future__ import annotations

import functools
import logging
import logging.handlers
import sys
import time
from typing import Any

import structlog

from ..conf import get_settings, on_change
from ..guard import logged_components, report
from .formatter import ObserveFormatter, configure_structlog, make_formatter
from .plain import access_json_line, plain_json_line
from .sink import LineSink

FORMATTER_PATH = "django_observe.logging.make_formatter"
LOST_LINES = "Could not write a log line to LOG_FILE (disk full or not writable); lines are being lost"


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
    """Writes to LOG_FILE when set, else to stderr, in batches (``logging.sink``; ``LOG_BUFFER_SECONDS``).

    A log file moved away by logrotate is noticed within a second and reopened (checking
    on every line, as WatchedFileHandler does, costs a stat() per line).
    """

    def __init__(self, level: int | str = logging.NOTSET, log_file: str | None = None) -> None:
        super().__init__(level)
        path = log_file if log_file is not None else get_settings().LOG_FILE
        sink = None
        if path:
            try:
                sink = LineSink(path)
            except (OSError, ValueError) as error:  # ValueError: a NUL byte in the path
                # A missing directory must not stop the site (gunicorn runs no checks; E002 says it).
                reason = f"{type(error).__name__}: {error.strerror if isinstance(error, OSError) else error}"
                report(
                    "logging",
                    message=f"Cannot open LOG_FILE {path!r} ({reason}), so log lines go to stderr",
                    exc_info=False,
                    level=logging.ERROR,
                )
        self.sink = sink or LineSink(None, sys.stderr)
        self.sink.on_lost = self._lost

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.sink.write(self.format(record), record.levelno, record.created)
        except Exception:
            self.handleError(record)

    def _lost(self, count: int) -> None:
        # A full or read-only disk: the request goes on; every lost line is counted, the first is logged
        # (the report itself is written to the same failing file and lost: it goes to stderr too).
        first = "log_write" not in logged_components()
        report("log_write", count=count, message=LOST_LINES, level=logging.ERROR)
        if first:
            self._to_stderr(LOST_LINES + " (component log_write; logged once per process, counted in observe_internal_errors_total).")

    def _to_stderr(self, message: str) -> None:
        try:
            record = logging.LogRecord("django_observe", logging.ERROR, __file__, 0, message, None, None)
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # stderr is gone too: the count is what remains
            pass

    def write_fields(self, name: str, level: int, fields: dict[str, Any], exc_info: Any) -> None:
        """Render and write one line from its fields, without a LogRecord (the access line's fast path)."""
        formatter = self.formatter
        if not isinstance(formatter, ObserveFormatter):
            raise TypeError("write_fields needs an ObserveFormatter")
        created = time.time()
        line = plain_json_line(name, level, fields, created) if exc_info is None and formatter.log_format != "console" else None
        if line is None:
            line = formatter.render(formatter.complete(fields, name, logging.getLevelName(level), created, exc_info))
        self.sink.write(line, level, created)

    def flush(self) -> None:
        """Write the lines waiting in the batch (logging.shutdown() calls this at exit)."""
        self.sink.flush()

    def close(self) -> None:
        self.sink.close()
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
    tame_django_loggers()


def tame_django_loggers() -> None:
    """Route Django's own loggers through ours, once more if Django configured logging again.

    ``runserver`` calls ``django.setup()`` a second time (``get_wsgi_application()``), which applies
    Django's DEFAULT_LOGGING again: its ``django.server`` lines (raw query strings, no request id)
    and the DEBUG console copy of every 404/500 would come back. ObserveMiddleware calls this when
    it is built, which is right after that second set-up. Only when ``configure()`` installed our
    handler: a project with its own LOGGING keeps what it wrote.
    """
    if not any(getattr(handler, "installed_by_configure", False) for handler in logging.getLogger().handlers):
        return
    django_logger = logging.getLogger("django")
    # Django's default console handler would print the same line a second time;
    # mail_admins stays (it only sends when ADMINS is set and DEBUG is off).
    django_logger.handlers = [
        h for h in django_logger.handlers if isinstance(h, logging.handlers.SMTPHandler) or h.__class__.__name__ == "AdminEmailHandler"
    ]
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
    handler = sole_observe_handler(level)
    if handler is not None:
        try:
            handler.write_fields(ACCESS_LOGGER_NAME, level, fields, exc_info)
        except Exception:
            handler.handleError(_access_stdlib_logger.makeRecord(ACCESS_LOGGER_NAME, level, "", 0, fields, (), exc_info))
        return
    record = _access_stdlib_logger.makeRecord(ACCESS_LOGGER_NAME, level, "", 0, fields, (), exc_info)
    _access_stdlib_logger.handle(record)


def write_access_line(level: int, request_text: str, method: str, route: str, code: int, duration_ms: float) -> bool:
    """Write the ``request_finished`` line of the default shape straight to our handler; True when done.

    False when the line needs the general path (another handler, a filter, the console format,
    a bound structlog context ...): the caller then builds the fields and calls ``log_access``.
    """
    if not _access_stdlib_logger.isEnabledFor(level):
        return True  # nothing to write
    handler = sole_observe_handler(level)
    if handler is None:
        return False
    formatter = handler.formatter
    if not isinstance(formatter, ObserveFormatter) or formatter.log_format == "console":
        return False
    try:
        created = time.time()
        line = access_json_line(ACCESS_LOGGER_NAME, level, request_text, method, route, code, duration_ms, created)
        if line is None:
            return False
        handler.sink.write(line, level, created)
    except Exception:
        return False  # the general path writes it, or says why it cannot
    return True


def sole_observe_handler(level: int) -> ObserveHandler | None:
    """The root's ObserveHandler when it is the only handler taking ``level``, and no filter is on the way.

    Handlers whose level is above the line's (the error tracker's ERROR handler for an INFO
    access line) would ignore it anyway. Asked for every access line: a plain walk, no list
    built (a cache validated against the handler lists measured slower than this).
    """
    logger: logging.Logger | None = _access_stdlib_logger
    while logger is not None:
        if logger.filters:
            return None
        if logger.parent is None:  # the root
            found = None
            for handler in logger.handlers:
                if handler.level <= level:
                    if found is not None or type(handler) is not ObserveHandler or handler.filters:
                        return None
                    found = handler
            return found
        if logger.handlers or not logger.propagate:
            return None
        logger = logger.parent
    return None


@on_change()
def _forget_cached_loggers() -> None:
    access_logger.cache_clear()
