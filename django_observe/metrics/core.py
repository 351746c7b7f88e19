"""The live metric objects and the functions ObserveMiddleware calls per request.

Metrics are created on first use (or at ``ready()``), not at import: the optional
``METRICS_NAMESPACE`` prefix and the latency buckets are settings, and settings are
never read at import time. The per-request path is one attribute read, one dict
lookup for the label children and the updates themselves.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, disable_created_metrics

from ..conf import get_settings, on_settings_reset
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

    def __init__(self, key: tuple[Any, ...], namespace: str, buckets: tuple[float, ...], build_labels: tuple[str, str, str]) -> None:
        self.key = key
        self.namespace = namespace
        self.by_name: dict[str, MetricObject] = {}
        self.uptime: Any = None
        try:
            for spec in SPECS:
                if not spec.computed:
                    self.by_name[spec.name] = _create(spec, namespace, buckets)
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
        self.build_labels: tuple[str, str, str] = ("", "", "")
        self.set_build_info(build_labels)
        from .collectors import UptimeCollector, prefixed

        self.uptime = UptimeCollector(prefixed(namespace, "uptime_seconds"))
        REGISTRY.register(self.uptime)
        # (method, endpoint, status) -> (counter child, histogram child): skips labels()'
        # validation and lock on every request; bounded because the labels are.
        self.http_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.db_children: dict[tuple[str, str], tuple[Any, Any]] = {}
        self.cache_children: dict[tuple[str, str, str], Any] = {}

    def set_build_info(self, build_labels: tuple[str, str, str]) -> None:
        """One ``build_info`` series: the identity now configured."""
        previous = getattr(self, "build_labels", None)
        if previous is not None and previous != build_labels:
            # remove(), not clear(): prometheus_client warns that clear() is not implemented
            # in multiprocess mode, at every worker start.
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
_after_build: list[Callable[[Metrics], None]] = []


def get_metrics() -> Metrics:
    """The metric objects for the current settings, created on first use."""
    return _state.current or _build()


def _build() -> Metrics:
    with _lock:
        if _state.current is not None:
            return _state.current
        conf = get_settings()
        buckets = tuple(float(bound) for bound in conf.METRICS_LATENCY_BUCKETS)
        build_labels = (conf.SERVICE_NAME, conf.VERSION, conf.ENVIRONMENT)
        key = (conf.METRICS_NAMESPACE, buckets)
        built = _state.built
        if built is None or built.key != key:
            # Only a changed namespace or bucket list re-creates the metrics (tests override
            # OBSERVE all the time; counters must not restart on every override).
            if built is not None:
                built.unregister()
            built = Metrics(key, conf.METRICS_NAMESPACE, buckets, build_labels)
            _state.built = built
        elif built.build_labels != build_labels:
            built.set_build_info(build_labels)
        _state.current = built
    for callback in _after_build:
        callback(built)
    return built


@on_settings_reset
def _settings_changed() -> None:
    _state.current = None


def on_build(callback: Callable[[Metrics], None]) -> Callable[[Metrics], None]:
    """Run ``callback(metrics)`` each time the metric objects are (re)selected for new settings."""
    _after_build.append(callback)
    return callback


# --- the per-request functions ObserveMiddleware calls (signatures are its contract) --------------


def request_started() -> None:
    """A request entered ObserveMiddleware."""
    (_state.current or _build()).in_progress.inc()


def request_finished(
    method: str, endpoint: str, status_code: int, duration: float, slow: bool, exception: BaseException | None
) -> None:
    """A request left ObserveMiddleware (or its streamed body ended): count and time it once."""
    metrics = _state.current or _build()
    metrics.in_progress.dec()
    key = (method, endpoint, status_code)
    children = metrics.http_children.get(key)
    if children is None:
        children = metrics.http_children[key] = (
            metrics.requests.labels(method, endpoint, str(status_code)),
            metrics.duration.labels(method, endpoint),
        )
    children[0].inc()
    children[1].observe(duration)
    if slow:
        metrics.slow.labels(method, endpoint).inc()
    if exception is not None:
        metrics.exceptions.labels(type(exception).__name__, endpoint).inc()


_internal_logged: set[str] = set()


def internal_error(component: str) -> None:
    """Count a failure of ours that was swallowed to keep the request alive. Never raises."""
    try:
        (_state.current or _build()).internal.labels(component).inc()
    except Exception:
        # Metrics themselves are broken (e.g. a bad OBSERVE value): say so once, keep serving.
        if component not in _internal_logged:
            _internal_logged.add(component)
            logger.warning("Could not count an internal error of %s: metrics are unavailable.", component, exc_info=True)
