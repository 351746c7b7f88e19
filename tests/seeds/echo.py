"""A local HTTP service for outbound-call tests: answers by path and remembers the request ids it received."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Echo:
    url: str
    port: int
    received: list[tuple[str, str | None]] = field(default_factory=list)  # (path, X-Request-ID)


@contextmanager
def echo_server() -> Iterator[Echo]:
    """127.0.0.1 on a free port: ``/ok`` 200, ``/fail`` 500, ``/missing`` 404, ``/redirect`` 302 to ``/ok``."""
    received: list[tuple[str, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            received.append((self.path, self.headers.get("X-Request-ID")))
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            status = {"/ok": 200, "/fail": 500, "/missing": 404, "/redirect": 302}.get(self.path, 404)
            self.send_response(status)
            if status == 302:
                self.send_header("Location", "/ok")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        yield Echo(url=f"http://127.0.0.1:{port}", port=port, received=received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
