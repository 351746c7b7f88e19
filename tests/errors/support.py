"""Helpers for the error tracker's tests: one captured failure; a fresh database per subprocess test, queries through manage.py."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django_observe.errors.capture import capture_exception
from tests.servers import manage, server_env


def boom(message: str = "order 1 failed") -> None:
    raise ValueError(message)


def capture_boom(message: str = "order 1 failed") -> None:
    """Capture one ValueError raised in ``boom`` (the same group every time)."""
    try:
        boom(message)
    except ValueError as error:
        capture_exception(error)


@contextlib.contextmanager
def fresh_database(backend: str, postgres_url: str | None = None) -> Iterator[dict[str, str]]:
    """Env vars for a subprocess of the testproject using a new, migrated database; dropped afterwards."""
    state = tempfile.mkdtemp(prefix="observe-errors-")
    if backend == "sqlite":
        path = os.path.join(state, "db.sqlite3")
        shutil.copyfile(_sqlite_template(), path)  # migrating takes seconds; copying a migrated file does not
        yield server_env({"DATABASE_URL": "", "SQLITE_PATH": path}, state_dir=state)
        return
    import psycopg

    assert postgres_url is not None
    name = f"observe_errors_{uuid.uuid4().hex[:10]}"
    parts = urlsplit(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        env = server_env({"DATABASE_URL": urlunsplit(parts._replace(path="/" + name))}, state_dir=state)
        _migrate(env)
        yield env
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@functools.cache
def _sqlite_template() -> str:
    state = tempfile.mkdtemp(prefix="observe-errors-template-")
    path = os.path.join(state, "db.sqlite3")
    _migrate(server_env({"DATABASE_URL": "", "SQLITE_PATH": path}, state_dir=state))
    return path


def _migrate(env: dict[str, str]) -> None:
    result = manage("migrate", "--noinput", "-v0", env=env)
    if result.returncode != 0:
        raise RuntimeError(f"migrate failed:\n{result.stdout}\n{result.stderr}")


def query(env: dict[str, str], code: str) -> Any:
    """Run ``code`` (which must set ``result``) in ``manage.py shell`` against env's database; its JSON."""
    script = "import json\n" + code + "\nprint('RESULT=' + json.dumps(result, default=str))"
    completed = manage("shell", "-c", script, env=env)
    for line in completed.stdout.splitlines():
        if line.startswith("RESULT="):
            return json.loads(line[len("RESULT=") :])
    raise RuntimeError(f"query failed:\n{completed.stdout[-2000:]}\n{completed.stderr[-4000:]}")


GROUPS = """
from django_observe.models import ErrorEvent, ErrorGroup
result = [
    {"title": g.title, "count": g.count, "exc_type": g.exc_type, "culprit": g.culprit, "status": g.status,
     "hourly": sum(g.hourly.values_list("count", flat=True)), "events": g.events.count()}
    for g in ErrorGroup.objects.order_by("title")
]
"""


class EnvelopeReceiver:
    """A tiny HTTP server speaking the ingest side of Sentry's envelope protocol, on 127.0.0.1.

    ``dsn`` points sentry-sdk at it; ``events`` are the decoded error events received.
    """

    def __init__(self) -> None:
        import http.server
        import threading

        received: list[dict[str, Any]] = []
        self.events = received
        self.auth_headers: list[str] = []
        auth_headers = self.auth_headers

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    import gzip

                    body = gzip.decompress(body)
                auth_headers.append(self.headers.get("X-Sentry-Auth", ""))
                lines = body.split(b"\n")
                # envelope header, then (item header, payload) pairs
                index = 1
                while index + 1 < len(lines):
                    item = json.loads(lines[index])
                    payload = lines[index + 1]
                    if item.get("length") is not None:  # a payload may contain newlines when its length is given
                        rest = b"\n".join(lines[index + 1 :])
                        payload = rest[: item["length"]]
                        lines = (
                            [*lines[: index + 1], *rest[item["length"] :].split(b"\n")[1:]]
                            if len(rest) > item["length"]
                            else lines[: index + 2]
                        )
                    if item.get("type") == "event":
                        received.append(json.loads(payload))
                    index += 2
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.dsn = f"http://publickey@127.0.0.1:{self.server.server_address[1]}/42"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        import time

        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.events

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
