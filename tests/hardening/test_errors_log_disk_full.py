"""A log file whose disk cannot be written: requests are unaffected, the loss is counted and logged once (issue 12, item 5).

``LOG_FILE=/dev/full``: every write fails with ENOSPC, exactly as on a full disk. Before, the
lost lines were counted (``observe_internal_errors_total{component="log_write"}``) but the
one line saying so went to the same failing file: nobody could read it. Now it also goes to
stderr, once per process.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import missing
from tests.metrics.helpers import TOKEN, fetch, samples, value
from tests.servers import running_server

pytestmark = [pytest.mark.integration, pytest.mark.once]

FULL_DISK = "/dev/full"


def test_a_full_disk_under_log_file_loses_lines_counted_and_says_so_once() -> None:
    if not os.path.exists(FULL_DISK):
        missing(f"{FULL_DISK} does not exist on this system", "Linux (CI) has it")
    env = {"OBSERVE_JSON": json.dumps({"LOG_FILE": FULL_DISK}), "METRICS_TOKEN": TOKEN}
    with running_server("gunicorn", workers=1, env=env) as server:
        assert [fetch(f"{server.url}/fast/", token=None)[0] for _ in range(50)] == [200] * 50
        assert [fetch(f"{server.url}/boom/", token=None)[0] for _ in range(3)] == [500] * 3
        found = samples(fetch(server.url + "/metrics")[2].decode())
        log = server.log()
    # At least the 53 access lines were lost, and every lost line was counted.
    assert value(found, "observe_internal_errors_total", component="log_write") >= 53
    told = [json.loads(line) for line in log.splitlines() if line.startswith("{") and "log_write" in line]
    assert len(told) == 1, log[-3000:]
    assert told[0]["level"] == "error" and "LOG_FILE" in told[0]["event"]
    assert "request_finished" not in log  # the lines themselves went to the (failing) file, not to stderr
