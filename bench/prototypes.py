"""Bench-only prototypes of hot-path changes, applied by monkeypatching (never shipped).

    BENCH_PROTOTYPES=buffered_log,preformatted_line STACK=observe python bench/inproc.py ...
    python bench/callgrind.py --variant 'proto={"BENCH_PROTOTYPES": "all"}'

benchsite/wsgi.py and asgi.py call ``apply()`` after Django is set up when BENCH_PROTOTYPES is
set. Each prototype is the smallest change that gives the number for bench/FINDINGS.md;
they were written against the django_observe layout of commit f742d28 (logging/output.py,
logging/formatter.py, metrics/core.py, metrics/db.py) and check that what they replace exists.
``verify_preformatted_line()`` checks the pre-formatted access line byte for byte against the
formatter's.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from typing import Any

APPLIED: list[str] = []


# --- 1. access line: write without a flush per line --------------------------------------------


def buffered_log() -> None:
    """Let the file object's buffer (8 KiB) collect lines: one write() per ~20 lines instead of per line.

    Flushed when the buffer fills, when the last flush is older than FLUSH_SECONDS (checked on the
    next line), at exit (atexit; gunicorn's SIGTERM path runs it) and before a line at WARNING or
    above (errors are never held back).
    """
    from django_observe.logging import output

    handler_cls = output.ObserveHandler
    flush_seconds = 0.5
    state = {"flushed": time.monotonic()}
    original_write = handler_cls._write

    def _write(self: Any, line: str, created: float) -> None:
        inner = self.inner
        if not isinstance(inner, logging.handlers.WatchedFileHandler) or inner.stream is None:
            return original_write(self, line, created)
        if created - self._checked_at >= self.reopen_check_seconds:
            self._checked_at = created
            inner.flush()
            inner.reopenIfNeeded()
        inner.stream.write(line + "\n")
        now = time.monotonic()
        if now - state["flushed"] >= flush_seconds or getattr(self, "_bench_urgent", False):
            inner.flush()
            state["flushed"] = now

    handler_cls._write = _write

    def flush_all() -> None:
        for handler in logging.getLogger().handlers:
            if isinstance(handler, handler_cls):
                handler.inner.flush()

    atexit.register(flush_all)


# --- 2. access line: pre-formatted, no event dict, no JSONEncoder ------------------------------


def preformatted_line() -> None:
    """Render the default access line by concatenation: constant prefix/suffix, escaped strings only.

    Taken only when nothing else can add to the line (no structlog context bound, no exception,
    JSON format); the result is byte-identical to the formatter's (verify_preformatted_line()).
    """
    from json.encoder import encode_basestring  # the C encoder json uses with ensure_ascii=False

    from django_observe import context
    from django_observe.conf import get_settings
    from django_observe.logging import formatter, output

    handler_cls = output.ObserveHandler
    original = handler_cls.write_fields
    cache: dict[Any, tuple[str, str]] = {}

    def write_fields(self: Any, name: str, level: int, fields: dict[str, Any], exc_info: Any) -> None:
        fmt = self.formatter
        if exc_info is not None or fmt is None or fmt._console is not None or formatter.structlog_context_used():
            return original(self, name, level, fields, exc_info)
        conf = get_settings()
        key = (name, level, fields.get("event"), conf.SERVICE_NAME, conf.ENVIRONMENT, conf.VERSION)
        parts = cache.get(key)
        if parts is None:
            head = f'{{"event": {encode_basestring(fields.get("event", ""))}, "level": "{logging.getLevelName(level).lower()}", "logger": {encode_basestring(name)}, "timestamp": "'
            tail = (
                f', "service": {encode_basestring(conf.SERVICE_NAME)}, "environment": {encode_basestring(conf.ENVIRONMENT)}, '
                f'"version": {encode_basestring(conf.VERSION)}}}'
            )
            parts = cache[key] = (head, tail)
        body = []
        for field, value in fields.items():
            if field == "event":
                continue
            if value.__class__ is str:
                body.append(f', "{field}": {encode_basestring(value)}')
            elif value.__class__ is int or value.__class__ is float:
                body.append(f', "{field}": {value!r}')
            elif value is True:
                body.append(f', "{field}": true')
            elif value is None:
                body.append(f', "{field}": null')
            else:
                return original(self, name, level, fields, exc_info)
        request_id = context.request_id_var.get()
        if request_id is not None:
            body.append(f', "request_id": {encode_basestring(request_id)}')
            user_id = context.get_user_id()
            if user_id is not None:
                return original(self, name, level, fields, exc_info)
        if context.task_id_var.get() is not None:
            return original(self, name, level, fields, exc_info)
        created = time.time()
        line = f'{parts[0]}{formatter._timestamp(created)}"{"".join(body)}{parts[1]}'
        with self.lock:
            try:
                self._write(line, created)
            except OSError:
                self._lost()

    handler_cls.write_fields = write_fields


def direct_line(batch_lines: int = 0) -> None:
    """The floor of the access line: middleware._log_access replaced, for the plain case, by one
    f-string and one os.write on an O_APPEND descriptor of LOG_FILE (atomic for a line; no
    TextIOWrapper, no handler lock, no event dict, no JSONEncoder). Falls back to the real
    function for failed requests, django-structlog receivers, a bound structlog context, a user
    id, non-JSON format or a handler set-up other than ours. batch_lines > 0: lines are joined and
    written every batch_lines lines or 0.5 s (and at exit)."""
    from json.encoder import encode_basestring

    from django_observe import context, middleware
    from django_observe.conf import get_settings
    from django_observe.logging import formatter, output

    original = middleware._log_access
    state: dict[str, Any] = {"fd": None, "path": None, "pending": [], "since": time.monotonic()}

    def fd_for(handler: Any) -> int | None:
        path = getattr(handler.inner, "baseFilename", None)
        if path is None:
            return None
        if state["path"] != path:
            state["fd"] = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            state["path"] = path
        return state["fd"]

    def flush() -> None:
        if state["pending"] and state["fd"] is not None:
            os.write(state["fd"], "".join(state["pending"]).encode())
            state["pending"] = []
        state["since"] = time.monotonic()

    atexit.register(flush)
    ids: dict[Any, str] = {}

    def _log_access(
        request: Any, response: Any, method: str, endpoint: str, duration: float, slow: bool, exception: Any, with_ip: bool
    ) -> None:
        status = response.status_code
        if exception is not None or slow or status >= 400 or with_ip or formatter.structlog_context_used():
            return original(request, response, method, endpoint, duration, slow, exception, with_ip)
        signals = middleware.structlog_signals
        if signals.bind_extra_request_finished_metadata.receivers:
            return original(request, response, method, endpoint, duration, slow, exception, with_ip)
        handler = output.sole_observe_handler(logging.INFO)
        if handler is None or handler.formatter is None or handler.formatter._console is not None or context.get_user_id() is not None:
            return original(request, response, method, endpoint, duration, slow, exception, with_ip)
        fd = fd_for(handler)
        if fd is None:
            return original(request, response, method, endpoint, duration, slow, exception, with_ip)
        conf = get_settings()
        key = (conf.SERVICE_NAME, conf.ENVIRONMENT, conf.VERSION)
        tail = ids.get(key)
        if tail is None:
            tail = ids[key] = (
                f', "service": {encode_basestring(conf.SERVICE_NAME)}, "environment": {encode_basestring(conf.ENVIRONMENT)}, '
                f'"version": {encode_basestring(conf.VERSION)}}}\n'
            )
        created = time.time()
        line = (
            f'{{"event": "request_finished", "level": "info", "logger": "django_observe.request", "timestamp": "{formatter._timestamp(created)}", '
            f'"request": {encode_basestring(f"{request.method} {request.path}")}, '
            f'"method": "{method}", "route": {encode_basestring(endpoint)}, "code": {status}, "duration_ms": {round(duration * 1000, 3)!r}, '
            f'"request_id": {encode_basestring(context.request_id_var.get() or "")}{tail}'
        )
        if batch_lines:
            state["pending"].append(line)
            if len(state["pending"]) >= batch_lines or time.monotonic() - state["since"] >= 0.5:
                flush()
        else:
            os.write(fd, line.encode())

    middleware._log_access = _log_access


def batched_direct_line() -> None:
    """direct_line, writing every 32 lines or 0.5 s (and at exit)."""
    direct_line(batch_lines=32)


def verify_preformatted_line() -> None:
    """The pre-formatted line equals the formatter's for a typical access line (raises if not)."""
    from django_observe import context
    from django_observe.logging import output

    handler = next(h for h in logging.getLogger().handlers if isinstance(h, output.ObserveHandler))
    lines: list[str] = []
    saved = handler._write
    handler._write = lambda line, created: lines.append(line)  # type: ignore[method-assign]
    fixed = 1767225600.123456
    real_time = time.time
    time.time = lambda: fixed  # type: ignore[assignment]
    try:
        context.bind_request("0123456789abcdef0123456789abcdef")
        fields = {
            "request": 'GET /p"\u00e9',
            "method": "GET",
            "route": "p/<int:x>",
            "code": 200,
            "duration_ms": 1.25,
            "event": "request_finished",
        }
        output.ObserveHandler.write_fields(handler, "django_observe.request", logging.INFO, dict(fields), None)
        fmt = handler.formatter
        expected = fmt.render(fmt.complete(dict(fields), "django_observe.request", "INFO", fixed, None))
        if lines[-1] != expected:
            raise AssertionError(f"pre-formatted line differs:\n{lines[-1]}\n{expected}")
    finally:
        time.time = real_time  # type: ignore[assignment]
        handler._write = saved  # type: ignore[method-assign]
        context.clear()


# --- 3. prometheus multiprocess values: no getpid() syscall per update ---------------------------


def cached_pid() -> None:
    """prometheus_client's MmapedValue calls os.getpid() (a syscall) in every inc/set/get to notice a fork.

    os.register_at_fork tells us instead; the value class is the same, only its process_identifier
    (a public parameter of MultiProcessValue) is swapped in its closure.
    """
    from prometheus_client import values

    cls = values.ValueClass
    if not getattr(cls, "_multiprocess", False):
        return
    method = cls._MmapedValue__check_for_pid_change
    cell = method.__closure__[method.__code__.co_freevars.index("process_identifier")]
    box = [os.getpid()]

    def after_fork() -> None:
        box[0] = os.getpid()

    os.register_at_fork(after_in_child=after_fork)
    cell.cell_contents = lambda: box[0]


# --- 4. request metrics: per-process aggregation, written to the mmap every N requests / T s ------


class _Pending:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[Any, float] = {}
        self.hist: dict[Any, list[Any]] = {}
        self.n = 0
        self.since = time.monotonic()


def batched_request_metrics(every: int = 64, seconds: float = 1.0) -> None:
    """Count and time requests in process memory; add them to the mmap values every `every` requests,
    every `seconds` (checked on the next request), before this worker answers /metrics, and at exit.
    http_requests_in_progress is not written per request (see no_in_progress)."""
    from prometheus_client import values  # noqa: F401

    from django_observe.metrics import core

    pending = _Pending()

    def flush() -> None:
        with pending.lock:
            counts, hist = pending.counts, pending.hist
            pending.counts, pending.hist, pending.n, pending.since = {}, {}, 0, time.monotonic()
        metrics = core.current()
        for (method, endpoint, status), n in counts.items():
            children = metrics.http_children.get((method, endpoint, status))
            if children is None:
                children = metrics.http_children[(method, endpoint, status)] = (
                    metrics.requests.labels(method, endpoint, str(status)),
                    metrics.duration.labels(method, endpoint),
                )
            children[0].inc(n)
        for (method, endpoint), (total, buckets) in hist.items():
            child = metrics.duration.labels(method, endpoint)
            child._sum.inc(total)
            for i, n in enumerate(buckets):
                if n:
                    child._buckets[i].inc(n)

    def request_started() -> None:
        return None

    def request_finished(method: str, endpoint: str, status_code: int, duration: float, slow: bool, exception: Any) -> None:
        metrics = core._state.current or core.current()
        bounds = metrics.duration._upper_bounds
        with pending.lock:
            key = (method, endpoint, status_code)
            pending.counts[key] = pending.counts.get(key, 0) + 1
            entry = pending.hist.get((method, endpoint))
            if entry is None:
                entry = pending.hist[(method, endpoint)] = [0.0, [0] * len(bounds)]
            entry[0] += duration
            for i, bound in enumerate(bounds):
                if duration <= bound:
                    entry[1][i] += 1
                    break
            pending.n += 1
            due = pending.n >= every or time.monotonic() - pending.since >= seconds
        if slow:
            metrics.slow.labels(method, endpoint).inc()
        if exception is not None:
            metrics.exceptions.labels(type(exception).__name__, endpoint).inc()
        if due:
            flush()

    _set_request_functions(request_started, request_finished)
    atexit.register(flush)
    _flush_before_scrape(flush)


def _set_request_functions(started: Any, finished: Any) -> None:
    """The middleware calls them through the package (``metrics.request_started``): patch both names."""
    import django_observe.metrics as package
    from django_observe.metrics import core

    core.request_started = package.request_started = started
    core.request_finished = package.request_finished = finished


def _flush_before_scrape(flush: Any) -> None:
    from prometheus_client import multiprocess

    original = multiprocess.MultiProcessCollector.collect

    def collect(self: Any) -> Any:
        flush()
        return original(self)

    multiprocess.MultiProcessCollector.collect = collect


# --- 5. no http_requests_in_progress writes per request -----------------------------------------


def no_in_progress() -> None:
    """Drop the in-progress gauge's inc + dec (2 of the 5 mmap writes of a request)."""
    from django_observe.metrics import core

    original_finished = core.request_finished

    def request_started() -> None:
        return None

    def request_finished(*args: Any, **kwargs: Any) -> None:
        metrics = core._state.current or core.current()
        gauge = metrics.in_progress
        saved = gauge.dec
        gauge.dec = lambda amount=1: None  # type: ignore[method-assign]
        try:
            original_finished(*args, **kwargs)
        finally:
            gauge.dec = saved  # type: ignore[method-assign]

    _set_request_functions(request_started, request_finished)


# --- 6. DB connection gauges: skip set() when the value did not change -----------------------------


def unchanged_db_gauges() -> None:
    """refresh_connection_gauges() sets two gauges per alias after every request that used the
    database: with CONN_MAX_AGE 0 they are (0, 0) every time. Write only what changed."""
    from django_observe.metrics import core, db

    last: dict[str, tuple[int, int]] = {}
    children: dict[str, tuple[Any, Any]] = {}

    def refresh_connection_gauges() -> None:
        metrics = core.get_metrics()
        if not db._enabled[0]:
            return
        for alias, counts in db.connection_counts().items():
            if last.get(alias) == counts:
                continue
            pair = children.get(alias)
            if pair is None:
                pair = children[alias] = (metrics.db_active.labels(alias), metrics.db_idle.labels(alias))
            pair[0].set(counts[0])
            pair[1].set(counts[1])
            last[alias] = counts

    db.refresh_connection_gauges = refresh_connection_gauges


# --- 7. DB query metrics aggregated per process (no mmap write per query) ------------------------


def batched_db_metrics() -> None:
    """execute_wrapper counts and times in process memory; written to the mmap with the request metrics
    (here: at request_finished of Django, and before a scrape, and at exit)."""
    from django.core.signals import request_finished

    from django_observe.metrics import core, db

    pending: dict[Any, list[Any]] = {}
    lock = threading.Lock()

    def execute_wrapper(execute: Any, sql: Any, params: Any, many: bool, context: dict[str, Any]) -> Any:
        if not db._enabled[0]:
            return execute(sql, params, many, context)
        connection = context["connection"]
        key = (connection.alias, connection.vendor)
        db._activity[0] = True
        state = connection.__dict__
        state[db._BUSY] = state.get(db._BUSY, 0) + 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        except Exception:
            core.current().db_errors.labels(*key).inc()
            raise
        finally:
            elapsed = time.perf_counter() - started
            state[db._BUSY] -= 1
            with lock:
                entry = pending.get(key)
                if entry is None:
                    entry = pending[key] = [0, []]
                entry[0] += 1
                entry[1].append(elapsed)

    def flush(**_: Any) -> None:
        if not pending:
            return
        with lock:
            items = list(pending.items())
            pending.clear()
        metrics = core.current()
        for key, (n, durations) in items:
            children = metrics.db_children.get(key)
            if children is None:
                children = metrics.db_children[key] = (metrics.db_queries.labels(*key), metrics.db_duration.labels(*key))
            children[0].inc(n)
            for d in durations:
                children[1].observe(d)

    from django.db import connections

    original = db.execute_wrapper
    for connection in connections.all(initialized_only=True):  # wrapped before we were applied
        while original in connection.execute_wrappers:
            connection.execute_wrappers.remove(original)
        db.execute_wrapper = execute_wrapper
        db.instrument(connection)
    db.execute_wrapper = execute_wrapper
    request_finished.connect(flush, weak=False, dispatch_uid="bench.prototypes.batched_db_metrics")
    atexit.register(flush)
    _flush_before_scrape(flush)


# --- 8. Access-Control-Expose-Headers only when the request is a CORS one ------------------------


def expose_header_on_cors_only() -> None:
    """Add Access-Control-Expose-Headers only when the request carries Origin (a browser's CORS request):
    one header less to set, to validate in gunicorn and to send on every other response."""
    from django_observe import middleware

    original_end = middleware.ObserveMiddleware._end
    original_expose = middleware._expose_header

    def _end(self: Any, request: Any, response: Any, began: float) -> Any:
        middleware._expose_header = original_expose if "HTTP_ORIGIN" in request.META else (lambda response, header: None)
        return original_end(self, request, response, began)

    middleware.ObserveMiddleware._end = _end


# --- 9. error store: one transaction per batch, not per group -------------------------------------


def batched_error_writes() -> None:
    """The writer commits once per batch: each group keeps its own savepoint (a failing group rolls back
    alone), but a SQLite commit (~8 ms here: rollback journal, fsync) is paid once per batch, not per group.
    Bench-only: the group signals would have to wait for the outer commit (transaction.on_commit)."""
    from django.db import transaction

    from django_observe.conf import get_settings
    from django_observe.errors import intake, writes

    original = writes.write

    def write(batch: Any, stats: Any, *, own_connection: bool) -> None:
        with transaction.atomic(using=get_settings().ERRORS_DATABASE):
            original(batch, stats, own_connection=False)

    writes.write = write
    intake.writes = writes


# --- probe: time parts of the request inside the process (not a change; a measurement) -------------


def probe_parts() -> None:
    """Accumulate CPU (thread_time) and wall time of the access line, the request metrics and the whole
    middleware per request; printed to stderr as JSON at exit (gunicorn worker exit included)."""
    import json
    import sys

    from django_observe import metrics, middleware

    totals: dict[str, list[float]] = {}

    def wrap(owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            c0, t0 = time.thread_time(), time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                entry = totals.setdefault(label, [0.0, 0.0, 0])
                entry[0] += time.thread_time() - c0
                entry[1] += time.perf_counter() - t0
                entry[2] += 1

        setattr(owner, name, timed)

    wrap(middleware, "_log_access", "access line")
    wrap(metrics, "request_finished", "request_finished metrics")
    wrap(metrics, "request_started", "request_started metrics")
    wrap(middleware.ObserveMiddleware, "__call__", "whole ObserveMiddleware (incl. the rest of the stack)")
    wrap(middleware.ObserveMiddleware, "_begin", "_begin")
    wrap(middleware.ObserveMiddleware, "_end", "_end (incl. _finish)")

    def report() -> None:
        out = {label: {"cpu_us": c / n * 1e6, "wall_us": w / n * 1e6, "calls": n} for label, (c, w, n) in totals.items() if n}
        print("PROBE " + json.dumps({"pid": os.getpid(), **out}), file=sys.stderr, flush=True)

    atexit.register(report)


# --- ablations: switch one part of the current hot path off, to count what it costs -------------


def _ablate(module_name: str, attribute: str, replacement: Any) -> Any:
    import importlib

    module = importlib.import_module(module_name)
    if not hasattr(module, attribute):
        raise RuntimeError(f"ablation target {module_name}.{attribute} is gone")
    setattr(module, attribute, replacement)


def ablate_sentry_scope() -> None:
    """No Sentry isolation scope per request (lean mode's fork + propagation context)."""
    _ablate("django_observe.errors.capture", "enter_request_scope", lambda request: None)


def ablate_context() -> None:
    """No request context bound or cleared (request id, request, user, task contextvars)."""
    _ablate("django_observe.context", "bind_request", lambda *args: None)
    _ablate("django_observe.context", "clear", lambda: None)


def ablate_tag_span() -> None:
    """No trace-id tagging of the current span."""
    _ablate("django_observe.tracing", "tag_span", lambda *args: None)


def ablate_closer() -> None:
    """No response closer (the context stays bound until the next request)."""
    _ablate("django_observe.middleware", "add_response_closer", lambda *args: None)


def ablate_request_metrics() -> None:
    """No request metrics (in progress, count, duration)."""
    _ablate("django_observe.metrics", "request_started", lambda: None)
    _ablate("django_observe.metrics", "request_finished", lambda *args: None)


def ablate_access_line() -> None:
    """No access line."""
    _ablate("django_observe.middleware", "_log_access", lambda *args: None)


def ablate_user_id() -> None:
    """No user id lookup at the end of the request."""
    _ablate("django_observe.context", "user_id_from_request", lambda request: None)

def ablate_request_text() -> None:
    """The access line's ``request`` field without the path redaction (a constant)."""
    _ablate("django_observe.middleware", "_request_text", lambda request: "GET /ping")


def ablate_line_write() -> None:
    """The access line rendered but not queued or written (LineSink.write does nothing)."""
    from django_observe.logging.sink import LineSink

    LineSink.write = lambda self, line, level, created: None  # type: ignore[method-assign]

def ablate_middleware() -> None:
    """ObserveMiddleware passes the request straight through (what is left is the app outside the middleware)."""
    from django_observe.middleware import ObserveMiddleware

    ObserveMiddleware.__call__ = lambda self, request: self.get_response(request)  # type: ignore[method-assign]


PROTOTYPES = {
    "buffered_log": buffered_log,
    "preformatted_line": preformatted_line,
    "cached_pid": cached_pid,
    "batched_request_metrics": batched_request_metrics,
    "no_in_progress": no_in_progress,
    "unchanged_db_gauges": unchanged_db_gauges,
    "batched_db_metrics": batched_db_metrics,
    "expose_header_on_cors_only": expose_header_on_cors_only,
    "batched_error_writes": batched_error_writes,
    "probe_parts": probe_parts,
    "direct_line": direct_line,
    "batched_direct_line": batched_direct_line,
    "ablate_sentry_scope": ablate_sentry_scope,
    "ablate_context": ablate_context,
    "ablate_tag_span": ablate_tag_span,
    "ablate_closer": ablate_closer,
    "ablate_user_id": ablate_user_id,
    "ablate_request_metrics": ablate_request_metrics,
    "ablate_request_text": ablate_request_text,
    "ablate_line_write": ablate_line_write,
    "ablate_access_line": ablate_access_line,
    "ablate_middleware": ablate_middleware,
}


def apply(names: str) -> None:
    """Apply the comma-separated prototypes (``all`` = every one)."""
    chosen = (
        [n for n in PROTOTYPES if n not in ("batched_error_writes", "probe_parts", "direct_line", "batched_direct_line")]
        if names.strip() == "all"
        else [n.strip() for n in names.split(",") if n.strip()]
    )
    for name in chosen:
        if name == "no_in_progress" and "batched_request_metrics" in chosen:
            continue  # batched_request_metrics already leaves the gauge alone
        PROTOTYPES[name]()
        APPLIED.append(name)
    if "preformatted_line" in chosen:
        verify_preformatted_line()
