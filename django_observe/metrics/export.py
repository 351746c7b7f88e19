"""The /metrics view: Prometheus text or OpenMetrics by ``Accept``, gzip when asked, access-controlled.

Access, first match wins: ``METRICS_PUBLIC``; a bearer token from ``METRICS_TOKENS``
(constant-time compare against every token); a client address in ``METRICS_ALLOWED_IPS``;
a logged-in active staff user (``METRICS_ALLOW_STAFF``). Otherwise 401 when the request
brought no credentials, 403 when it brought wrong ones. The token is never logged: the
access line has the path only and nothing here logs headers. A scrape that needs no session
is answered by ObserveMiddleware before ALLOWED_HOSTS and SECURE_SSL_REDIRECT (``early.py``).
"""

from __future__ import annotations

import copy
import functools
import gzip
import ipaddress
import logging
from collections.abc import Iterator, Sequence

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client.exposition import choose_encoder, gzip_accepted
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from .. import tokens
from ..conf import get_settings, on_change, parse_network
from ..guard import report
from . import collectors, core, db, workers

logger = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def _tokens() -> tuple[bytes, ...]:
    return tokens.accepted(get_settings().METRICS_TOKENS)


@functools.cache
def _networks() -> tuple[Network, ...]:
    return tuple(network for entry in get_settings().METRICS_ALLOWED_IPS if (network := parse_network(entry)) is not None)


@on_change()
def _settings_changed() -> None:
    _tokens.cache_clear()
    _networks.cache_clear()


def _ip_allowed(request: HttpRequest) -> bool:
    networks = _networks()
    if not networks:
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in networks)


def grant(request: HttpRequest) -> str:
    """How the request may read metrics without a session: ``public``, ``token``, ``ip``, or "" (it may not)."""
    if get_settings().METRICS_PUBLIC:
        return "public"
    header = request.META.get("HTTP_AUTHORIZATION")
    if header:
        scheme, _, credential = header.partition(" ")
        if scheme.lower() == "bearer" and tokens.matches(credential, _tokens()):
            return "token"
    if _ip_allowed(request):
        return "ip"
    return ""


def authorize(request: HttpRequest) -> int:
    """200 when the request may read metrics, 401 without credentials, 403 with wrong ones."""
    if grant(request):
        return 200
    conf = get_settings()
    wrong = bool(request.META.get("HTTP_AUTHORIZATION"))
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        if conf.METRICS_ALLOW_STAFF and user.is_active and user.is_staff:
            return 200
        wrong = True
    return 403 if wrong else 401


class OnlySamples:
    """``?name[]=`` filtering: the samples of ``registry`` whose names were asked for, in both modes.

    Same rule as prometheus_client's ``restricted_registry()`` (sample names: ``x_total``,
    ``x_bucket``), which cannot serve multiprocess mode: it finds collectors by the names
    they describe, the multiprocess collector describes none, and every scrape came back empty.
    """

    def __init__(self, registry: Collector, names: frozenset[str]) -> None:
        self.registry = registry
        self.names = names

    def collect(self) -> Iterator[Metric]:
        for family in self.registry.collect():
            samples = [sample for sample in family.samples if sample.name in self.names]
            if samples:
                kept = copy.copy(family)
                kept.samples = samples
                yield kept


def render(accept: str | None, accept_encoding: str | None, names: Sequence[str] = ()) -> tuple[bytes, str, bool]:
    """(body, content type, gzipped) of a scrape; prometheus_client picks the format from ``Accept``."""
    if core.get_settings().METRICS_DATABASE:
        db.refresh_connection_gauges()
    path = core.multiprocess_dir()
    registry = collectors.scrape_registry(path, core.get_metrics().namespace if path else "")
    if names:
        registry = OnlySamples(registry, frozenset(names))
    encoder, content_type = choose_encoder(accept or "")
    body = encoder(registry)
    if gzip_accepted(accept_encoding or ""):
        # Level 6: nearly level 9's size at a fraction of its CPU time on every scrape.
        return gzip.compress(body, compresslevel=6), content_type, True
    return body, content_type, False


@login_not_required
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Serve the metrics to Prometheus (see the module docstring for who may read them)."""
    if request.method not in ("GET", "HEAD"):
        response = HttpResponse(status=405)
        response["Allow"] = "GET, HEAD"
        return response
    status = authorize(request)
    if status == 401:
        response = HttpResponse("Metrics need a bearer token: Authorization: Bearer <token>.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if status == 403:
        return HttpResponse("These credentials may not read metrics.\n", status=403, content_type="text/plain")
    try:
        core.get_metrics()  # a scrape before the first request still shows every family
        workers.warn_if_unshared()  # servers never run system checks; the first scrapes look instead
        body, content_type, gzipped = render(
            request.META.get("HTTP_ACCEPT"), request.META.get("HTTP_ACCEPT_ENCODING"), request.GET.getlist("name[]")
        )
    except Exception:
        # Prometheus records the failed scrape (up == 0); the details go to our log, not to the client.
        report("metrics_export", message="Could not render the metrics", level=logging.ERROR)
        return HttpResponse("Metrics are unavailable; see the server log.\n", status=500, content_type="text/plain")
    response = HttpResponse(body, content_type=content_type)
    if gzipped:
        response["Content-Encoding"] = "gzip"
    response["Vary"] = "Accept, Accept-Encoding, Authorization, Cookie"
    return response
