"""Celery handlers in this process: eager tasks, publishing over the in-memory transport, the worker's metrics port.

The real workers and brokers are in test_workers.py; here the same handlers run where a
test can look at every line and every sample.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from django.conf import settings
from django.test import override_settings

from django_observe import context
from django_observe.celery import HEADER, exporter
from django_observe.celery.metrics import bounded_name
from django_observe.conf import problems
from django_observe.gunicorn import wipe_multiproc_dir
from django_observe.metrics.export import render
from testproject.demo import tasks
from tests.conftest import LogCapture
from tests.metrics.helpers import TOKEN, fetch, samples

pytestmark = pytest.mark.django_db


def observe(**overrides: Any) -> override_settings:
    return override_settings(OBSERVE={**settings.OBSERVE, "METRICS_TOKENS": [TOKEN], **overrides})


def _scrape() -> str:
    """The /metrics text, rendered without a request (a request through the test client would end the bound context)."""
    return render("", "")[0].decode()


def _count(metric: str, **labels: str) -> float:
    wanted = {("name" if key == "task" else key, value) for key, value in labels.items()}
    return sum(number for (sample, series), number in samples(_scrape()).items() if sample == metric and wanted <= set(series))


@pytest.fixture
def in_request() -> Iterator[str]:
    context.bind_request("req-in-process")
    yield "req-in-process"
    context.clear()


def test_an_eager_task_logs_its_lines_and_gives_the_request_its_context_back(in_request: str, json_logs: LogCapture) -> None:
    with observe():
        before = _count("celery_tasks_total", task="demo.work", status="SUCCESS")
        result = tasks.work.apply(("eager",))
        after = _count("celery_tasks_total", task="demo.work", status="SUCCESS")
    [started] = json_logs.events("task_started")
    [finished] = json_logs.events("task_succeeded")
    assert (started["task_id"], started["task_name"], started["request_id"], started["state"]) == (
        result.id,
        "demo.work",
        in_request,
        "STARTED",
    )
    assert (finished["task_id"], finished["state"], finished["retries"], finished["level"]) == (result.id, "SUCCESS", 0, "info")
    assert finished["duration_ms"] >= 0 and finished["request_id"] == in_request
    assert after == before + 1
    assert (context.get_request_id(), context.task_id_var.get()) == (in_request, None)


def test_a_failing_task_logs_an_error_with_the_scrubbed_traceback(in_request: str, json_logs: LogCapture) -> None:
    with observe():
        before = _count("celery_tasks_total", task="demo.work", status="FAILURE")
        result = tasks.work.apply(("eager",), {"fail": True})
        assert _count("celery_tasks_total", task="demo.work", status="FAILURE") == before + 1
    assert result.failed()
    [failed] = json_logs.events("task_failed")
    assert (failed["level"], failed["state"], failed["request_id"]) == ("error", "FAILURE", in_request)
    assert "ValueError: demo task failure eager password=[Filtered]" in failed["exception"]
    assert "hunter2" not in json_logs.text


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("all", ["task_started", "task_succeeded", "task_started", "task_failed"]),
        ("finish", ["task_succeeded", "task_failed"]),
        ("failures", ["task_failed"]),
        ("off", []),
    ],
)
def test_the_line_rate_setting(level: str, expected: list[str], json_logs: LogCapture) -> None:
    with observe(CELERY_TASK_LOG=level):
        tasks.work.apply(("rate",))
        tasks.work.apply(("rate",), {"fail": True})
    assert [line["event"] for line in json_logs.lines if line["logger"] == "django_observe.celery"] == expected


def test_metrics_can_be_switched_off() -> None:
    with observe(CELERY_METRICS=False):
        before = _count("celery_tasks_total", task="demo.work")
        tasks.work.apply(("off",))
        assert _count("celery_tasks_total", task="demo.work") == before


@pytest.fixture
def memory_app() -> Iterator[Celery]:
    """An app on kombu's in-memory transport: publishing runs the real signals without a broker."""
    app = Celery("memory", broker="memory://", set_as_current=False)
    # The test run's CELERY_BROKER_URL env var would win over broker_url; these two win over it.
    app.conf.broker_read_url = app.conf.broker_write_url = "memory://"
    yield app
    app.close()


