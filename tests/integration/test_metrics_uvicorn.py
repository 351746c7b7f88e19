"""uvicorn (ASGI) with 2 workers and PROMETHEUS_MULTIPROC_DIR: exact sums, sync and async views, dead workers."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from django_observe.gunicorn import wipe_multiproc_dir
from tests.conftest import require_binary
from tests.metrics.helpers import TOKEN, fetch, hammer, pids_of, scrape_url, total, value
from tests.servers import running_server

pytestmark = pytest.mark.integration

N = 120


def test_uvicorn_workers_scrape_exactly_and_forget_a_dead_workers_in_progress(tmp_path: Path) -> None:
    directory = tmp_path / "prom"
    directory.mkdir()
    (directory / "gauge_livesum_999999.db").write_bytes(b"stale")
    assert wipe_multiproc_dir(str(directory)) == 1  # uvicorn has no hooks: the entrypoint wipes
    env = {"PROMETHEUS_MULTIPROC_DIR": str(directory), "METRICS_TOKEN": TOKEN}
    with running_server("uvicorn", workers=2, env=env) as server:
        urls = [f"{server.url}/fast/", f"{server.url}/async/"] * (N // 2)
        assert hammer(urls) == [200] * N
        assert hammer([f"{server.url}/boom/"] * 4) == [500] * 4
        found = scrape_url(server.url)
        assert value(found, "http_requests_total", method="GET", endpoint="fast/", status_code="200") == N // 2
        assert value(found, "http_requests_total", method="GET", endpoint="async/", status_code="200") == N // 2
        assert value(found, "http_request_duration_seconds_count", method="GET", endpoint="boom/") == 4
        assert value(found, "exceptions_total", type="RuntimeError", endpoint="boom/") == 4
        assert value(found, "http_requests_in_progress") == 1
        pids = pids_of(found)
        assert len(pids) >= 1

        promtool = require_binary("promtool")
        status, _, body = fetch(server.url + "/metrics")
        result = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=30)
        assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()

        # A worker dies without any hook (uvicorn calls none): the next scrape marks it dead,
        # so its in-progress gauge stops counting, and its counts stay in the totals.
        live_files = {path.name for path in directory.glob("gauge_livesum_*.db")}
        victim = int(sorted(pids)[0])
        assert f"gauge_livesum_{victim}.db" in live_files
        os.kill(victim, signal.SIGKILL)  # a worker of the uvicorn this test started
        deadline = time.monotonic() + 30
        while True:
            found = scrape_url(server.url)
            if str(victim) not in pids_of(found):
                break
            assert time.monotonic() < deadline
            time.sleep(0.3)
        assert not (directory / f"gauge_livesum_{victim}.db").exists()
        assert value(found, "http_requests_in_progress") == 1
        assert total(found, "http_requests_total", endpoint="fast/") == N // 2
