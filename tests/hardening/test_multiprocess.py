"""Multiprocess mode for real (gunicorn -w 2, PROMETHEUS_MULTIPROC_DIR): issue 12 items 14 and 16.

- ``/metrics?name[]=…`` returns the asked samples; before, prometheus_client's restricted
  registry found no collector by name in the multiprocess registry and every filtered scrape
  was an empty 200.
- prometheus_client's "Removal of labels has not been implemented in multi-process mode"
  warning never prints; before, every worker printed it at start (build_info's first labels
  "removed" a placeholder series).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.metrics.helpers import TOKEN, fetch, hammer, samples, total
from tests.servers import Server, running_server

pytestmark = [pytest.mark.integration, pytest.mark.once]  # gunicorn: the same in every matrix combination

MULTIPROCESS_WARNINGS = ("has not been implemented in  multi-process mode", "has not been implemented in multi-process mode")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("hardening-mp")
    (tmp / "prom").mkdir()
    conf = tmp / "gunicorn.conf.py"
    conf.write_text("from django_observe.gunicorn import *  # on_starting, child_exit\n")
    # "always": a warning printed once per location would still show; this one must not print at all.
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp / "prom"), "METRICS_TOKEN": TOKEN, "PYTHONWARNINGS": "always"}
    with running_server("gunicorn", workers=2, env=env, extra_args=("-c", str(conf))) as running:
        yield running


def _scrape(server: Server, query: str) -> dict:  # type: ignore[type-arg]
    status, _, body = fetch(f"{server.url}/metrics{query}")
    assert status == 200, body[:300]
    return samples(body.decode())


def test_name_filter_returns_the_asked_samples_of_every_worker(server: Server) -> None:
    assert hammer([f"{server.url}/fast/"] * 20) == [200] * 20
    full = _scrape(server, "")
    found = _scrape(server, "?name[]=http_requests_total&name[]=uptime_seconds&name[]=process_resident_memory_bytes")
    assert {name for name, _ in found} == {"http_requests_total", "uptime_seconds", "process_resident_memory_bytes"}
    assert total(found, "http_requests_total", endpoint="fast/") == total(full, "http_requests_total", endpoint="fast/") == 20
    assert len({dict(labels)["pid"] for name, labels in found if name == "process_resident_memory_bytes"}) >= 1
    buckets = _scrape(server, "?name[]=http_request_duration_seconds_count")
    assert {name for name, _ in buckets} == {"http_request_duration_seconds_count"}
    assert total(buckets, "http_request_duration_seconds_count", endpoint="fast/") == 20
    assert _scrape(server, "?name[]=no_such_metric") == {}


def test_the_label_removal_warning_never_prints(server: Server) -> None:
    # Startup, requests, probes and scrapes in both workers.
    hammer([f"{server.url}/fast/", f"{server.url}/health/ready", f"{server.url}/"] * 4)
    for _ in range(4):
        _scrape(server, "")
    log = server.log()
    assert "request_finished" in log  # the log is the workers' own output
    assert not [line for line in log.splitlines() if any(text in line for text in MULTIPROCESS_WARNINGS)], log[-3000:]
