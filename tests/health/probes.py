"""Health checks used by the tests (importable by subprocess servers: tests/ is on PYTHONPATH)."""

from __future__ import annotations

import dataclasses
import os
import threading
import time

from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable, ServiceWarning

#: In-process run counters of Counting, by label.
COUNTS: dict[str, int] = {}
_lock = threading.Lock()


@dataclasses.dataclass
class Sleep(HealthCheck):
    """Sleeps ``seconds`` (default: an hour, i.e. "forever" for a test), then passes."""

    seconds: float = 3600.0

    def run(self) -> None:
        time.sleep(self.seconds)


@dataclasses.dataclass
class Counting(HealthCheck):
    """Counts its runs in COUNTS[label] and, when ``path`` is set, appends a line to that file."""

    label: str = "counting"
    path: str = dataclasses.field(default="", repr=False)
    delay: float = 0.05

    def run(self) -> int:
        time.sleep(self.delay)
        with _lock:
            COUNTS[self.label] = COUNTS.get(self.label, 0) + 1
            if self.path:
                with open(self.path, "a") as handle:
                    handle.write(f"{os.getpid()}\n")
            return COUNTS[self.label]


@dataclasses.dataclass
class Warns(HealthCheck):
    def run(self) -> None:
        raise ServiceWarning("queue is long")


@dataclasses.dataclass
class Fails(HealthCheck):
    def run(self) -> None:
        raise ServiceUnavailable("search is down")


@dataclasses.dataclass
class Leaky(HealthCheck):
    """Raises an unexpected exception whose text carries a path, a host and a password."""

    def run(self) -> None:
        raise RuntimeError("cannot open /srv/secret/app.conf on db-internal.example.com with password=hunter2")


@dataclasses.dataclass
class Toggle(HealthCheck):
    """Fails while the file ``path`` exists (a simulated outage switched from the test)."""

    path: str = ""

    def run(self) -> None:
        if self.path and os.path.exists(self.path):
            raise ServiceUnavailable("toggled off")


class NotACheck:
    pass
