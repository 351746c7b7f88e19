"""Probe routing: which health view answers which path, looked up by ObserveMiddleware on every request.

The middleware answers probes itself, before any redirect, login or rate-limit middleware can
turn them into a 301/302/403 (django-health-check#678). It asks ``probe_view(path_info)``:
one dict lookup, the table built once per HEALTH_PATH. Each path answers with and without
its trailing slash.
"""

from __future__ import annotations

import functools

from ..conf import get_settings, on_change
from . import views

#: Path suffixes under HEALTH_PATH and the view answering each.
SUFFIXES: tuple[tuple[str, views.View], ...] = (
    ("", views.summary),
    ("/live", views.live),
    ("/ready", views.ready),
    ("/detailed", views.detailed),
)


def probe_view(path_info: str) -> views.View | None:
    """The probe view ObserveMiddleware answers for ``path_info`` itself, before other middleware runs; else None."""
    return _table(_prefix()).get(path_info)


def probe_paths() -> list[str]:
    """The probe paths without slashes around them (``health``, ``health/live``, ...), e.g. to spot clashes."""
    prefix = _prefix().strip("/")
    return [prefix + suffix for suffix, _view in SUFFIXES]


@functools.cache
def _table(prefix: str) -> dict[str, views.View]:
    table: dict[str, views.View] = {}
    for suffix, view in SUFFIXES:
        table[prefix + suffix] = view
        table[prefix + suffix + "/"] = view
    return table


@functools.cache
def _prefix() -> str:
    return "/" + get_settings().HEALTH_PATH.strip("/")


on_change()(_prefix.cache_clear)
