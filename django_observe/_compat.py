"""Everything we take from other libraries' private APIs, in one place.

Each function here leans on a name the library does not promise to keep. When an
upgrade renames one, this module (and tests/test_compat.py, pinned to the supported
versions) is the one place that breaks. Nothing here imports anything of ours.

| what | library | used by |
|---|---|---|
| ``HttpResponseBase._resource_closers`` | Django | middleware: clear the context / finish a stream when the server closes the response |
| ``request._acached_user`` | Django (``auser()``) | context: the user id of async views without a query |
| ``SimpleLazyObject._wrapped`` / ``empty`` | Django | context: tell an evaluated ``request.user`` from an unevaluated one |
| ``ConnectionHandler._connections`` | Django (caches) | metrics.cache: instrument caches this thread already created |
| ``WatchedFileHandler._open()`` | stdlib logging | logging: reopen a log file a second ``dictConfig`` closed |
| ``structlog.contextvars._CONTEXT_VARS`` | structlog | context, logging: skip the context walk when nothing was ever bound |
| ``health_check.checks._SelectOne`` | django-health-check 4.x | health: the database probe's ``SELECT 1`` expression |
| ``prometheus_client.values.ValueClass`` / ``MutexValue`` | prometheus_client | metrics.commands: a command's metrics stay in its process |
"""

from __future__ import annotations

import logging.handlers
from collections.abc import Callable
from typing import IO, Any

import structlog
from django.http import HttpResponseBase
from django.utils.functional import empty


def add_response_closer(response: HttpResponseBase, callback: Callable[[], Any]) -> None:
    """Run ``callback`` when the server closes ``response`` (after the last byte, or on disconnect)."""
    response._resource_closers.append(callback)  # type: ignore[attr-defined]


def evaluated_user(request: Any) -> Any:
    """The request's user if authentication already ran (sync ``request.user`` or async ``auser()``), else None.

    Never evaluates the lazy ``request.user``: that would cost a session and a database query.
    """
    for candidate in (request.__dict__.get("user"), request.__dict__.get("_acached_user")):
        if candidate is None:
            continue
        wrapped = getattr(candidate, "_wrapped", candidate)
        if wrapped is None or wrapped is empty:  # a SimpleLazyObject not evaluated yet
            continue
        return wrapped
    return None


def existing_cache(caches: Any, alias: str) -> Any:
    """The cache object for ``alias`` this thread already created, or None (never creates one)."""
    return getattr(caches._connections, alias, None)


def reopen(handler: logging.handlers.WatchedFileHandler) -> IO[str]:
    """Open the handler's file again (after something closed the handler's stream)."""
    return handler._open()


def structlog_context_used() -> bool:
    """False when nothing was ever bound with ``structlog.contextvars`` in this process (nothing to read or clear)."""
    return bool(getattr(structlog.contextvars, "_CONTEXT_VARS", True))


def select_one() -> Any:
    """django-health-check's ``SELECT 1`` expression, compiled by each backend's own SQL compiler."""
    from health_check.checks import _SelectOne

    return _SelectOne()


def keep_metric_values_in_memory() -> None:
    """prometheus_client keeps the values of metrics created from now on in memory, even under ``PROMETHEUS_MULTIPROC_DIR``.

    prometheus_client picks file-backed values once, at import, from the environment; every
    metric child then reads ``values.ValueClass`` when it is created.
    """
    from prometheus_client import values

    values.ValueClass = values.MutexValue
