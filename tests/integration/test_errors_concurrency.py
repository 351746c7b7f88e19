"""8 processes x 250 errors at once, on SQLite and on PostgreSQL: every one is counted."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.errors.support import GROUPS, fresh_database, query
from tests.servers import ROOT

pytestmark = pytest.mark.integration

PROCESSES, PER_PROCESS = 8, 250

# Two processes store inline (ERRORS_SYNC: one transaction per error, the most contention), six
# through the writer thread (batches, as in production). All create both groups at once at start.
WORKER = f"""
import django, json
django.setup()
from django_observe import sentry
from django_observe.errors import intake

def fail(number):
    if number % 2:
        raise KeyError(number)
    raise ValueError(f"order {{number}} failed")

for number in range({PER_PROCESS}):
    try:
        fail(number)
    except Exception as error:
        sentry.capture_exception(error)
intake.flush(120)
stats = intake.buffer.stats
print("STATS=" + json.dumps({{"dropped": stats.dropped_db + stats.dropped_queue_full, "submitted": stats.submitted}}))
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_processes_lose_no_count(backend: str, request: pytest.FixtureRequest) -> None:
    postgres_url = request.getfixturevalue("postgres_url") if backend == "postgresql" else None
    with fresh_database(backend, postgres_url) as env:
        workers = []
        for index in range(PROCESSES):
            observe = {"ERRORS_SYNC": index in (0, 1), "LOG_LEVEL": "CRITICAL"}
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-c", WORKER],
                    env={**env, "OBSERVE_JSON": json.dumps(observe)},
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        outputs = []
        for worker in workers:
            stdout, stderr = worker.communicate(timeout=240)
            assert worker.returncode == 0, stderr[-3000:]
            outputs.append(json.loads(next(line for line in stdout.splitlines() if line.startswith("STATS="))[6:]))
        assert [o["dropped"] for o in outputs] == [0] * PROCESSES
        assert sum(o["submitted"] for o in outputs) == PROCESSES * PER_PROCESS
        groups = query(env, GROUPS)
    assert [(g["exc_type"], g["count"], g["hourly"]) for g in groups] == [("KeyError", 1000, 1000), ("ValueError", 1000, 1000)]
    # Stored events are samples: at most ERRORS_EVENTS_PER_HOUR (10) per group and hour.
    assert all(1 <= g["events"] <= 10 for g in groups)
