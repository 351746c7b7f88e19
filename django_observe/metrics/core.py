"""The live metric objects and the functions ObserveMiddleware calls per request.

Metrics are created on first use (or at ``ready()``), not at import: the optional
``METRICS_NAMESPACE`` prefix and the latency buckets are settings, and settings are
never read at import time. The per-request path is one attribute read, one dict
lookup for the label children and the updates themselves.
"""

from __future__ import annotations

import bisect
import logging
import os
import threading
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, disable_created_metrics

from .. import guard
from .._compat import FileValue, file_value, histogram_file_values, reset_after_fork
from ..conf import get_settings, on_change
from .collectors import UptimeCollector, prefixed
from .definitions import SPECS, Spec

logger = logging.getLogger(__name__)

# `_created` series double the sample count and no dashboard reads them.
disable_created_metrics()

MetricObject = Counter | Gauge | Histogram


def multiprocess_dir() -> str | None:
    """PROMETHEUS_MULTIPROC_DIR when set (prometheus_client then keeps values in files per process)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir") or None


class Metrics:
    """The metric objects of one configuration (namespace, buckets, build labels)."""

    def __init__(
        self,
        key: tuple[Any, ...],
        namespace: str,
        buckets: tuple[float, ...],
        build_labels: tuple[str, str, str],
        bucket_sets: dict[str, tuple[float, ...]] | None = None,
    ) -> None:
        self.key = key
        self.namespace = namespace
        self.by_name: dict[str, MetricObject] = {}
        self.uptime: Any = None
        try:
            for spec in SPECS:
                if not spec.computed:
                    # A histogram with its own bucket setting (Spec.buckets_setting), else the latency buckets.
                    own = (bucket_sets or {}).get(spec.buckets_setting) if spec.buckets_setting else None
                    self.by_name[spec.name] = _create(spec, namespace, own or buckets)
        except Exception:
            # e.g. a name already taken in the registry: leave nothing half-registered behind,
            # or every later attempt would fail on our own leftovers.
            self.unregister()
            raise
        get = self.by_name.__getitem__
        self.requests: Counter = get("http_requests_total")  # type: ignore[assignment]
        self.duration: Histogram = get("http_request_duration_seconds")  # type: ignore[assignment]
        self.in_progress: Gauge = get("http_requests_in_progress")  # type: ignore[assignment]
        self.slow: Counter = get("slow_requests_total")  # type: ignore[assignment]
        self.exceptions: Counter = get("exceptions_total")  # type: ignore[assignment]
        self.db_queries: Counter = get("database_queries_total")  # type: ignore[assignment]
        self.db_duration: Histogram = get("database_query_duration_seconds")  # type: ignore[assignment]
        self.db_errors: Counter = get("database_errors_total")  # type: ignore[assignment]
        self.db_active: Gauge = get("db_connections_active")  # type: ignore[assignment]
        self.db_idle: Gauge = get("db_connections_idle")  # type: ignore[assignment]
        self.cache_ops: Counter = get("cache_operations_total")  # type: ignore[assignment]
        self.build_info: Gauge = get("build_info")  # type: ignore[assignment]
        self.internal: Counter = get("observe_internal_errors_total")  # type: ignore[assignment]
        self.build_labels: tuple[str, str, str] | None = None
        self.set_build_info(build_labels)
        self.uptime = UptimeCollector(prefixed(namespace, "uptime_seconds"))
        REGISTRY.register(self.uptime)
        # (method, endpoint, status) -> (counter child, histogram child): skips labels()'
        # validation and lock on every request; bounded because the labels are.
        self.http_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        # Multiprocess mode: the same values written straight to their files (see RequestFiles).
        self.request_files: RequestFiles | None = RequestFiles.of(self.in_progress)
        self.http_files: dict[tuple[Any, Any], Any] = {}  # (counter child, histogram child) -> their file values
        self.child_files: dict[Any, FileValue | None] = {}  # counter or gauge child -> its file value
        self.db_children: dict[tuple[str, str], tuple[Any, Any]] = {}
        self.cache_children: dict[tuple[str, str, str], Any] = {}

    def set_build_info(self, build_labels: tuple[str, str, str]) -> None:
        """One ``build_info`` series: the identity now configured."""
        previous = self.build_labels
        if previous is not None and previous != build_labels:
            if multiprocess_dir():
                # The old series stays in this worker's file whatever we do (prometheus_client's
                # remove() and clear() only warn there): it reads 0, so no dashboard sees two identities.
                self.build_info.labels(*previous).set(0)
            else:
                self.build_info.remove(*previous)
        self.build_info.labels(*build_labels).set(1)
        self.build_labels = build_labels

    def unregister(self) -> None:
        for metric in (*self.by_name.values(), self.uptime):
            if metric is None:
                continue
            try:
                REGISTRY.unregister(metric)
            except KeyError:  # already gone (a test cleared the registry)
                pass


def _create(spec: Spec, namespace: str, buckets: tuple[float, ...]) -> MetricObject:
    ns = "" if spec.global_name else namespace
    if spec.kind == "counter":
        return Counter(spec.name, spec.doc, spec.labels, namespace=ns)
    if spec.kind == "histogram":
        return Histogram(spec.name, spec.doc, spec.labels, namespace=ns, buckets=buckets)
    return Gauge(spec.name, spec.doc, spec.labels, namespace=ns, multiprocess_mode=spec.multiprocess_mode or "all")  # type: ignore[arg-type]


class _State:
    current: Metrics | None = None
    built: Metrics | None = None


_state = _State()
_lock = threading.Lock()


def get_metrics() -> Metrics:
    """The metric objects for the current settings, created on first use."""
    return _state.current or _build()


#: The accessor for per-call paths (database queries, cache calls): same as ``get_metrics``.
current = get_metrics


def _build() -> Metrics:
    with _lock:
        if _state.current is not None:
            return _state.current
        conf = get_settings()
        buckets = tuple(float(bound) for bound in conf.METRICS_LATENCY_BUCKETS)
        build_labels = (conf.SERVICE_NAME, conf.VERSION, conf.ENVIRONMENT)
        bucket_sets = {
            spec.buckets_setting: tuple(float(bound) for bound in getattr(conf, spec.buckets_setting, None) or buckets)
            for spec in SPECS
            if spec.buckets_setting
        }
        key = (conf.METRICS_NAMESPACE, buckets, tuple(sorted(bucket_sets.items())))
        built = _state.built
        if built is None or built.key != key:
            # Only a changed namespace or bucket list re-creates the metrics (tests override
            # OBSERVE all the time; counters must not restart on every override).
            if built is not None:
                built.unregister()
                _state.built = None  # if the new set cannot be created, the next call tries again
            built = Metrics(key, conf.METRICS_NAMESPACE, buckets, build_labels, bucket_sets)
            _state.built = built
        elif built.build_labels != build_labels:
            built.set_build_info(build_labels)
        _state.current = built
    return built


@on_change()
def _settings_changed() -> None:
    _state.current = None


# --- the per-request functions ObserveMiddleware calls (signatures are its contract) --------------


class RequestFiles:
    """Multiprocess mode: the per-request writes (in progress up and down, the request count, the
    duration's sum and bucket) go straight to the values' files under one lock, with one ``getpid()``
    per request to notice a fork, instead of five locked ``MmapedValue`` calls with a ``getpid()``
    each. Every write still lands in the file when it happens: a scrape, and a worker's exit, see
    exact counts (nothing is held back in the process).
    """

    def __init__(self, in_progress: FileValue, in_progress_child: Any) -> None:
        self.in_progress = in_progress
        self.in_progress_child = in_progress_child
        self.pid = os.getpid()

    @classmethod
    def of(cls, in_progress_child: Any) -> RequestFiles | None:
        value = file_value(in_progress_child)
        return None if value is None else cls(value, in_progress_child)

    def check_fork(self) -> None:
        """A forked child: let prometheus_client move every value to this process's files first."""
        pid = os.getpid()
        if pid != self.pid:
            reset_after_fork(self.in_progress_child)
            self.pid = pid


# One lock for every direct write of the process; a forked child gets a new one (a thread of the
# parent may have held it at the fork). The pid check above moves the values of a fork that runs no hooks.
_files_lock = [threading.Lock()]
os.register_at_fork(after_in_child=lambda: _files_lock.__setitem__(0, threading.Lock()))


def request_started() -> None:
    """A request entered ObserveMiddleware."""
    metrics = _state.current or _build()
    files = metrics.request_files
    if files is None:
        metrics.in_progress.inc()
        return
    files.check_fork()
    with _files_lock[0]:
        files.in_progress.add(1.0)


def request_finished(method: str, endpoint: str, status_code: int, duration: float, slow: bool, exception: BaseException | None) -> None:
    """A request left ObserveMiddleware (or its streamed body ended): count and time it once."""
    metrics = _state.current or _build()
    key = (method, endpoint, status_code)
    children = metrics.http_children.get(key)
    if children is None:
        children = metrics.http_children[key] = (
            metrics.requests.labels(method, endpoint, str(status_code)),
            metrics.duration.labels(method, endpoint),
        )
    files = metrics.request_files
    if files is None or not _write_files(metrics, files, children, duration):
        metrics.in_progress.dec()
        children[0].inc()
        children[1].observe(duration)
    if slow:
        metrics.slow.labels(method, endpoint).inc()
    if exception is not None:
        metrics.exceptions.labels(type(exception).__name__, endpoint).inc()


def _write_files(metrics: Metrics, files: RequestFiles, children: tuple[Any, Any], duration: float) -> bool:
    values = _pair_files(metrics, children)
    if values is None:
        return False
    counter, total, buckets, bounds = values
    with _files_lock[0]:
        files.in_progress.add(-1.0)
        counter.add(1.0)
        total.add(duration)
        # the first bucket whose upper bound is >= the duration, as Histogram.observe picks it
        buckets[bisect.bisect_left(bounds, duration)].add(1.0)
    return True


def _pair_files(metrics: Metrics, children: tuple[Any, Any]) -> Any:
    """(counter, sum, buckets, bounds) file values of a (counter child, histogram child) pair, or None."""
    values = metrics.http_files.get(children, False)
    if values is False:
        counter, histogram = file_value(children[0]), histogram_file_values(children[1])
        values = metrics.http_files[children] = None if counter is None or histogram is None else (counter, *histogram)
    return values


def count_and_observe(metrics: Metrics, children: tuple[Any, Any], amount: float) -> None:
    """``children[0].inc()`` and ``children[1].observe(amount)`` (a counter and a histogram child, e.g. a
    query's): straight to the files in multiprocess mode, as the request metrics are."""
    files = metrics.request_files
    values = None if files is None else _pair_files(metrics, children)
    if files is None or values is None:
        children[1].observe(amount)
        children[0].inc()
        return
    counter, total, buckets, bounds = values
    files.check_fork()  # outside requests too (a task's queries in a forked pool process)
    with _files_lock[0]:
        counter.add(1.0)
        total.add(amount)
        buckets[bisect.bisect_left(bounds, amount)].add(1.0)


def add(metrics: Metrics, child: Any, amount: float) -> None:
    """``child.inc(amount)`` of a counter or gauge child; straight to its file in multiprocess mode (Celery's task metrics)."""
    files = metrics.request_files
    if files is not None:
        if child not in metrics.child_files:
            metrics.child_files[child] = file_value(child)
        value = metrics.child_files[child]
        if value is not None:
            files.check_fork()
            with _files_lock[0]:
                value.add(amount)
            return
    child.inc(amount)


def internal_error(component: str, count: int = 1) -> None:
    """Count ``count`` failures of ours that were swallowed to keep the host's work alive.

    Raises when the metrics themselves are broken; callers go through ``django_observe.guard``,
    which swallows that and logs once.
    """
    (_state.current or _build()).internal.labels(component).inc(count)


guard.counter = internal_error
