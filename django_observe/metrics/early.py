"""Scrapes answered by ObserveMiddleware itself, before ``ALLOWED_HOSTS`` and ``SECURE_SSL_REDIRECT``.

Prometheus scrapes pods by IP over plain HTTP (``Host: 10.1.2.3:8000``). Through the whole
stack that scrape meets ``CommonMiddleware`` (``request.get_host()``: 400 DisallowedHost) and
``SecurityMiddleware`` (301 to https), so it never reached the view. The health probes are
answered first for the same reason (``health/routes.py``); a scrape is answered first only when:

* the URLconf routes the path to ``metrics_view`` (a site that did not include our URLs, or
  serves metrics elsewhere, gets nothing new), and
* it needs no session: a valid bearer token (any ``Host``), or an allowed client address or
  ``METRICS_PUBLIC`` with a ``Host`` that is an IP address or passes ``ALLOWED_HOSTS``. A browser
  fooled by DNS rebinding sends the attacker's host name and no token: it still meets the host check.

Everything else (no credentials, a staff session) goes through the stack as before.
"""

from __future__ import annotations

import functools
import ipaddress

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from ..conf import get_settings, on_change
from . import export


class EarlyScrape:
    """The metrics view as ObserveMiddleware's route table holds it: ``accepts`` decides, ``__call__`` answers."""

    #: Reading the multiprocess files is I/O: under ASGI the middleware calls it in a worker thread.
    does_io = True

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return export.metrics_view(request)

    def accepts(self, request: HttpRequest) -> bool:
        """True when this request is answered before the rest of the middleware (see the module docstring)."""
        if not routed(request.path_info):
            return False
        how = export.grant(request)
        if how == "token":
            return True
        return bool(how) and _host_checked(request)


scrape = EarlyScrape()


def metrics_paths() -> list[str]:
    """``/metrics`` and the aliases, as ``path_info`` spells them."""
    conf = get_settings()
    return ["/" + path.strip("/") for path in (conf.METRICS_PATH, *conf.METRICS_PATH_ALIASES)]


@functools.cache
def routed(path_info: str) -> bool:
    """The default URLconf sends ``path_info`` to the metrics view (checked once per path and URLconf)."""
    try:
        return resolve(path_info).func is export.metrics_view
    except Resolver404:
        return False


on_change("OBSERVE", "ROOT_URLCONF")(routed.cache_clear)


def _host_checked(request: HttpRequest) -> bool:
    """The Host header is an IP address (what a scraper of pods sends), or passes ALLOWED_HOSTS."""
    host = request.META.get("HTTP_HOST", "")
    literal = host[1:].partition("]")[0] if host.startswith("[") else host.partition(":")[0]
    try:
        ipaddress.ip_address(literal)
        return True
    except ValueError:
        pass
    try:
        request.get_host()
    except DisallowedHost:
        return False
    return True
