"""Run the generated kit for real: Prometheus and Alertmanager from the kit's files, a webhook that records.

Only 127.0.0.1 and free ports; every process is ours and stopped by PID.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.conftest import require_binary
from tests.servers import free_port


def get_json(url: str, timeout: float = 5) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


@dataclass
class Webhook:
    """An Alertmanager webhook receiver: every POSTed notification, with the monotonic time it arrived."""

    url: str = ""
    received: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def alerts(self, name: str, status: str = "firing") -> list[tuple[float, dict[str, Any]]]:
        """(arrival time, alert) of every alert called ``name`` in the notifications so far."""
        with self.lock:
            return [
                (arrived, alert)
                for arrived, body in self.received
                for alert in body.get("alerts", [])
                if alert["labels"].get("alertname") == name and alert.get("status") == status
            ]


@contextlib.contextmanager
def webhook_server() -> Iterator[Webhook]:
    hook = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            with hook.lock:
                hook.received.append((time.monotonic(), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/alerts"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Process:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def running(command: list[str], url: str, ready: Callable[[], bool], log_path: Path, timeout: float = 30) -> Iterator[Process]:
    """Start ``command``, wait until ``ready()``, stop it (TERM, then KILL) at the end."""
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError, ValueError, KeyError):
                if ready():
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[0]} did not come up:\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        yield Process(url, process, log_path)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def alertmanager(config: Path, workdir: Path, port: int = 0) -> Iterator[Process]:
    binary = require_binary("prometheus-alertmanager")
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.path={workdir / 'alertmanager-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",  # no gossip port
    ]

    def ready() -> bool:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
            return response.status == 200

    with running(command, url, ready, workdir / "alertmanager.log") as process:
        yield process


@contextlib.contextmanager
def prometheus(config: Path, workdir: Path) -> Iterator[Process]:
    """Prometheus from the kit's prometheus.yml; ready once every target was scraped healthy."""
    binary = require_binary("prometheus")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'prometheus-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]

    def ready() -> bool:
        targets = get_json(f"{url}/api/v1/targets")["data"]["activeTargets"]
        return bool(targets) and all(target["health"] == "up" for target in targets)

    with running(command, url, ready, workdir / "prometheus.log") as process:
        yield process


def query(prometheus_url: str, expr: str) -> list[dict[str, Any]]:
    return get_json(f"{prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))["data"]["result"]


def wait_for(condition: Callable[[], Any], timeout: float, what: Callable[[], str], interval: float = 0.2) -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``what()`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s:\n{what()}")
        time.sleep(interval)
