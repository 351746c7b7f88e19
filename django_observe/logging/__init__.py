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

from .formatter import ObserveFormatter, add_context, configure_structlog, console_safe, escape_controls, make_formatter, redact_secrets
from .output import (
    ACCESS_LOGGER_NAME,
    FORMATTER_PATH,
    ObserveHandler,
    access_logger,
    configure,
    log_access,
    logging_config,
    sole_observe_handler,
    tame_django_loggers,
    write_access_line,
)
from .sink import flush_all as flush_lines

__all__ = [
    "ACCESS_LOGGER_NAME",
    "FORMATTER_PATH",
    "ObserveFormatter",
    "ObserveHandler",
    "access_logger",
    "add_context",
    "configure",
    "configure_structlog",
    "console_safe",
    "escape_controls",
    "flush_lines",
    "log_access",
    "logging_config",
    "make_formatter",
    "redact_secrets",
    "sole_observe_handler",
    "tame_django_loggers",
    "write_access_line",
]
