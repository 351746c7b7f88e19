"""Under runserver (the quickstart's step and the demo), every line goes through our formatter.

Fails on the old main: runserver's second django.setup() re-applied Django's DEFAULT_LOGGING, so each
request also printed a raw `"GET /path?token=... HTTP/1.1" 200` line (query-string secrets included,
no request id) and DEBUG printed a plain copy of every 404/500.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import pytest

from tests.servers import ROOT, free_port

pytestmark = [pytest.mark.integration, pytest.mark.once]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _read(path: str) -> str:
    with open(path) as file:
        return file.read()


def test_runserver_prints_only_our_lines_and_no_secret() -> None:
    state = tempfile.mkdtemp(prefix="observe-runserver-")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "OBSERVE_", "DJANGO_"))}
    env.update(PYTHONPATH=str(ROOT), DJANGO_SETTINGS_MODULE="tests.hardening.readme_site", SQLITE_PATH=os.path.join(state, "db.sqlite3"))
    subprocess.run([sys.executable, "-m", "django", "migrate", "-v0"], env=env, cwd=ROOT, check=True, timeout=120)
    port = free_port()
    log_path = os.path.join(state, "runserver.log")
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "django", "runserver", "--noreload", f"127.0.0.1:{port}"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if _get(f"{base}/health/live") == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, _read(log_path)
            time.sleep(0.2)
        assert _get(f"{base}/health/live?token=RSLEAK-TOKEN&password=RSLEAK-PW") == 200
        assert _get(f"{base}/nope/?api_key=RSLEAK-KEY") == 404
        time.sleep(0.5)  # the lines are written after the response
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    output = _read(log_path)
    assert "RSLEAK" not in output, output
    request_lines = [line for line in output.splitlines() if "/nope/" in line or "/health/live" in line]
    assert request_lines, output
    for line in request_lines:
        parsed = json.loads(line)  # every request line is ours: JSON with a request id
        assert parsed["request_id"], line
