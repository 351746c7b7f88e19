"""Prometheus gauges of the health checks, in prometheus_client's default registry.

``health_check_status{check}`` is 1 for pass, 0.5 for warn and 0 for fail or
timeout, so ``health_check_status == 0`` means DOWN and ``< 1`` means "look at it".
Updated every time a check really runs (cached results do not touch them).
Under ``PROMETHEUS_MULTIPROC_DIR`` each worker writes its own value; the export
shows the worst status and the longest duration of the live workers.
"""

from __future__ import annotations

from prometheus_client import Gauge

STATUS_VALUES = {"pass": 1.0, "warn": 0.5, "fail": 0.0, "timeout": 0.0}

HEALTH_CHECK_STATUS = Gauge(
    "health_check_status",
    "Last result of a health check: 1 pass, 0.5 warn, 0 fail or timeout.",
    ["check"],
    multiprocess_mode="livemin",
)
HEALTH_CHECK_DURATION = Gauge(
    "health_check_duration_seconds",
    "Duration of the last run of a health check (its deadline when it timed out).",
    ["check"],
    multiprocess_mode="livemax",
)
HEALTH_CHECK_LAST_SUCCESS = Gauge(
    "health_check_last_success_timestamp_seconds",
    "Unix time of the last pass or warn of a health check.",
    ["check"],
    multiprocess_mode="livemax",
)


def observe(check: str, status: str, duration: float, finished_at: float) -> None:
    """Record one finished run of ``check``."""
    HEALTH_CHECK_STATUS.labels(check).set(STATUS_VALUES.get(status, 0.0))
    HEALTH_CHECK_DURATION.labels(check).set(duration)
    if status in ("pass", "warn"):
        HEALTH_CHECK_LAST_SUCCESS.labels(check).set(finished_at)
