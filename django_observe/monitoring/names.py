"""The metric names /metrics exports, PromQL string literals, durations and runbook slugs.

Every name a rule or panel uses goes through ``Names``, which only knows the names in
``metrics.definitions``: a metric renamed or removed there makes generation fail loudly
instead of leaving an alert that never fires.
"""

from __future__ import annotations

import json
import re

from ..metrics.definitions import SPECS_BY_NAME

_SUFFIXES = ("_total", "_seconds", "_bytes")
_DURATION = re.compile(r"^(?:\d+(?:ms|s|m|h|d|w|y))+$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


class Names:
    """Exported names for one namespace: ``names.http_requests_total`` -> ``shop_http_requests_total``."""

    def __init__(self, namespace: str = "") -> None:
        self.namespace = namespace

    def __getattr__(self, name: str) -> str:
        spec = SPECS_BY_NAME.get(name)
        if spec is None:
            raise AttributeError(f"{name} is not a metric django-observe exports (metrics/definitions.py)")
        if spec.global_name or not self.namespace:
            return name
        return f"{self.namespace}_{name}"

    def base(self, name: str) -> str:
        """The name without ``_total`` for recording-rule names (``job:http_requests:rate5m``)."""
        exported: str = getattr(self, name)
        return exported.removesuffix("_total")


def promql_string(value: str) -> str:
    """``value`` as a PromQL double-quoted string literal (Go escapes: quotes, backslashes, newlines)."""
    return json.dumps(value, ensure_ascii=False)


def job_selector(job: str) -> str:
    """The ``job="..."`` matcher every rule and panel starts from, escaped."""
    return f"job={promql_string(job)}"


def not_probe(health_path: str) -> str:
    """The matcher leaving out the health probes (``endpoint`` is the probe's path, e.g. ``health/ready``).

    A readiness probe answering 503 on purpose is not a user's error, and thousands of fast probes
    would hide a slow app's latency; probes have their own alerts.
    """
    return f"endpoint!~{promql_string(re.escape(health_path.strip('/')) + '(/.*)?')}"


def is_duration(text: str) -> bool:
    """A Prometheus duration (``30s``, ``5m``, ``1h30m``; ``0s`` included)."""
    return bool(_DURATION.match(text))


def duration_seconds(text: str) -> float:
    """Seconds of a Prometheus duration (``1h30m`` -> 5400.0)."""
    if not is_duration(text):
        raise ValueError(f"{text!r} is not a Prometheus duration such as 30s, 5m or 1h")
    return sum(int(number) * _UNIT_SECONDS[unit] for number, unit in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", text))


def slug(alert_name: str) -> str:
    """The runbook page of an alert: ``DjangoHighErrorRate`` -> ``django-high-error-rate``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", alert_name).lower()
