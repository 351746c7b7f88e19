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
| ``structlog.contextvars._CONTEXT_VARS`` | structlog | context, logging: skip the context walk when nothing was ever bound |
| ``health_check.checks._SelectOne`` | django-health-check 4.x | health: the database probe's ``SELECT 1`` expression |
| ``prometheus_client.values.ValueClass`` / ``MutexValue`` | prometheus_client | metrics.commands: a command's metrics stay in its process |
| ``MmapedValue._value/_file/_key``, ``Histogram._sum/_buckets/_upper_bounds`` | prometheus_client | metrics.core: ``FileValue`` |
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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


class FileValue:
    """One multiprocess value of prometheus_client (its ``MmapedValue``), added to without its per-call lock and ``getpid()``.

    ``MmapedValue.inc`` takes a lock shared by every value and asks the kernel for the pid on every
    call (to notice a fork). The request metrics are written on every request under one lock of the
    caller's for all of them, and the caller notices a fork once per request and then calls
    ``reset_after_fork`` (prometheus_client then moves every value to the new process's files).
    The value in memory and in the file are kept exactly as ``inc`` keeps them.
    """

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def add(self, amount: float) -> None:
        value = self.value
        value._value += amount
        value._file.write_value(value._key, value._value, 0.0)


def file_value(child: Any) -> FileValue | None:
    """The ``FileValue`` of a counter or gauge child, or None when its value is not a multiprocess file value."""
    value = getattr(child, "_value", None)
    return FileValue(value) if _is_file_value(value) else None


def histogram_file_values(child: Any) -> tuple[FileValue, list[FileValue], list[float]] | None:
    """(sum, buckets, upper bounds) of a histogram child as ``FileValue``, or None when they are not multiprocess file values."""
    total, buckets, bounds = getattr(child, "_sum", None), getattr(child, "_buckets", None), getattr(child, "_upper_bounds", None)
    if not _is_file_value(total) or not buckets or bounds is None or len(buckets) != len(bounds):
        return None
    if not all(_is_file_value(bucket) for bucket in buckets):
        return None
    return FileValue(total), [FileValue(bucket) for bucket in buckets], list(bounds)


def reset_after_fork(child: Any) -> None:
    """Let prometheus_client notice a fork now (its next locked call moves every value to this process's files)."""
    child._value.get()


def _is_file_value(value: Any) -> bool:
    return (
        getattr(value, "_multiprocess", False) is True
        and hasattr(value, "_file")
        and hasattr(value, "_key")
        and isinstance(getattr(value, "_value", None), float)
    )
