"""Run health checks with hard deadlines, one probe in flight per check and a shared result cache.

Why not django-health-check's own runner: it uses the event loop's default
executor, and under WSGI ``async_to_sync`` waits for that pool to drain, so a
check that sleeps 10 s with a 2 s timeout answered after 10 s, and a hung
dependency leaked one blocked thread per request (research/health.md).

Here every check runs in a small pool of daemon threads that nobody waits for:

* the caller waits on a Future until the check's deadline (its start + its
  ``timeout``) or the overall deadline, whichever is first, then reports
  ``timeout``; the thread is left to finish on its own (client timeouts free it);
* a check never has two runs in flight: a probe arriving while one runs joins it,
  and when that run is already past its deadline the probe answers ``timeout``
  at once, so 50 probes of a hung dependency use one thread;
* a finished result is shared for ``HEALTH_CACHE_SECONDS`` (single-flight), so a
  flood of probes runs each check once per window.

The same code path serves WSGI and ASGI: under ASGI ObserveMiddleware calls the
probe views in a worker thread (``sync_to_async(thread_sensitive=False)``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import inspect
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from django.db import connections
from health_check.exceptions import HealthCheckException, ServiceWarning

from ..conf import get_settings, on_change
from ..redact import secret_words
from . import metrics as health_metrics
from . import registry
from .checks import DependencyTimeout
from .registry import CheckSpec

logger = logging.getLogger(__name__)

PASS, WARN, FAIL, TIMEOUT = "pass", "warn", "fail", "timeout"
HEALTHY, DEGRADED, UNHEALTHY = "healthy", "degraded", "unhealthy"
FAILING = frozenset({FAIL, TIMEOUT})

#: Upper bound of health threads per process; one in flight per check keeps the real number lower.
MAX_THREADS = 32


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """The outcome of one check. ``message`` may be shown to authorised readers only."""

    name: str
    status: str
    duration: float
    critical: bool
    message: str = ""
    error_class: str = ""
    observed: Any = None
    finished_at: float = 0.0

    @property
    def response_time_ms(self) -> float:
        """Duration in milliseconds, rounded to 0.1 ms."""
        return round(self.duration * 1000, 1)

    def detail(self) -> dict[str, Any]:
        """The check as /health/detailed and `observe_check --json` show it (authorised readers only)."""
        return {
            "status": self.status,
            "critical": self.critical,
            "response_time_ms": self.response_time_ms,
            "observed_value": self.observed,
            "output": self.message,
            "error_class": self.error_class,
        }


class _Pool:
    """Daemon worker threads, started on demand up to ``max_threads``; nobody ever joins them.

    concurrent.futures.ThreadPoolExecutor joins its threads at interpreter exit, so
    one stuck check kept gunicorn and uvicorn workers from shutting down.
    """

    def __init__(self, max_threads: int) -> None:
        self._max = max_threads
        self._queue: queue.SimpleQueue[tuple[Future[CheckResult], Callable[[], CheckResult]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0
        self._pending = 0

    @property
    def threads(self) -> int:
        """Threads started so far (they never exit)."""
        return self._threads

    def submit(self, fn: Callable[[], CheckResult]) -> Future[CheckResult]:
        future: Future[CheckResult] = Future()
        with self._lock:
            self._pending += 1
            if self._pending > self._idle and self._threads < self._max:
                self._threads += 1
                threading.Thread(target=self._work, name=f"observe-health-{self._threads}", daemon=True).start()
        self._queue.put((future, fn))
        return future

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            future, fn = self._queue.get()
            with self._lock:
                self._idle -= 1
                self._pending -= 1
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:  # _execute catches everything; this is the last guard
                future.set_exception(exc)


@dataclasses.dataclass
class _Probe:
    """Per-check state: the run in flight, the last result and how many runs happened."""

    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    future: Future[CheckResult] | None = None
    started: float = 0.0
    result: CheckResult | None = None
    result_at: float = 0.0
    runs: int = 0
    last_status: str = PASS


class Runner:
    """Runs checks under deadlines; one instance per process (``runner``)."""

    def __init__(self, max_threads: int = MAX_THREADS) -> None:
        self._pool = _Pool(max_threads)
        self._probes: dict[str, _Probe] = {}
        self._lock = threading.Lock()

    @property
    def threads(self) -> int:
        """Health threads started in this process."""
        return self._pool.threads

    def runs(self, name: str) -> int:
        """How many times the check ``name`` really ran (cached answers do not count)."""
        probe = self._probes.get(name)
        return probe.runs if probe else 0

    def reset(self) -> None:
        """Forget cached results (runs in flight finish into the old state and are dropped)."""
        with self._lock:
            self._probes = {}

    def _probe(self, name: str) -> _Probe:
        probe = self._probes.get(name)
        if probe is None:
            with self._lock:
                probe = self._probes.setdefault(name, _Probe())
        return probe

    def run(self, specs: Iterable[CheckSpec], *, deadline: float | None = None, max_age: float | None = None) -> list[CheckResult]:
        """Results of ``specs``, in order, within ``deadline`` seconds (default HEALTH_DEADLINE).

        ``max_age`` is how old a shared result may be (default HEALTH_CACHE_SECONDS; 0 runs
        the checks now, still joining a run already in flight). Never raises for a check.
        """
        conf = get_settings()
        specs = list(specs)
        ttl = conf.HEALTH_CACHE_SECONDS if max_age is None else max_age
        now = time.monotonic()
        overall = now + (conf.HEALTH_DEADLINE if deadline is None else deadline)
        results: dict[str, CheckResult] = {}
        waiting: list[tuple[CheckSpec, Future[CheckResult], float]] = []
        for spec in specs:
            probe = self._probe(spec.name)
            with probe.lock:
                if probe.result is not None and ttl > 0 and now - probe.result_at < ttl:
                    results[spec.name] = probe.result
                    continue
                if probe.future is None:
                    probe.started = time.monotonic()
                    probe.future = self._pool.submit(_bind(self._execute, spec, probe))
                waiting.append((spec, probe.future, probe.started))
        for spec, future, started in waiting:
            remaining = min(started + spec.timeout, overall) - time.monotonic()
            try:
                results[spec.name] = future.result(timeout=max(0.0, remaining))
            except FutureTimeout:
                results[spec.name] = self._timed_out(spec, started, overall)
            except Exception:  # pragma: no cover - _execute never raises
                results[spec.name] = CheckResult(spec.name, FAIL, time.monotonic() - started, spec.critical, "Unexpected error")
        return [results[spec.name] for spec in specs]

    def _timed_out(self, spec: CheckSpec, started: float, overall: float) -> CheckResult:
        elapsed = time.monotonic() - started
        if started + spec.timeout <= overall:
            message = f"No answer within {spec.timeout:g} s"
        else:
            message = "No answer within the overall health deadline"
        result = CheckResult(spec.name, TIMEOUT, elapsed, spec.critical, message, "Timeout", None, time.time())
        probe = self._probe(spec.name)
        with probe.lock:
            changed = probe.last_status != TIMEOUT
            probe.last_status = TIMEOUT
        health_metrics.observe(spec.name, TIMEOUT, elapsed, result.finished_at)
        if changed:
            logger.warning("Health check %r timed out after %.2f s.", spec.name, elapsed)
        return result

    def _execute(self, spec: CheckSpec, probe: _Probe) -> CheckResult:
        began = time.perf_counter()
        status, message, error_class, observed = PASS, "", "", None
        try:
            observed = _call(spec.check)
        except ServiceWarning as exc:
            status, message, observed = WARN, str(exc.message), getattr(exc, "observed", None)
        except HealthCheckException as exc:
            status, message, observed = FAIL, str(exc.message), getattr(exc, "observed", None)
            error_class = type(exc.__cause__ or exc).__name__
            if isinstance(exc, DependencyTimeout) or client_timed_out(exc):
                status = TIMEOUT  # the client's own timeout fired: same meaning as our deadline
        except Exception as exc:
            if client_timed_out(exc):
                status, message, error_class = TIMEOUT, f"No answer in time ({type(exc).__name__})", type(exc).__name__
            else:
                # Unknown exception text may carry hosts or secrets: log it, show the class only.
                status, message, error_class = FAIL, f"Unexpected error ({type(exc).__name__})", type(exc).__name__
                logger.warning("Health check %r raised an unexpected exception.", spec.name, exc_info=True)
        finally:
            _close_connections()
        duration = time.perf_counter() - began
        if duration > spec.timeout and status not in FAILING:
            # It answered after its deadline: callers already reported a timeout.
            status, message, error_class = TIMEOUT, f"Answered after {duration:.2f} s (timeout {spec.timeout:g} s)", "Timeout"
        if not _json_safe(observed):
            observed = str(observed)[:200]
        # Check messages quote URLs and error texts: the same redactor as logs and errors (then capped).
        message = secret_words(get_settings().REDACT_KEYS).scrub_string(message)[:500]
        result = CheckResult(spec.name, status, duration, spec.critical, message, error_class, observed, time.time())
        with probe.lock:
            probe.result = result
            probe.result_at = time.monotonic()
            probe.future = None
            probe.runs += 1
            changed, probe.last_status = probe.last_status != status, status
        health_metrics.observe(spec.name, status, duration, result.finished_at)
        if changed and status != PASS:
            logger.warning("Health check %r is %s: %s", spec.name, status, message)
        elif changed:
            logger.info("Health check %r passes again.", spec.name)
        return result


#: Timeout classes of client libraries, matched by name along the MRO so that no optional client is imported
#: here: redis-py's and urllib3's ``TimeoutError``, psycopg's ``ConnectionTimeout``, requests' ``Timeout``
#: (``ConnectTimeout``, ``ReadTimeout``), httpx's ``TimeoutException``. Socket and asyncio timeouts are the builtin.
TIMEOUT_CLASS_NAMES = frozenset({"TimeoutError", "ConnectionTimeout", "Timeout", "TimeoutException"})


def client_timed_out(exc: BaseException) -> bool:
    """True when ``exc``, or an exception it was raised from, is a client that gave up waiting.

    Checks wrap the driver's error (``ServiceUnavailable`` from Django's ``OperationalError`` from
    psycopg's ``ConnectionTimeout``), so the whole chain is looked at. A timeout is reported as
    ``timeout`` whichever fires first, the client's or the runner's deadline: before, the same hung
    dependency read ``timeout`` or ``fail`` depending on that race.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, TimeoutError) or any(cls.__name__ in TIMEOUT_CLASS_NAMES for cls in type(current).__mro__):
            return True
        if type(current).__name__ == "OperationalError" and "timeout expired" in str(current):
            return True  # libpq's "connection timeout expired" (psycopg < 3.2, psycopg2)
        # "raise X from None" hides the context on purpose: follow the chain Python would print.
        current = current.__cause__ if current.__cause__ is not None or current.__suppress_context__ else current.__context__
    return False


