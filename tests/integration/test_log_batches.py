"""Batched log lines under real servers: a worker stopped with SIGTERM has written every line it logged."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.servers import running_server

pytestmark = [pytest.mark.integration, pytest.mark.once]

N = 20  # fewer than a batch (32): without an exit flush, every one of these lines would still wait


def _ids_in(path: Path, prefix: str) -> list[str]:
    if not path.exists():
        return []
    return [
        line["request_id"]
        for line in map(json.loads, path.read_text().splitlines())
        if line["event"] == "request_finished" and str(line.get("request_id", "")).startswith(prefix)
    ]


def _get(url: str, request_id: str) -> None:
    request = urllib.request.Request(url, headers={"X-Request-ID": request_id})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def test_a_gunicorn_worker_stopped_with_sigterm_writes_every_waiting_line(tmp_path: Path) -> None:
    log_file = tmp_path / "app.jsonl"
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text("from django_observe.gunicorn import *  # on_starting, child_exit, worker_exit\n")
    env = {"LOG_FILE": str(log_file), "OBSERVE_JSON": json.dumps({"LOG_BUFFER_SECONDS": 60})}
    with running_server("gunicorn", workers=1, env=env, extra_args=("-c", str(conf))) as server:
        [worker] = psutil.Process(server.process.pid).children()
        for number in range(N):
            _get(f"{server.url}/fast/", f"term-{number}")
        assert _ids_in(log_file, "term-") == []  # all waiting for their batch (60 s, 32 lines)
        os.kill(worker.pid, signal.SIGTERM)  # the worker of the server this test started
        worker.wait(timeout=30)
        assert sorted(_ids_in(log_file, "term-")) == sorted(f"term-{number}" for number in range(N))
        # the master started a new worker, which logs as before
        deadline = time.monotonic() + 30
        while not psutil.Process(server.process.pid).children():
            assert time.monotonic() < deadline
            time.sleep(0.1)
        _get(f"{server.url}/fast/", "after-1")
    assert _ids_in(log_file, "after-") == ["after-1"]  # written when the whole server stopped


def test_a_uvicorn_server_stopped_with_sigterm_writes_every_waiting_line(tmp_path: Path) -> None:
    """uvicorn ends by raising SIGTERM again with the default handler: no atexit; the signal itself writes the lines."""
    log_file = tmp_path / "app.jsonl"
    env = {"LOG_FILE": str(log_file), "OBSERVE_JSON": json.dumps({"LOG_BUFFER_SECONDS": 60})}
    with running_server("uvicorn", workers=1, env=env) as server:
        for number in range(N):
            _get(f"{server.url}/fast/", f"uv-{number}")
        assert _ids_in(log_file, "uv-") == []
    assert sorted(_ids_in(log_file, "uv-")) == sorted(f"uv-{number}" for number in range(N))
