"""The health checks' Prometheus gauges, updated after every real run of a check.

The gauges are defined with every other metric in ``metrics/definitions.py`` (section Health),
so they get ``METRICS_NAMESPACE``, the generated reference and the alert rules:
``health_check_status{check}`` is 1 for pass, 0.5 for warn and 0 for fail or timeout, so
``health_check_status == 0`` means DOWN and ``< 1`` means "look at it". Cached results do not
touch them. Under ``PROMETHEUS_MULTIPROC_DIR`` each worker writes its own value; the export
shows the worst status and the longest duration of the live workers.
"""

from __future__ import annotations

from typing import Any

from ..guard import Guard
from ..metrics import get_metrics

STATUS_VALUES = {"pass": 1.0, "warn": 0.5, "fail": 0.0, "timeout": 0.0}
_guard = Guard("health_metrics")


def observe(check: str, status: str, duration: float, finished_at: float) -> None:
    """Record one finished run of ``check``. Never raises: a metrics failure must not fail the probe."""
    with _guard:
        gauges: dict[str, Any] = get_metrics().by_name  # the three are Gauges (definitions: kind "gauge")
        gauges["health_check_status"].labels(check).set(STATUS_VALUES.get(status, 0.0))
        gauges["health_check_duration_seconds"].labels(check).set(duration)
        if status in ("pass", "warn"):
            gauges["health_check_last_success_timestamp_seconds"].labels(check).set(finished_at)
