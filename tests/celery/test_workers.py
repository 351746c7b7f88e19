"""Real prefork workers (concurrency 2) on RabbitMQ and on Redis, sharing the web's PROMETHEUS_MULTIPROC_DIR.

Each broker gets a stack: gunicorn serving the testproject (with django_observe.gunicorn's hooks)
and a worker with the same multiprocess directory, database and metrics token, whose own
metrics port (CELERY_EXPORTER_PORT) is on too. Tasks are enqueued by requests to the web.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import signal
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_binary
from tests.metrics.helpers import TOKEN, fetch, scrape_url
from tests.servers import ROOT, Server, free_port, prepare_database, running_server, server_env

from .workers import Worker, events, new_queue, running_worker

pytestmark = [pytest.mark.integration, pytest.mark.once]  # brokers and workers: no database backend in the question

OK, FAILING = 20, 5
HEADER = "observe_request_id"


@dataclass
class Stack:
    broker: str
    web: Server
    worker: Worker
    directory: Path
    exporter_port: int

    @property
    def exporter_url(self) -> str:
        return f"http://127.0.0.1:{self.exporter_port}"

    def enqueue(self, query: str, request_id: str | None = None) -> tuple[str, str]:
        """GET /enqueue/?query on the web: (task id, the response's request id)."""
        headers = {"X-Request-ID": request_id} if request_id else {}
        with urllib.request.urlopen(urllib.request.Request(f"{self.web.url}/enqueue/?{query}", headers=headers), timeout=10) as response:
            return json.load(response)["task_id"], response.headers["X-Request-ID"]


@contextlib.contextmanager
def running_stack(broker: str, broker_url: str, tmp_path: Path) -> Iterator[Stack]:
    directory = tmp_path / "prom"
    directory.mkdir()
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text("from django_observe.gunicorn import *  # on_starting, child_exit\n")
    exporter_port = free_port()
    observe = {
        "CELERY_EXPORTER_PORT": exporter_port,
        "HEALTH_CHECKS": {"celery_workers": {"critical": True}},
        "HEALTH_CHECK_TIMEOUT": 8.0,
        "HEALTH_DEADLINE": 10.0,
        "HEALTH_CACHE_SECONDS": 0,
        "CELERY_PING_TIMEOUT": 3.0,
    }
    queue = new_queue()
    env = {
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "METRICS_TOKEN": TOKEN,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "OBSERVE_JSON": json.dumps(observe),
    }
    with contextlib.ExitStack() as stack:
        # The web first: its on_starting hook empties the directory, then the worker writes into it.
        web = stack.enter_context(running_server("gunicorn", env=env, extra_args=("-c", str(conf))))
        worker = stack.enter_context(running_worker(broker_url, tmp_path, env={**env, "SQLITE_PATH": web.env["SQLITE_PATH"]}, queue=queue))
        yield Stack(broker, web, worker, directory, exporter_port)


@pytest.fixture(scope="module")
def stacks(broker_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Stack]]:
    prepare_database(server_env())  # the migrated SQLite template, once, before two threads want it
    with contextlib.ExitStack() as exit_stack:
        # One after the other: Celery's control client (the readiness ping) is not safe to use from two threads.
        yield {
            name: exit_stack.enter_context(running_stack(name, url, tmp_path_factory.mktemp(name)))
            for name, url in (("rabbitmq", broker_url), ("redis", redis_url))
        }


def _sum(found: dict[Any, float], metric: str, **labels: str) -> float:
    """Sum of ``metric`` over the series with these labels (``task`` stands for the ``name`` label)."""
    wanted = {("name" if key == "task" else key, label) for key, label in labels.items()}
    return sum(number for (sample, series), number in found.items() if sample == metric and wanted <= set(series))


def _ended(found: dict[Any, float], task: str = "demo.work") -> float:
    return _sum(found, "celery_tasks_total", task=task)


