"""Helpers for host code, in one place: ``from django_observe import observe``.

    with observe.dependency("gemini", "generate"):
        ...
    requests.post(url, headers=observe.outbound_headers())   # the request id, for clients without a hook

Your own metrics: ``observe.counter`` / ``observe.histogram`` / ``observe.gauge`` (docs/metrics.md).
"""

from __future__ import annotations

from .metrics.api import counter, gauge, histogram
from .outbound import Call, dependency, outbound_headers

__all__ = ["Call", "counter", "dependency", "gauge", "histogram", "outbound_headers"]
