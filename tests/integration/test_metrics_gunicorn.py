"""gunicorn -w 2 with PROMETHEUS_MULTIPROC_DIR and django_observe.gunicorn's hooks, scraped for real."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.metrics.helpers import TOKEN, fetch, hammer, pids_of, scrape_url, total, value
from tests.servers import Server, running_server

pytestmark = pytest.mark.integration

N = 200


@pytest.fixture(scope="module")
def gunicorn_mp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    tmp = tmp_path_factory.mktemp("gunicorn-mp")
    directory = tmp / "prom"
    directory.mkdir()
    # Left by an "earlier run": on_starting must wipe it, or the collector would choke on it.
    (directory / "counter_999999.db").write_bytes(b"not an mmap file from this run")
    conf = tmp / "gunicorn.conf.py"
    conf.write_text("from django_observe.gunicorn import *  # on_starting, child_exit\n")
    env = {"PROMETHEUS_MULTIPROC_DIR": str(directory), "METRICS_TOKEN": TOKEN, "ENVIRONMENT": "staging"}
    with running_server("gunicorn", workers=2, env=env, extra_args=("-c", str(conf))) as server:
        # running_server returns when ONE worker answers; on a busy machine the second may still boot.
        deadline = time.monotonic() + 30
        while len(list(directory.glob("gauge_livesum_*.db"))) < 2:
            assert time.monotonic() < deadline, server.log()[-3000:]
            time.sleep(0.2)
        yield server, directory


def test_a_single_scrape_sums_every_worker_exactly(gunicorn_mp: tuple[Server, Path]) -> None:
    server, directory = gunicorn_mp
    assert not (directory / "counter_999999.db").exists()
    statuses = hammer([f"{server.url}/fast/"] * N)
    assert statuses == [200] * N
    found = scrape_url(server.url)
    assert total(found, "http_requests_total", endpoint="fast/") == N
    assert value(found, "http_requests_total", method="GET", endpoint="fast/", status_code="200") == N
    assert total(found, "http_request_duration_seconds_count", endpoint="fast/") == N
    # Both workers served and are reported with their own process metrics.
    assert len(pids_of(found)) == 2
    served_by = {path.name.split("_")[-1] for path in directory.glob("counter_*.db")}
    assert len(served_by) == 2
    assert value(found, "http_requests_in_progress") == 1  # the scrape itself
    assert total(found, "build_info", environment="staging") == 1
    assert value(found, "uptime_seconds") > 0
    assert total(found, "database_queries_total") >= 0
    assert "_created" not in str(found)


def test_promtool_accepts_a_scrape(gunicorn_mp: tuple[Server, Path]) -> None:
    promtool = require_binary("promtool")
    server, _ = gunicorn_mp
    hammer([f"{server.url}/items/{pk}/" for pk in range(1, 20)] + [f"{server.url}/boom/"] * 2)
    status, headers, body = fetch(server.url + "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    result = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=30)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def test_prometheus_scrapes_with_the_token(gunicorn_mp: tuple[Server, Path]) -> None:
    require_binary("prometheus")
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    from prom_run import running_prometheus

    server, _ = gunicorn_mp
    assert fetch(server.url + "/metrics", token=None)[0] == 401
    assert fetch(server.url + "/metrics", token="wrong")[0] == 403
    hammer([f"{server.url}/items/987654/"] * 5)
    host = server.url.removeprefix("http://")
    with running_prometheus([host], bearer_token=TOKEN) as prom:
        assert [(r["metric"]["instance"], r["value"][1]) for r in prom.query("up")] == [(host, "1")]
        deadline = time.monotonic() + 15
        while True:
            results = prom.query('http_requests_total{endpoint="items/<int:pk>/",status_code="404"}')
            if results and sum(float(r["value"][1]) for r in results) >= 5:
                break
            assert time.monotonic() < deadline, results
            time.sleep(0.3)
        labels = [r["metric"] for r in results]
        assert {(m["method"], m["status_code"], m["job"]) for m in labels} == {("GET", "404", "django")}
        assert set(labels[0]) == {"__name__", "method", "endpoint", "status_code", "instance", "job"}
        fast = prom.query('sum(http_requests_total{endpoint="fast/"})')
        assert float(fast[0]["value"][1]) == N
        assert prom.query("process_resident_memory_bytes")


def test_a_killed_worker_keeps_its_counts_and_leaves_no_live_gauge(gunicorn_mp: tuple[Server, Path]) -> None:
    server, directory = gunicorn_mp
    before = scrape_url(server.url)
    victim = int(sorted(pids_of(before))[0])
    os.kill(victim, signal.SIGKILL)  # a worker of the gunicorn this test started
    deadline = time.monotonic() + 30
    while True:
        found = scrape_url(server.url)
        pids = pids_of(found)
        if str(victim) not in pids and len(pids) == 2:
            break
        assert time.monotonic() < deadline, pids
        time.sleep(0.3)
    assert total(found, "http_requests_total", endpoint="fast/") == N
    assert value(found, "http_requests_in_progress") == 1
    assert not list(directory.glob(f"gauge_live*_{victim}.db"))
    # its counts stay part of the total, folded into the archive by child_exit
    assert not (directory / f"counter_{victim}.db").exists() and (directory / "counter_archive.db").exists()


@pytest.mark.once
def test_replaced_workers_are_folded_into_one_archive_and_totals_stay_exact(tmp_path: Path) -> None:
    """--max-requests replaces workers all the time: their files must not pile up, and no count may be lost."""
    directory = tmp_path / "prom"
    directory.mkdir()
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text("from django_observe.gunicorn import *  # on_starting, child_exit\n")
    env = {"PROMETHEUS_MULTIPROC_DIR": str(directory), "METRICS_TOKEN": TOKEN}
    n = 150
    with running_server("gunicorn", workers=2, env=env, extra_args=("-c", str(conf), "--max-requests", "20")) as server:
        assert hammer([f"{server.url}/fast/"] * n, threads=4) == [200] * n
        found = scrape_url(server.url)
        assert total(found, "http_requests_total", endpoint="fast/") == n
        assert total(found, "http_request_duration_seconds_count", endpoint="fast/") == n
        assert total(found, "http_request_duration_seconds_bucket", endpoint="fast/", le="+Inf") == n
        # ~8 workers were replaced; what stays is the archive and the files of the running workers
        assert (directory / "counter_archive.db").exists() and (directory / "histogram_archive.db").exists()
        running = {path.name.rsplit("_", 1)[1] for path in directory.glob("counter_*.db")} - {"archive.db"}
        assert len(running) <= 2, sorted(p.name for p in directory.iterdir())
        assert value(found, "http_requests_in_progress") == 1  # the scrape itself; replaced workers stopped counting


def test_workers_without_the_directory_log_a_warning(tmp_path: Path) -> None:
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    env = {"METRICS_TOKEN": TOKEN}
    with running_server("gunicorn", workers=2, env=env, migrate=False) as server:  # no DB needed
        for _ in range(4):
            assert fetch(server.url + "/metrics")[0] == 200
        deadline = time.monotonic() + 10
        while "without PROMETHEUS_MULTIPROC_DIR" not in server.log():
            assert time.monotonic() < deadline, server.log()[-3000:]
            time.sleep(0.2)
        assert "2 worker processes serve this app without PROMETHEUS_MULTIPROC_DIR" in server.log()