def _wait_for_scrape(url: str, predicate: Any, what: str, timeout: float = 30) -> dict[Any, float]:
    deadline = time.monotonic() + timeout
    while True:
        found = scrape_url(url)
        if predicate(found):
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {sorted((k, v) for k, v in found.items() if 'celery' in k[0])}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def enqueued(stacks: dict[str, Stack]) -> dict[str, Stack]:
    """20 successful and 5 failing demo.work tasks per stack, enqueued by requests, all finished."""

    def drive(stack: Stack) -> None:
        for number in range(OK + FAILING):
            stack.enqueue(f"task=work&label=n{number}" + ("&fail=1" if number >= OK else ""))

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(drive, stacks.values()))
    for stack in stacks.values():
        _wait_for_scrape(stack.web.url, lambda found: _ended(found) >= OK + FAILING, f"{OK + FAILING} demo.work tasks on {stack.broker}")
    return stacks


def test_prometheus_reads_the_task_counts_through_the_web_and_the_worker_port(enqueued: dict[str, Stack]) -> None:
    require_binary("prometheus")
    sys.path.insert(0, str(ROOT / "scripts"))
    from prom_run import running_prometheus

    for stack in enqueued.values():
        assert fetch(stack.exporter_url + "/metrics", token=None)[0] == 401
        assert fetch(stack.exporter_url + "/metrics", token="wrong")[0] == 403
    targets = {f"127.0.0.1:{stack.web.url.rsplit(':', 1)[1]}": (stack.broker, "web") for stack in enqueued.values()}
    targets.update({f"127.0.0.1:{stack.exporter_port}": (stack.broker, "worker port") for stack in enqueued.values()})
    with running_prometheus(list(targets), bearer_token=TOKEN) as prom:

        def by_instance(expr: str) -> dict[tuple[str, str], float]:
            return {targets[row["metric"]["instance"]]: float(row["value"][1]) for row in prom.query(expr)}

        expected = {where: 1.0 for where in targets.values()}
        assert by_instance('celery_tasks_total{name="demo.work",status="SUCCESS"}') == {k: v * OK for k, v in expected.items()}
        assert by_instance('celery_tasks_total{name="demo.work",status="FAILURE"}') == {k: v * FAILING for k, v in expected.items()}
        assert by_instance('celery_task_duration_seconds_count{name="demo.work"}') == {k: v * (OK + FAILING) for k, v in expected.items()}
        assert by_instance('sum by (instance) (celery_tasks_in_progress{name="demo.work"})') == {k: 0.0 for k in expected}
        # Published by the web's requests, read from the same directory.
        assert by_instance('celery_tasks_published_total{name="demo.work"}') == {k: v * (OK + FAILING) for k, v in expected.items()}


def test_failures_log_an_error_with_a_scrubbed_traceback_and_the_request_id(enqueued: dict[str, Stack]) -> None:
    worker = enqueued["rabbitmq"].worker
    failed = worker.wait_for(
        lambda lines: len(events(lines, "task_failed")) >= FAILING and events(lines, "task_failed"), "task_failed lines"
    )
    for line in failed:
        assert (line["level"], line["task_name"], line["state"], line["retries"]) == ("error", "demo.work", "FAILURE", 0)
        assert "ValueError: demo task failure" in line["exception"] and "password=[Filtered]" in line["exception"]
        assert len(line["request_id"]) == 32 and isinstance(line["duration_ms"], float)
    assert "hunter2" not in worker.log_file.read_text()
    succeeded = events(worker.lines(), "task_succeeded", task_name="demo.work")
    assert len(succeeded) == OK and all(line["level"] == "info" and "request_id" in line for line in succeeded)
    assert len(events(worker.lines(), "task_started", task_name="demo.work")) == OK + FAILING


