"""Database metrics through ``connection.execute_wrapper``: no ENGINE change needed.

Installed on every connection by the ``connection_created`` signal. Measured against
django-prometheus's backend wrappers (bench/micro_metrics.py): same per-query cost
within noise, and it works with any backend, Django's connection pool included.
Connection gauges are read from the psycopg pool's statistics when the alias pools,
else from the connections this process holds open.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

from ..conf import get_settings, on_change
from ..guard import report
from . import core

logger = logging.getLogger(__name__)

# Every connection we instrumented, weakly: id -> weakref (iterating a WeakSet costs ~1.5 µs of
# generator and guard per refresh, which runs after every request that touched the database).
_seen: dict[int, weakref.ref[BaseDatabaseWrapper]] = {}
_seen_lock = threading.RLock()  # re-entrant: a wrapper collected while it is held runs _forget in the same thread


def _seen_wrappers() -> list[BaseDatabaseWrapper]:
    with _seen_lock:
        refs = list(_seen.values())
    return [wrapper for ref in refs if (wrapper := ref()) is not None]


def _forget(key: int) -> Callable[[weakref.ref[BaseDatabaseWrapper]], None]:
    def forget(ref: weakref.ref[BaseDatabaseWrapper]) -> None:
        with _seen_lock:
            if _seen.get(key) is ref:
                del _seen[key]

    return forget


_BUSY = "_observe_busy"


def execute_wrapper(execute: Callable[..., Any], sql: Any, params: Any, many: bool, context: dict[str, Any]) -> Any:
    """Count and time one query (``executemany`` counts once); count it as an error when it raises."""
    try:
        metrics = core.current()
    except Exception:  # our metrics are broken: the query must still run
        report("database_metrics", message="Database metrics are unavailable")
        return execute(sql, params, many, context)
    if not _enabled[0]:
        return execute(sql, params, many, context)
    connection = context["connection"]
    key = (connection.alias, connection.vendor)
    children = metrics.db_children.get(key)
    if children is None:
        children = metrics.db_children[key] = (metrics.db_queries.labels(*key), metrics.db_duration.labels(*key))
    _activity[0] = True
    state = connection.__dict__
    # A connection belongs to one thread: a plain counter on it is race-free and lets the
    # connection gauges tell a busy connection from an idle one.
    state[_BUSY] = state.get(_BUSY, 0) + 1
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    except Exception:
        metrics.db_errors.labels(*key).inc()
        raise
    finally:
        core.count_and_observe(metrics, children, time.perf_counter() - started)
        state[_BUSY] -= 1


_enabled = [True]
# Set when a connection was opened or used since the last per-request refresh of the gauges:
# a request that touched no database (a health probe, /ping) then skips the refresh, which
# cost ~28 µs per request in multiprocess mode (bench/PROFILE.md). Races only cost one stale refresh.
_activity = [True]


@on_change()
def _update_enabled() -> None:
    conf = get_settings()
    _enabled[0] = conf.METRICS_ENABLED and conf.METRICS_DATABASE


def instrument(connection: BaseDatabaseWrapper) -> None:
    """Add our execute wrapper to ``connection`` once, as the OUTERMOST wrapper.

    Inserted at index 0: ``connection.execute_wrapper()`` blocks ``pop()`` the last entry,
    so a connection opened inside such a block must not end with ours last.
    """
    if execute_wrapper in connection.execute_wrappers:
        # The wrapper object and its list outlive reconnects (CONN_MAX_AGE=0 opens a connection per
        # request): already instrumented means already in _seen, so skip the lock and the bookkeeping.
        return
    connection.execute_wrappers.insert(0, execute_wrapper)
    key = id(connection)
    with _seen_lock:
        _seen[key] = weakref.ref(connection, _forget(key))


def _on_connection_created(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    _activity[0] = True
    try:
        instrument(connection)
    except Exception:
        report("database_metrics", message=f"Could not instrument database connection {getattr(connection, 'alias', '?')!r}")


def install() -> None:
    """Instrument every connection opened from now on, and those this thread already opened."""
    _update_enabled()
    connection_created.connect(_on_connection_created, dispatch_uid="django_observe.metrics.db")
    for connection in connections.all(initialized_only=True):
        instrument(connection)


def uninstall() -> None:
    """Stop instrumenting new connections and remove our wrapper from those we saw (tests, benchmarks)."""
    connection_created.disconnect(dispatch_uid="django_observe.metrics.db")
    for connection in _seen_wrappers():
        while execute_wrapper in connection.execute_wrappers:
            connection.execute_wrappers.remove(execute_wrapper)


def connection_counts() -> dict[str, tuple[int, int]]:
    """alias -> (active, idle) open connections of this process, every configured alias included."""
    counts: dict[str, list[int]] = {alias: [0, 0] for alias in connections.settings}
    pooled: set[str] = set()
    for wrapper in _seen_wrappers():
        alias = wrapper.alias
        if alias in pooled:
            continue
        counts.setdefault(alias, [0, 0])  # a wrapper made outside DATABASES (e.g. a second pool)
        pool = getattr(type(wrapper), "_connection_pools", {}).get(alias)
        if pool is not None:
            # Django's psycopg pool is shared by the threads of the process: its own stats are exact.
            stats = pool.get_stats()
            size, available = stats.get("pool_size", 0), stats.get("pool_available", 0)
            counts[alias] = [max(size - available, 0), available]
            pooled.add(alias)
            continue
        if wrapper.connection is None:
            continue
        busy = wrapper.in_atomic_block or wrapper.__dict__.get(_BUSY, 0) > 0
        counts[alias][0 if busy else 1] += 1
    return {alias: (active, idle) for alias, (active, idle) in counts.items()}


def refresh_connection_gauges() -> None:
    """Copy ``connection_counts()`` into the gauges (at scrape time; multiprocess: also per request).

    Only the values that changed are written: with ``CONN_MAX_AGE=0`` they are (0, 0) after every
    request, and each multiprocess gauge write is a locked mmap update (bench/callgrind.py: −30k
    instructions per ``/db`` request). Nothing else sets these gauges.
    """
    metrics = core.get_metrics()
    if not _enabled[0]:
        return
    # One refresh at a time (threads, a scrape): the values last written are then the latest counted.
    with _written.lock:
        if _written.metrics is not metrics:  # new metric objects (namespace or buckets changed): their values start at 0
            _written.metrics = metrics
            _written.by_alias = {}
        by_alias = _written.by_alias
        for alias, counts in connection_counts().items():
            known = by_alias.get(alias)
            if known is None:
                known = by_alias[alias] = [metrics.db_active.labels(alias), metrics.db_idle.labels(alias), None]
            if known[2] != counts:
                known[0].set(counts[0])
                known[1].set(counts[1])
                known[2] = counts


class _Written:
    """The connection gauges' label children and the values last written to them, per alias."""

    metrics: core.Metrics | None = None
    by_alias: dict[str, list[Any]] = {}
    lock = threading.Lock()


_written = _Written()


# A forked child writes its own multiprocess files, which start empty: write everything again.
def _forget_written() -> None:
    _written.metrics = None
    _written.lock = threading.Lock()  # the parent may have held it while forking


os.register_at_fork(after_in_child=_forget_written)


def _on_request_finished(sender: Any, **kwargs: Any) -> None:
    # Connected after Django's close_old_connections (it connects at import of django.db),
    # so a connection closed at the end of the request is no longer counted.
    if not _activity[0]:
        return
    _activity[0] = False
    try:
        refresh_connection_gauges()
    except Exception:
        report("database_metrics", message="Could not refresh the database connection gauges")


def install_request_refresh() -> None:
    """Multiprocess mode: each worker refreshes its own connection gauges when a request ends."""
    from django.core.signals import request_finished

    request_finished.connect(_on_request_finished, dispatch_uid="django_observe.metrics.db.refresh")
