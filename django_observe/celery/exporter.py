"""The worker's own metrics endpoint (``CELERY_EXPORTER_PORT``), for workers the web's scrape cannot see.

A worker on another host or in another container than the web server cannot write into
the web's ``PROMETHEUS_MULTIPROC_DIR``; this serves ``/metrics`` from the worker's main
process instead, on ``CELERY_EXPORTER_ADDRESS`` (127.0.0.1 unless you say otherwise).
The request goes through the web's own view, ``metrics.export.metrics_view``: the same
bearer tokens (``METRICS_TOKENS``), allowed networks, formats and gzip, and no Django
middleware, URLconf or session (so no staff login here).

Prefork children run the tasks in other processes: their counts reach this endpoint
only through a ``PROMETHEUS_MULTIPROC_DIR`` (the worker's own, or the one it shares
with the web). Without it a WARNING says so at startup.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from ..conf import get_settings
from ..metrics import multiprocess_dir

logger = logging.getLogger(__name__)

PATH = "/metrics"


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a slow scraper never holds the worker's shutdown
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access line per scrape (wsgiref writes one to stderr)."""


def metrics_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """WSGI app: ``GET /metrics`` answered by the web's metrics view; anything else is 404."""
    if environ.get("PATH_INFO") != PATH:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Only /metrics is served here.\n"]
    from django.core.handlers.wsgi import WSGIRequest

    from ..metrics.export import metrics_view

    response = metrics_view(WSGIRequest(environ))
    start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
    return [response.content]


class Exporter:
    """A running endpoint: ``port`` (the real one when 0 was asked for tests), ``stop()``."""

    def __init__(self, server: WSGIServer) -> None:
        self.server = server
        self.port: int = server.server_address[1]
        self.thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.5}, name="observe-celery-exporter", daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()

    def close_inherited_socket(self) -> None:
        """In a forked child: close our copy of the listening socket (the parent keeps serving)."""
        self.server.socket.close()


_running: list[Exporter] = []


def start(address: str | None = None, port: int | None = None, prefork: bool = False) -> Exporter | None:
    """Serve ``/metrics`` on ``address:port`` (defaults: the settings) in a daemon thread; None when off or the port is taken.

    ``prefork``: the worker runs tasks in child processes (a WARNING when their counts cannot be seen).

    A port already in use (a second worker on the same host with the same setting) is
    logged as a WARNING and the worker runs on without the endpoint.
    """
    conf = get_settings()
    address = address if address is not None else conf.CELERY_EXPORTER_ADDRESS
    if port is None:
        port = conf.CELERY_EXPORTER_PORT
        if not port:
            return None  # off (an explicit port=0 asks for any free port instead)
    try:
        server = make_server(address, port, metrics_app, server_class=_ThreadingServer, handler_class=_QuietHandler)
    except OSError as error:
        logger.warning(
            "The Celery worker's metrics endpoint could not listen on %s:%s (%s); set OBSERVE['CELERY_EXPORTER_PORT'] "
            "to a free port for each worker on this host.",
            address,
            port,
            error.strerror or type(error).__name__,
        )
        return None
    exporter = Exporter(server)
    _running.append(exporter)
    logger.info("Celery worker metrics on http://%s:%d%s", address, exporter.port, PATH)
    if prefork and not multiprocess_dir():
        logger.warning(
            "The Celery worker runs tasks in prefork child processes but PROMETHEUS_MULTIPROC_DIR is not set: its metrics "
            "endpoint cannot see their counts. Set PROMETHEUS_MULTIPROC_DIR to an empty directory for the worker (docs/celery.md)."
        )
    return exporter


def running() -> list[Exporter]:
    """The endpoints this process started (for the fork handler and tests)."""
    return list(_running)


def stop_all() -> None:
    """Stop every endpoint this process started."""
    while _running:
        _running.pop().stop()