def test_a_task_published_by_a_task_keeps_the_request_id_and_names_its_parent(stacks: dict[str, Stack]) -> None:
    stack = stacks["rabbitmq"]
    parent_id, _ = stack.enqueue("task=publish_child&label=chain", request_id="chain-req-1")
    [ran] = stack.worker.wait_for(lambda lines: events(lines, "task ran chain-child"), "the child task's line")
    assert ran["request_id"] == "chain-req-1"
    [started] = events(stack.worker.lines(), "task_started", task_id=ran["task_id"])
    assert (started["parent_task_id"], started["request_id"], started["task_name"]) == (parent_id, "chain-req-1", "demo.record_context")
    [parent] = events(stack.worker.lines(), "task_succeeded", task_id=parent_id)
    assert parent["request_id"] == "chain-req-1" and "parent_task_id" not in parent


def test_the_second_task_of_a_chain_keeps_the_request_id(stacks: dict[str, Stack]) -> None:
    stack = stacks["rabbitmq"]
    with urllib.request.urlopen(
        urllib.request.Request(f"{stack.web.url}/enqueue/?task=chain&label=chained", headers={"X-Request-ID": "chain-req-2"}), timeout=10
    ) as response:
        ids = json.load(response)
    [ran] = stack.worker.wait_for(lambda lines: events(lines, "task ran chained-tail"), "the chain's second task")
    assert (ran["request_id"], ran["task_id"]) == ("chain-req-2", ids["task_id"])
    [started] = events(stack.worker.lines(), "task_started", task_id=ids["task_id"])
    assert (started["parent_task_id"], started["request_id"]) == (ids["first_task_id"], "chain-req-2")


def test_the_next_task_of_the_same_process_has_no_stale_request_id(stacks: dict[str, Stack]) -> None:
    worker = stacks["rabbitmq"].worker
    for attempt in range(10):
        stacks["rabbitmq"].enqueue(f"label=inside-{attempt}", request_id=f"stale-check-{attempt}")
        [inside] = worker.wait_for(lambda lines, n=attempt: events(lines, f"task ran inside-{n}"), "the request's task")
        worker.send("demo.record_context", f"outside-{attempt}")
        [outside] = worker.wait_for(lambda lines, n=attempt: events(lines, f"task ran outside-{n}"), "the task published outside a request")
        assert "request_id" not in outside, outside
        if outside["pid"] == inside["pid"]:
            break
    else:
        pytest.fail("10 tries and the outside task never ran in the process of the request's task")
    [finished] = events(worker.lines(), "task_succeeded", task_id=outside["task_id"])
    assert "request_id" not in finished


def test_a_forged_request_id_is_replaced_and_never_logged(stacks: dict[str, Stack]) -> None:
    stack = stacks["rabbitmq"]
    forged = 'evil\r\n{"level": "critical"}' + "x" * 500
    task_id = stack.worker.send("demo.record_context", "forged", headers={HEADER: forged})
    [ran] = stack.worker.wait_for(lambda lines: events(lines, "task ran forged"), "the forged task's line")
    assert ran["task_id"] == task_id and len(ran["request_id"]) == 32 and ran["request_id"] != forged
    [warning] = events(stack.worker.lines(), "task_request_id_rejected", task_id=task_id)
    assert warning["level"] == "warning" and warning["request_id"] == ran["request_id"]
    # Through HTTP: the web replaces a 500-character X-Request-ID, and the task carries the replacement.
    _, replaced = stack.enqueue("label=long-header", request_id="y" * 500)
    [ran] = stack.worker.wait_for(lambda lines: events(lines, "task ran long-header"), "the long-header task's line")
    assert ran["request_id"] == replaced and len(replaced) == 32
    text = stack.worker.log_file.read_text()
    assert "evil" not in text and "x" * 100 not in text and "y" * 100 not in text


