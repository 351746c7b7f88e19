"""Real Celery workers of the testproject for tests: start, wait until they answer a ping, read their JSON log, stop by PID."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from tests.servers import ROOT, server_env, stop


@dataclass
class Worker:
    broker_url: str
    queue: str
    node: str
    process: subprocess.Popen[bytes]
    log_file: Path
    output: Path
    app: Any
    connection: Any
    env: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[dict[str, Any]]:
        """Every JSON line the worker wrote so far."""
        if not self.log_file.exists():
            return []
        found = []
        for raw in self.log_file.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                found.append(json.loads(raw))
        return found

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], Any], what: str, timeout: float = 30) -> Any:
        """Poll the log until ``predicate(lines)`` is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.lines()
            result = predicate(lines)
            if result:
                return result
            if time.monotonic() > deadline:
                tail = "\n".join(json.dumps(line)[:300] for line in lines[-30:])
                raise AssertionError(
                    f"timed out waiting for {what}; last worker lines:\n{tail}\n{self.output.read_text(errors='replace')[-2000:]}"
                )
            time.sleep(0.1)

    def children(self) -> list[int]:
        """Pids of the prefork pool's child processes."""
        return sorted(child.pid for child in psutil.Process(self.process.pid).children())

    def send(self, name: str, *args: Any, headers: dict[str, Any] | None = None, **kwargs: Any) -> str:
        """Publish task ``name`` to this worker's queue from the test process (outside any request)."""
        return self.app.send_task(name, args=args, kwargs=kwargs, queue=self.queue, headers=headers, connection=self.connection).id


@contextlib.contextmanager
def running_worker(
    broker_url: str,
    tmp_path: Path,
    env: dict[str, str] | None = None,
    pool: str = "prefork",
    concurrency: int = 2,
    queue: str | None = None,
) -> Iterator[Worker]:
    """A worker of the testproject on its own queue, logging JSON to a file; stopped (with its children) by PID."""
    import kombu
    from celery import Celery

    queue = queue or new_queue()
    node = f"{queue}@localhost"
    log_file = tmp_path / f"{queue}.jsonl"
    output = tmp_path / f"{queue}.out"
    full_env = server_env({"CELERY_BROKER_URL": broker_url, "CELERY_TASK_DEFAULT_QUEUE": queue, "LOG_FILE": str(log_file), **(env or {})})
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "testproject",
        "worker",
        f"--pool={pool}",
        "-c",
        str(concurrency),
        "-Q",
        queue,
        "-n",
        node,
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
    ]
    with open(output, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    app = Celery(broker=broker_url, set_as_current=False)
    # Celery prefers the CELERY_BROKER_URL env var (the test run's RabbitMQ) to broker_url, not to these two.
    app.conf.broker_read_url = app.conf.broker_write_url = broker_url
    connection = kombu.Connection(broker_url)
    try:
        deadline = time.monotonic() + 40
        while not app.control.ping(destination=[node], timeout=0.5, connection=connection):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{output.read_text(errors='replace')[-3000:]}")
        yield Worker(broker_url, queue, node, process, log_file, output, app, connection, full_env)
    finally:
        # Warm shutdown of an idle worker still takes seconds (interpreter exit); it has nothing to finish here.
        stop(process, timeout=3)
        with contextlib.suppress(Exception):
            connection.default_channel.queue_delete(queue)
        connection.release()
        app.close()


def new_queue() -> str:
    """A queue name of our own: no clash with other workers on the same broker."""
    return f"observe-celery-{uuid.uuid4().hex[:8]}"


def events(lines: list[dict[str, Any]], event: str, **fields: Any) -> list[dict[str, Any]]:
    """The lines named ``event`` whose fields include ``fields``."""
    return [line for line in lines if line.get("event") == event and all(line.get(key) == value for key, value in fields.items())]