def _bind(fn: Callable[[CheckSpec, _Probe], CheckResult], spec: CheckSpec, probe: _Probe) -> Callable[[], CheckResult]:
    return lambda: fn(spec, probe)


def _call(check: Any) -> Any:
    """Run a django-health-check check: a sync ``run()`` here, an async one in its own event loop."""
    if inspect.iscoroutinefunction(check.run):
        return asyncio.run(check.run())
    return check.run()


def _close_connections() -> None:
    # Pool threads never see request_finished: do what it does, or CONN_MAX_AGE=0 connections stay open.
    for connection in connections.all(initialized_only=True):
        try:
            connection.close_if_unusable_or_obsolete()
        except Exception:  # pragma: no cover - closing a broken connection
            logger.debug("Closing a database connection after a health check failed.", exc_info=True)


def _json_safe(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str)) or (isinstance(value, (list, dict)) and len(repr(value)) < 1000)


# --- the process-wide runner and the summaries -------------------------------------------

runner = Runner()
on_change()(runner.reset)
on_change(*registry.DEPENDENCY_SETTINGS)(runner.reset)


def specs(*, critical_only: bool = False, names: Sequence[str] | None = None) -> list[CheckSpec]:
    """The configured checks (critical ones only, or the named ones)."""
    found = [spec for spec in registry.get_specs() if not critical_only or spec.critical]
    if names is not None:
        wanted = set(names)
        found = [spec for spec in found if spec.name in wanted]
    return found


def readiness(results: Iterable[CheckResult]) -> str:
    """``fail`` when a critical check fails or times out, ``warn`` when one warns, else ``pass``."""
    worst = PASS
    for result in results:
        if not result.critical:
            continue
        if result.status in FAILING:
            return FAIL
        if result.status == WARN:
            worst = WARN
    return worst


def overall(results: Iterable[CheckResult]) -> str:
    """``unhealthy`` (a critical check fails), ``degraded`` (any other problem or warning) or ``healthy``."""
    state = HEALTHY
    for result in results:
        if result.status in FAILING and result.critical:
            return UNHEALTHY
        if result.status != PASS:
            state = DEGRADED
    return state


def run_all_fresh(names: Sequence[str] | None = None) -> tuple[list[CheckResult], datetime.datetime, float]:
    """Run the checks now (no cached results) for recording: (results, started_at, duration in s)."""
    from django.utils import timezone

    started_at = timezone.now()
    began = time.perf_counter()
    results = runner.run(specs(names=names), max_age=0)
    return results, started_at, time.perf_counter() - began
