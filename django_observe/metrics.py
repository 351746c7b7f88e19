"""Every Prometheus metric django-observe exports, defined once, and the functions that update them.

Label values are bounded by construction: ``method`` comes from a fixed set (else
``OTHER``), ``endpoint`` is the resolved URL pattern (unresolved paths share one value).
"""

from __future__ import annotations

import os
import time

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client import disable_created_metrics

# `_created` series double the sample count and no dashboard reads them.
disable_created_metrics()

_MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
PROCESS_STARTED = time.time()

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests served, by method, URL pattern and status code.",
    ["method", "endpoint", "status_code"],
)
HTTP_REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from ObserveMiddleware receiving the request to the response leaving it.",
    ["method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
HTTP_REQUESTS_IN_PROGRESS = Gauge(
    "http_requests_in_progress",
    "HTTP requests being served right now.",
    multiprocess_mode="livesum",
)
SLOW_REQUESTS = Counter(
    "slow_requests_total",
    "Requests slower than OBSERVE['SLOW_REQUEST_THRESHOLD'].",
    ["method", "endpoint"],
)
EXCEPTIONS = Counter(
    "exceptions_total",
    "Unhandled exceptions raised while serving a request, by exception class.",
    ["type", "endpoint"],
)
INTERNAL_ERRORS = Counter(
    "observe_internal_errors_total",
    "Failures inside django-observe itself (the request was still served).",
    ["component"],
)


def request_started() -> None:
    """A request entered ObserveMiddleware."""
    HTTP_REQUESTS_IN_PROGRESS.inc()


def request_finished(
    method: str, endpoint: str, status_code: int, duration: float, slow: bool, exception: BaseException | None
) -> None:
    """A request left ObserveMiddleware (or its streamed body ended): count and time it once."""
    HTTP_REQUESTS_IN_PROGRESS.dec()
    HTTP_REQUESTS.labels(method, endpoint, str(status_code)).inc()
    HTTP_REQUEST_DURATION.labels(method, endpoint).observe(duration)
    if slow:
        SLOW_REQUESTS.labels(method, endpoint).inc()
    if exception is not None:
        EXCEPTIONS.labels(type(exception).__name__, endpoint).inc()


def internal_error(component: str) -> None:
    """Count a failure of ours that was swallowed to keep the request alive."""
    INTERNAL_ERRORS.labels(component).inc()
