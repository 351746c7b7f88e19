"""Health checks for the hardening tests (importable by subprocesses: tests/ is on PYTHONPATH)."""

from __future__ import annotations

import dataclasses
import threading

from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable

_runs: dict[str, int] = {}
_lock = threading.Lock()


@dataclasses.dataclass
class Script(HealthCheck):
    """Follows ``steps`` ("pass,fail"), one step per run, repeating; runs are counted per ``label`` in this process."""

    steps: str = "pass"
    label: str = "script"

    def run(self) -> None:
        with _lock:
            index = _runs.get(self.label, 0)
            _runs[self.label] = index + 1
        steps = self.steps.split(",")
        if steps[index % len(steps)] == "fail":
            raise ServiceUnavailable(f"step {index + 1} fails")


def reset() -> None:
    _runs.clear()


@dataclasses.dataclass
class SilentSocket(HealthCheck):
    """Reads from ``port`` with a plain socket timeout and lets ``TimeoutError`` escape (a hand-written check)."""

    port: int = 0
    read_timeout: float = 0.3

    def run(self) -> None:
        import socket

        with socket.create_connection(("127.0.0.1", self.port), timeout=self.read_timeout) as sock:
            sock.recv(1)
