"""Prometheus metrics: every metric defined once (``definitions``), bounded labels, a protected export view.

The middleware calls ``request_started``/``request_finished``/``internal_error``; host
projects declare their own metrics with ``counter``/``histogram``/``gauge``. Reference:
docs/metrics.md (generated from ``definitions.SPECS``); deployment: docs/deployment.md.
"""

from __future__ import annotations

import logging

from ..guard import report
from .api import counter, gauge, histogram
from .core import get_metrics, internal_error, multiprocess_dir, request_finished, request_started
from .definitions import KNOWN_METHODS, OTHER_METHOD, SPECS, UNRESOLVED_ENDPOINT

logger = logging.getLogger(__name__)

__all__ = [
    "KNOWN_METHODS",
    "OTHER_METHOD",
    "SPECS",
    "UNRESOLVED_ENDPOINT",
    "counter",
    "gauge",
    "get_metrics",
    "histogram",
    "internal_error",
    "multiprocess_dir",
    "request_finished",
    "request_started",
    "setup",
]


def setup() -> None:
    """Called from ``ObserveConfig.ready()``: create the metrics and hook the database and caches.

    Never raises: a failure costs us the metrics, not the host's startup.
    """
    from ..conf import get_settings

    try:
        conf = get_settings()
        if not conf.METRICS_ENABLED:
            return
        from .commands import keep_metrics_private

        keep_metrics_private()  # a manage.py command adds nothing to the server's multiprocess scrape
        get_metrics()
        if conf.METRICS_DATABASE:
            from . import db

            db.install()
            if multiprocess_dir():
                db.install_request_refresh()
        if conf.METRICS_CACHE:
            from . import cache

            cache.install()
        from . import workers

        workers.warn_if_unshared()
    except Exception:
        report("metrics_setup", message="Prometheus metrics could not be set up; requests are served without them")