def test_publishing_in_a_request_sends_only_the_request_id_and_counts_the_task(in_request: str, memory_app: Celery) -> None:
    sent: list[dict[str, Any]] = []

    def capture(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
        sent.append(dict(headers or {}))

    from celery import signals

    signals.after_task_publish.connect(capture, weak=False)
    try:
        with observe():
            before = _count("celery_tasks_published_total", task="demo.work")
            memory_app.send_task("demo.work", args=["x"])
            memory_app.send_task("typo.no_such_task-" + "q" * 30)
            found = samples(_scrape())
    finally:
        signals.after_task_publish.disconnect(capture)
    assert [headers.get(HEADER) for headers in sent] == [in_request, in_request]
    assert not {"user_id", "ip"} & set(sent[0])
    assert (
        sum(v for (s, labels), v in found.items() if s == "celery_tasks_published_total" and ("name", "demo.work") in labels) == before + 1
    )
    assert sum(v for (s, labels), v in found.items() if s == "celery_tasks_published_total" and ("name", "<unregistered>") in labels) >= 1
    assert not [key for key in found if "typo.no_such_task" in str(key)]


def test_bounded_task_names() -> None:
    registered = {"demo.work"}
    assert [bounded_name(name, registered) for name in ("demo.work", "demo.other", None, 42)] == ["demo.work"] + ["<unregistered>"] * 3


# --- the worker's metrics port -----------------------------------------------------------------


@pytest.fixture
def endpoint() -> Iterator[exporter.Exporter]:
    with observe():
        running = exporter.start("127.0.0.1", 0)
        assert running is not None
        try:
            yield running
        finally:
            exporter.stop_all()


def test_the_worker_port_serves_metrics_with_the_web_token_rules(endpoint: exporter.Exporter) -> None:
    url = f"http://127.0.0.1:{endpoint.port}"
    with observe():
        tasks.work.apply(("port",))
        assert fetch(url + "/metrics", token=None)[0] == 401
        assert fetch(url + "/metrics", token="wrong")[0] == 403
        status, headers, body = fetch(url + "/metrics")
        assert fetch(url + "/admin/")[0] == 404
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert 'celery_tasks_total{name="demo.work",status="SUCCESS"}' in body.decode()


def test_a_taken_port_is_a_warning_not_a_crash(endpoint: exporter.Exporter, caplog: pytest.LogCaptureFixture) -> None:
    with observe():
        assert exporter.start("127.0.0.1", endpoint.port) is None
    assert "could not listen on 127.0.0.1" in caplog.text


def test_the_port_is_off_unless_set() -> None:
    with observe():
        assert exporter.start() is None


def test_bad_celery_settings_are_named() -> None:
    found = {
        problem.key
        for problem in problems(
            {
                "CELERY_EXPORTER_ADDRESS": "my-host",
                "CELERY_TASK_LOG": "verbose",
                "CELERY_EXPORTER_PORT": 70000,
                "CELERY_TASK_DURATION_BUCKETS": [5, 1],
            }
        )
    }
    assert found == {"CELERY_EXPORTER_ADDRESS", "CELERY_TASK_LOG", "CELERY_EXPORTER_PORT", "CELERY_TASK_DURATION_BUCKETS"}


def test_the_task_duration_histogram_has_its_own_buckets() -> None:
    with observe(CELERY_TASK_DURATION_BUCKETS=[0.5, 30]):
        tasks.work.apply(("buckets",))
        text = _scrape()
    buckets = {line.split('le="')[1].split('"')[0] for line in text.splitlines() if line.startswith("celery_task_duration_seconds_bucket{")}
    assert buckets == {"0.5", "30.0", "+Inf"}


# --- multiprocess directory -----------------------------------------------------------------------


def test_restarting_the_web_keeps_the_files_of_a_running_worker(tmp_path: Path) -> None:
    """gunicorn's on_starting wipes the directory: only files of processes that are gone."""
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    try:
        for pid in (alive.pid, gone.pid):
            (tmp_path / f"counter_{pid}.db").write_bytes(b"x")
            (tmp_path / f"gauge_livesum_{pid}.db").write_bytes(b"x")
        assert wipe_multiproc_dir(str(tmp_path)) == 2
        assert sorted(path.name for path in tmp_path.iterdir()) == sorted([f"counter_{alive.pid}.db", f"gauge_livesum_{alive.pid}.db"])
    finally:
        alive.kill()
        alive.wait()