def test_a_retry_logs_a_warning_and_counts(stacks: dict[str, Stack]) -> None:
    stack = stacks["redis"]
    stack.worker.send("demo.retry_once", "flaky")
    done = stack.worker.wait_for(lambda lines: events(lines, "task_succeeded", task_name="demo.retry_once"), "the retried task's success")
    [retrying] = events(stack.worker.lines(), "task_retrying", task_name="demo.retry_once")
    assert (retrying["level"], retrying["state"], retrying["retries"]) == ("warning", "RETRY", 0)
    assert "not ready yet" in retrying["reason"] and "abc123" not in retrying["reason"]
    assert done[0]["retries"] == 1
    found = _wait_for_scrape(stack.web.url, lambda f: _ended(f, "demo.retry_once") >= 2, "the retry counts")
    assert _sum(found, "celery_task_retries_total", task="demo.retry_once") == 1
    assert _sum(found, "celery_tasks_total", task="demo.retry_once", status="RETRY") == 1
    assert _sum(found, "celery_tasks_total", task="demo.retry_once", status="SUCCESS") == 1


def test_an_unregistered_task_counts_under_one_name(stacks: dict[str, Stack]) -> None:
    stack = stacks["redis"]
    stack.worker.send("no.such.task-" + "z" * 40)
    found = _wait_for_scrape(stack.web.url, lambda f: _ended(f, "<unregistered>") >= 1, "the rejected message")
    assert _sum(found, "celery_tasks_total", task="<unregistered>", status="REJECTED") == 1
    assert not [key for key in found if "no.such.task" in str(key)]


def test_a_killed_prefork_child_loses_no_counts(enqueued: dict[str, Stack]) -> None:
    stack = enqueued["redis"]
    before = scrape_url(stack.web.url)
    victim = stack.worker.children()[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while victim in stack.worker.children() or len(stack.worker.children()) < 2:
        assert time.monotonic() < deadline, "the pool did not replace the killed child"
        time.sleep(0.1)
    after = scrape_url(stack.web.url)
    for status, expected in (("SUCCESS", OK), ("FAILURE", FAILING)):
        assert (
            _sum(after, "celery_tasks_total", task="demo.work", status=status)
            == _sum(before, "celery_tasks_total", task="demo.work", status=status)
            == expected
        )
    assert _sum(after, "celery_tasks_in_progress") == 0
    assert not list(stack.directory.glob(f"gauge_live*_{victim}.db"))  # its live files are gone, its counters stay
    stack.enqueue("task=work&label=after-kill")
    found = _wait_for_scrape(
        stack.web.url, lambda f: _sum(f, "celery_tasks_total", task="demo.work", status="SUCCESS") == OK + 1, "one more task"
    )
    assert _sum(found, "celery_task_duration_seconds_count", task="demo.work") == OK + FAILING + 1


def test_ready_passes_at_once_with_a_worker_and_fails_within_the_deadline_without(stacks: dict[str, Stack]) -> None:
    """Runs last: it stops the RabbitMQ stack's worker."""
    stack = stacks["rabbitmq"]
    status, body = _ready(stack.web.url)
    assert (status, body["checks"]["celery_workers"]) == (200, "pass"), body
    # Known workers are pinged by name: the check does not sit out CELERY_PING_TIMEOUT (3 s) waiting for others.
    began = time.monotonic()
    status, body = _ready(stack.web.url)
    assert (status, body["checks"]["celery_workers"]) == (200, "pass") and time.monotonic() - began < 2.0
    os.killpg(stack.worker.process.pid, signal.SIGKILL)
    stack.worker.process.wait()
    began = time.monotonic()
    status, body = _ready(stack.web.url)
    assert (status, body["checks"]["celery_workers"]) == (503, "fail"), body
    assert time.monotonic() - began < 8.0  # HEALTH_CHECK_TIMEOUT: a failure, not a timeout


def _ready(url: str) -> tuple[int, dict[str, Any]]:
    status, _, body = fetch(url + "/health/ready", token=None, timeout=30)
    return status, json.loads(body)
