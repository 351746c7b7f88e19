"""Probe routing: which health view answers which path, looked up by ObserveMiddleware on every request.

The middleware answers probes itself, before any redirect, login or rate-limit middleware can
turn them into a 301/302/403 (django-health-check#678). It asks ``probe_view(path_info)``:
one dict lookup, the table built once per settings. Each probe path answers with and without
its trailing slash. The metrics paths are in the table too (``metrics/early.py``): their view
has an ``accepts(request)`` the middleware asks first (a scrape with a token, yes; a browser, no).
"""

from __future__ import annotations

import functools

from ..conf import get_settings, on_change
from ..metrics import early
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
    return _table().get(path_info)


def probe_paths() -> list[str]:
    """The probe paths without slashes around them (``health``, ``health/live``, ...), e.g. to spot clashes."""
    prefix = _prefix().strip("/")
    paths = [prefix + suffix for suffix, _view in SUFFIXES]
    if get_settings().HEALTH_ROOT_ALIASES:
        paths += [path.strip("/") for path, _view in ROOT_ALIASES]
    return paths


#: With HEALTH_ROOT_ALIASES: the probes some guides' Kubernetes manifests call at the site root.
ROOT_ALIASES: tuple[tuple[str, views.View], ...] = (("/live", views.live), ("/ready", views.ready))


@functools.cache
def _table() -> dict[str, views.View]:
    # Metrics first: a probe path wins a clash (check W023 reports it).
    table: dict[str, views.View] = dict.fromkeys(early.metrics_paths(), early.scrape)
    prefix = _prefix()
    for suffix, view in SUFFIXES:
        table[prefix + suffix] = view
        table[prefix + suffix + "/"] = view
    for path, view in ROOT_ALIASES if get_settings().HEALTH_ROOT_ALIASES else ():
        table.setdefault(path, view)
        table.setdefault(path + "/", view)
    return table


@functools.cache
def _prefix() -> str:
    return "/" + get_settings().HEALTH_PATH.strip("/")


on_change()(_prefix.cache_clear)
on_change()(_table.cache_clear)
