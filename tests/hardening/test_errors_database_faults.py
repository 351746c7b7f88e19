"""Nothing is lost silently when the error store's database hangs or is locked (issue 12, item 5).

A real gunicorn worker stores its captured errors in a second database alias
(``ERRORS_DATABASE = "errors"``) that fails for real while the site's own database is fine:

- postgresql: a TCP server on 127.0.0.1 that accepts connections and never answers;
- sqlite: another connection holds ``BEGIN EXCLUSIVE`` on the file for the whole test (~10 s).

Before: 201 captured errors produced nothing -- none stored, none counted, nothing logged --
and the worker took ~10 s to exit on SIGTERM (a flush of 5 s, then a join of 5 s, while the
writer waited on a connect without deadline). Now: requests are unaffected; every error is
counted as dropped (``observe_internal_errors_total{component="errors_dropped"}``) within the
documented bound, with one WARNING; SIGTERM exits within the shutdown bound, and the errors
still buffered at that moment are counted too (read from the multiprocess files after exit).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, multiprocess

from django_observe.errors import intake, writes
from django_observe.errors.connection import CONNECT_TIMEOUT, STATEMENT_TIMEOUT
from tests.metrics.helpers import TOKEN, fetch, samples, value
from tests.servers import Server, running_server

pytestmark = pytest.mark.integration

#: docs/errors.md: a captured error the writer cannot store is counted as dropped within this many seconds.
DROP_BOUND = 2 * (writes.BATCH_SECONDS + max(CONNECT_TIMEOUT, STATEMENT_TIMEOUT)) + 1
SLACK = 2.5  # process start-up of the test's own polling, a loaded CI machine
DROPPED_LINE = "Captured errors are being dropped"


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never sends a byte: a database that hangs."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.held.append(connection)  # read nothing, answer nothing

    def close(self) -> None:
        self.listener.close()
        for connection in self.held:
            connection.close()


class LockedFile:
    """A migrated SQLite file that another connection holds with ``BEGIN EXCLUSIVE`` (what a long migration or a backup tool does)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.holder: sqlite3.Connection | None = None

    def lock(self, migrated_copy_of: str) -> None:
        shutil.copyfile(migrated_copy_of, self.path)
        self.holder = sqlite3.connect(self.path, isolation_level=None, timeout=0)
        self.holder.execute("BEGIN EXCLUSIVE")

    def close(self) -> None:
        if self.holder is not None:
            self.holder.execute("ROLLBACK")
            self.holder.close()


def dropped(server: Server) -> float:
    status, _, body = fetch(server.url + "/metrics")
    assert status == 200, body[:300]
    return value(samples(body.decode()), "observe_internal_errors_total", component="errors_dropped")


def dropped_in_files(directory: Path) -> float:
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))
    return registry.get_sample_value("observe_internal_errors_total", {"component": "errors_dropped"}) or 0.0


def fail(server: Server, times: int) -> list[int]:
    return [fetch(f"{server.url}/boom/?n={number}", token=None)[0] for number in range(times)]


def warning_lines(server: Server) -> list[dict[str, object]]:
    lines = []
    for line in server.log().splitlines():
        if DROPPED_LINE in line and line.startswith("{"):
            lines.append(json.loads(line))
    return lines


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_hung_or_locked_error_database_loses_nothing_silently(backend: str, tmp_path: Path) -> None:
    prom = tmp_path / "prom"
    prom.mkdir()
    env = {"DJANGO_SETTINGS_MODULE": "tests.hardening.errors_site", "PROMETHEUS_MULTIPROC_DIR": str(prom), "METRICS_TOKEN": TOKEN}
    silent = SilentServer()
    locked = LockedFile(tmp_path / "errors.sqlite3")
    if backend == "postgresql":
        errors_db = {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": "127.0.0.1",
            "PORT": silent.port,
            "NAME": "observe",
            "USER": "observe",
        }
    else:
        errors_db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(locked.path), "OPTIONS": {"timeout": 20}}
        env["DATABASE_URL"] = ""  # the site's own database: a SQLite file too
    try:
        with running_server("gunicorn", workers=1, env={**env, "OBSERVE_TEST_ERRORS_DB": json.dumps(errors_db)}) as server:
            if backend == "sqlite":
                locked.lock(migrated_copy_of=server.env["SQLITE_PATH"])  # held until the end: about 10 s
            assert fail(server, 201) == [500] * 201
            assert fetch(server.url + "/fast/", token=None)[0] == 200  # the site itself is unaffected

            deadline = time.monotonic() + DROP_BOUND + SLACK
            while dropped(server) < 201 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert dropped(server) == 201, server.log()[-3000:]
            [warning] = warning_lines(server)  # one WARNING for the whole process
            assert warning["level"] == "warning"
            assert "errors_dropped" in str(warning["event"])

            # Errors still buffered when the server is told to stop: counted too, and the stop is bounded.
            assert fail(server, 20) == [500] * 20
            began = time.monotonic()
            os.kill(server.process.pid, signal.SIGTERM)
            server.process.wait(timeout=30)
            stopped_after = time.monotonic() - began
    finally:
        silent.close()
        locked.close()
    assert stopped_after < intake.SHUTDOWN_SECONDS + SLACK, f"SIGTERM took {stopped_after:.1f} s\n{server.log()[-3000:]}"
    assert dropped_in_files(prom) == 221  # every captured error is accounted for, none silently lost
    assert len(warning_lines(server)) == 1
