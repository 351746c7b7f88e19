"""A real Celery worker (RabbitMQ broker) logs a task's lines with the request id it was published under."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.test import Client

from tests.servers import ROOT, server_env

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture(scope="module")
def worker(broker_url: str, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A solo-pool worker on its own queue, logging JSON to a file; stopped by PID (one for the module)."""
    tmp_path = tmp_path_factory.mktemp("worker")
    from testproject import celery_app

    queue = f"observe-test-{uuid.uuid4().hex[:8]}"
    node = f"{queue}@localhost"
    log_file = tmp_path / "worker.jsonl"
    env = server_env({"CELERY_BROKER_URL": broker_url, "CELERY_TASK_DEFAULT_QUEUE": queue, "LOG_FILE": str(log_file)})
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "testproject", "worker", "--pool=solo", "-Q", queue, "-n", node, "--without-heartbeat",
         "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    old_queue, old_broker = celery_app.conf.task_default_queue, celery_app.conf.broker_url
    celery_app.conf.task_default_queue = queue
    celery_app.conf.broker_url = broker_url
    try:
        deadline = time.monotonic() + 30
        while not celery_app.control.ping(destination=[node], timeout=0.5):
            assert process.poll() is None, "worker exited"
            assert time.monotonic() < deadline, "worker did not start in 30 s"
        yield log_file
    finally:
        celery_app.conf.task_default_queue, celery_app.conf.broker_url = old_queue, old_broker
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # idle solo workers can take ~10 s to leave: not what we test
            process.kill()
            process.wait()


def _task_lines(log_file: Path, label: str, timeout: float = 20) -> list[dict]:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log_file.exists():
            lines = [json.loads(raw) for raw in log_file.read_text().splitlines() if raw.strip()]
            found = [line for line in lines if line.get("event") == f"task ran {label}"]
            if found:
                return found
        time.sleep(0.2)
    raise AssertionError(f"no 'task ran {label}' line in the worker log:\n{log_file.read_text() if log_file.exists() else ''}")


def test_task_published_in_a_request_logs_with_its_request_id(worker: Path) -> None:
    response = Client().get("/enqueue/?label=linked", HTTP_X_REQUEST_ID="celery-req-1")
    task_id = response.json()["task_id"]
    [line] = _task_lines(worker, "linked")
    assert (line["request_id"], line["task_id"], line["task_name"]) == ("celery-req-1", task_id, "demo.record_context")
    assert line["service"] == "observe-demo"


def test_forged_request_id_header_is_dropped_by_the_worker(worker: Path) -> None:
    from testproject.demo.tasks import record_context

    record_context.apply_async(("forged",), headers={"observe_request_id": "bad\nid level=critical"})
    [line] = _task_lines(worker, "forged")
    assert "request_id" not in line
    assert "bad" not in json.dumps(line)


def test_task_published_outside_a_request_has_no_request_id(worker: Path) -> None:
    from testproject.demo.tasks import record_context

    record_context.delay("outside")
    [line] = _task_lines(worker, "outside")
    assert "request_id" not in line and line["task_name"] == "demo.record_context"
