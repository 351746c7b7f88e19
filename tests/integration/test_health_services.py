"""Health probes under real servers (gunicorn, uvicorn) against real PostgreSQL, Redis and RabbitMQ, and their faults."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil
import pytest

from tests.servers import ROOT, Server, free_port, running_server, server_env

pytestmark = pytest.mark.integration

TOKEN = "health-test-token"
P = "tests.health.probes."
CHECK_TIMEOUT = 1.0
DEADLINE = 2.0


def get(url: str, token: str | None = None, timeout: float = 15) -> tuple[int, dict, float]:  # type: ignore[type-arg]
    request = urllib.request.Request(url, headers={"X-Health-Token": token} if token else {})
    began = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    return status, json.loads(body or b"{}"), time.monotonic() - began


@contextlib.contextmanager
def hung_server() -> Iterator[int]:
    """A TCP server that accepts connections and never answers (a Redis that hangs)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        listener.close()


def worker_pid(server: Server) -> int:
    """The process answering requests: gunicorn's single worker, or uvicorn itself."""
    children = psutil.Process(server.process.pid).children()
    return children[0].pid if children else server.process.pid


# --- all dependencies up ---------------------------------------------------------------


@pytest.fixture
def pg_database(postgres_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database of our own (dropped afterwards), as a DATABASE_URL."""
    import psycopg

    name = f"observe_health_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(postgres_url)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def celery_worker(broker_url: str) -> Iterator[str]:
    """A solo-pool worker of the testproject on its own queue; stopped by PID. Yields the queue."""
    from celery import Celery

    queue = f"observe-health-{uuid.uuid4().hex[:8]}"
    node = f"{queue}@localhost"
    env = server_env({"CELERY_BROKER_URL": broker_url, "CELERY_TASK_DEFAULT_QUEUE": queue})
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "testproject",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "-n",
            node,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    app = Celery(broker=broker_url, set_as_current=False)
    try:
        deadline = time.monotonic() + 30
        while not app.control.ping(destination=[node], timeout=0.5):
            assert process.poll() is None, "worker exited"
            assert time.monotonic() < deadline, "worker did not start in 30 s"
        yield queue
    finally:
        # The worker takes ~11 s to exit after SIGTERM (something waits at interpreter exit) and
        # has nothing to finish here: give it 2 s, then kill it, and delete its queue.
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        with app.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)


def test_every_check_passes_against_real_postgresql_redis_and_rabbitmq(
    pg_database: str, redis_url: str, broker_url: str, celery_worker: str
) -> None:
    env = {
        "DATABASE_URL": pg_database,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_DEFAULT_QUEUE": celery_worker,
        "OBSERVE_JSON": json.dumps({"HEALTH_TOKENS": [TOKEN]}),
    }
    with running_server("gunicorn", env=env) as server:
        status, body, _ = get(server.url + "/health/detailed", TOKEN)
        assert {name: check["status"] for name, check in body["checks"].items()} == {
            name: "pass"
            for name in ["database", "migrations", "cache", "redis", "celery_broker", "celery_workers", "storage", "disk", "memory"]
        }, body
        assert (status, body["status"]) == (200, "healthy")
        assert body["checks"]["celery_workers"]["observed_value"] >= 1
        ready_status, ready = get(server.url + "/health/ready")[:2]
        assert (ready_status, ready["status"], ready["ready"], ready["checks"]) == (
            200,
            "pass",
            True,
            {"database": "pass", "migrations": "pass", "cache": "pass", "redis": "pass", "celery_broker": "pass"},
        )
        assert get(server.url + "/health")[1]["status"] == "healthy"


def test_workers_check_names_a_queue_no_worker_consumes(broker_url: str, celery_worker: str) -> None:
    from django.test import override_settings
    from health_check.exceptions import ServiceUnavailable

    from django_observe.health.celery import CeleryWorkers

    with override_settings(CELERY_BROKER_URL=broker_url, CELERY_TASK_DEFAULT_QUEUE=celery_worker):
        assert CeleryWorkers().run() >= 1
    with override_settings(CELERY_BROKER_URL=broker_url, CELERY_TASK_DEFAULT_QUEUE="nobody-consumes-this"):
        with pytest.raises(ServiceUnavailable) as raised:
            CeleryWorkers().run()
    assert raised.value.message == "No worker consumes the Celery queue 'nobody-consumes-this'"


# --- faults: closed Redis port, hung Redis, unreachable RabbitMQ -----------------------


@pytest.mark.parametrize("kind", ["gunicorn", "uvicorn"])
def test_ready_answers_503_within_the_deadline_when_dependencies_fail_or_hang(kind: str) -> None:
    with hung_server() as hung_port:
        closed_port = free_port()
        env = {
            # The cache at a closed port, REDIS_URL at a Redis that never answers, the broker unreachable.
            "REDIS_URL": f"redis://127.0.0.1:{closed_port}/0",
            "CELERY_BROKER_URL": f"amqp://guest:guest@127.0.0.1:{free_port()}//",
            "OBSERVE_JSON": json.dumps(
                {
                    "HEALTH_TOKENS": [TOKEN],
                    "HEALTH_CHECK_TIMEOUT": CHECK_TIMEOUT,
                    "HEALTH_DEADLINE": DEADLINE,
                    # And a check that sleeps forever (no client timeout can free its thread).
                    "HEALTH_CHECKS": {"redis": {"url": f"redis://127.0.0.1:{hung_port}/0"}, "stuck": P + "Sleep"},
                    "HEALTH_DISABLED_CHECKS": ["celery_workers", "migrations", "storage"],
                }
            ),
        }
        # No migrate: an empty SQLite file answers SELECT 1, and the migrations check is off.
        with running_server(kind, env=env, migrate=False) as server:
            status, body, elapsed = get(server.url + "/health/ready")
            assert status == 503 and body["status"] == "fail", body
            assert body["checks"]["cache"] == "fail" and body["checks"]["celery_broker"] == "fail"
            assert body["checks"]["redis"] == "timeout" and body["checks"]["stuck"] == "timeout"
            assert elapsed <= DEADLINE + 0.5

            # Meanwhile liveness stays 200 and fast, even while a readiness probe is waiting.
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                pending = pool.submit(get, server.url + "/health/ready")
                live_status, live_body, live_elapsed = get(server.url + "/health/live")
                assert (live_status, live_body["status"], live_body["alive"]) == (200, "alive", True)
                assert live_elapsed < (0.3 if kind == "uvicorn" else DEADLINE + 0.5)
                assert pending.result()[0] == 503

            process = psutil.Process(worker_pid(server))
            checks = len(get(server.url + "/health/detailed", TOKEN)[1]["checks"])
            pool_before = get(server.url + "/health/detailed", TOKEN)[1]["system"]["health_threads"]
            os_before = process.num_threads()
            timings = []
            for _ in range(50):
                status, _body, elapsed = get(server.url + "/health/ready")
                assert status == 503
                timings.append(elapsed)
            pool_after = get(server.url + "/health/detailed", TOKEN)[1]["system"]["health_threads"]
            # Our pool starts threads on demand, at most one per check in flight: never one per probe.
            assert pool_before <= pool_after <= checks, (pool_before, pool_after, checks)
            # The whole process: Django's ASGI handler starts and ends a thread per request
            # (asgiref's per-request executor), so the count wobbles; a leak would add ~50.
            assert process.num_threads() <= os_before + checks, (os_before, process.num_threads())
            assert max(timings) <= DEADLINE + 0.5, sorted(timings)[-5:]

            detailed = get(server.url + "/health/detailed", TOKEN)[1]["checks"]
            assert detailed["redis"]["status"] == "timeout"
            assert detailed["cache"]["error_class"] == "ConnectionError"
            public = json.dumps([get(server.url + path)[1] for path in ("/health", "/health/ready", "/health/live")])
            for secret in (str(closed_port), str(hung_port), "127.0.0.1", socket.gethostname(), "Error"):
                assert secret not in public


@pytest.mark.parametrize("kind, extra_args", [("uvicorn", ()), ("gunicorn", ("--worker-class", "gthread", "--threads", "32"))])
def test_hundred_concurrent_ready_probes_run_each_check_once(kind: str, extra_args: tuple[str, ...], tmp_path: Path) -> None:
    count_file = tmp_path / "runs.txt"
    env = {
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
        "OBSERVE_JSON": json.dumps(
            {
                "HEALTH_CACHE_SECONDS": 60,
                "HEALTH_DEADLINE": 10.0,  # generous: 100 clients and the server share two busy cores
                "HEALTH_CHECKS": {"counted": {"check": P + "Counting", "path": str(count_file), "delay": 0.5, "timeout": 10.0}},
                "HEALTH_DISABLED_CHECKS": ["migrations"],
            }
        ),
    }
    with running_server(kind, env=env, extra_args=extra_args, migrate=False) as server:
        barrier = threading.Barrier(100)

        def probe() -> int:
            barrier.wait(timeout=20)
            return get(server.url + "/health/ready", timeout=30)[0]

        with concurrent.futures.ThreadPoolExecutor(100) as pool:
            statuses = list(pool.map(lambda _: probe(), range(100)))
        assert statuses == [200] * 100, statuses
        assert count_file.read_text().splitlines() == [str(worker_pid(server))], "one run for 100 probes"
