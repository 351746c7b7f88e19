"""Many distinct routes for scale.py's memory check (BENCH_MANY_ROUTES=N): a 3-level include tree.

With N flat patterns every request would try N/2 patterns; the tree keeps it to ~40, so a
million requests stay affordable. Each leaf is its own route (its own endpoint label).
"""

import math

from core import views
from django.urls import include, path


def _fanout(n: int) -> int:
    return max(2, math.ceil(n ** (1 / 3)))


def paths(n: int) -> list[str]:
    """The request paths of the first n leaves, in tree order."""
    k = _fanout(n)
    return [f"/m/a{i // (k * k)}/b{(i // k) % k}/c{i % k}" for i in range(n)]


def urlpatterns(n: int) -> list:
    k = _fanout(n)
    tree: dict[int, dict[int, list[int]]] = {}
    for i in range(n):
        tree.setdefault(i // (k * k), {}).setdefault((i // k) % k, []).append(i % k)
    return [
        path(f"a{a}/", include([path(f"b{b}/", include([path(f"c{c}", views.ping) for c in leaves])) for b, leaves in level.items()]))
        for a, level in tree.items()
    ]
