"""Issue 12 item 8 (observe_check, observe_test_error): bad arguments are a CommandError with a clear
message and exit status 2, never a traceback; ``observe_check --loop`` exits with the status of its last run.

Fail before the fix: ``--interval inf`` (Event.wait OverflowError, a traceback) and ``nan`` (accepted: a loop
that never waits) were taken, ``--max-runs`` without ``--loop`` was silently ignored, ``--loop`` always
exited 0, and ``observe_test_error --timeout -1`` was accepted.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.hardening import probes
from tests.health.conftest import BUILTINS
from tests.servers import manage, server_env

SCRIPT = "tests.hardening.probes.Script"


@pytest.fixture(autouse=True)
def _fresh_probes() -> Iterator[None]:
    probes.reset()
    yield
    probes.reset()


def _call(command: str, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=io.StringIO())
    except SystemExit as exited:
        return int(exited.code or 0), out.getvalue()
    return 0, out.getvalue()


@pytest.mark.parametrize("interval", ["inf", "-inf", "nan", "0", "-1", "1e400", "86401"])
def test_observe_check_refuses_an_interval_that_cannot_work(observe: Callable[..., None], interval: str) -> None:
    observe({"ok": SCRIPT})
    with pytest.raises(CommandError) as raised:
        call_command("observe_check", "--loop", f"--interval={interval}", "--max-runs", "2", stdout=io.StringIO())
    assert raised.value.returncode == 2
    assert str(raised.value).startswith("--interval must be a number of seconds above 0 and at most 86400; got ")
    assert probes._runs == {}, "nothing ran"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--max-runs", "3"], "--max-runs needs --loop."),
        (["--max-runs", "0"], "--max-runs needs --loop."),
        (["--loop", "--max-runs", "-1"], "--max-runs must be 0 (no limit) or more."),
    ],
)
def test_observe_check_max_runs_needs_loop(observe: Callable[..., None], args: list[str], message: str) -> None:
    observe({"ok": SCRIPT})
    with pytest.raises(CommandError) as raised:
        call_command("observe_check", *args, stdout=io.StringIO())
    assert (str(raised.value), raised.value.returncode) == (message, 2)


@pytest.mark.parametrize("steps, exit_status", [("pass,fail", 1), ("fail,pass", 0), ("fail,fail", 1), ("pass,pass", 0)])
def test_observe_check_loop_exits_with_its_last_runs_status(observe: Callable[..., None], steps: str, exit_status: int) -> None:
    observe({"search": {"check": SCRIPT, "steps": steps}})
    code, out = _call("observe_check", "--loop", "--interval", "0.01", "--max-runs", "2", "--json")
    statuses = [json.loads(line)["status"] for line in out.splitlines()]
    assert statuses == ["unhealthy" if step == "fail" else "healthy" for step in steps.split(",")]
    assert code == exit_status


@pytest.mark.parametrize("timeout", ["-1", "nan", "inf", "3601"])
def test_observe_test_error_refuses_a_bad_timeout(timeout: str) -> None:
    with pytest.raises(CommandError) as raised:
        call_command("observe_test_error", f"--timeout={timeout}", stdout=io.StringIO(), stderr=io.StringIO())
    assert raised.value.returncode == 2
    assert str(raised.value).startswith("--timeout must be a number of seconds from 0 to 3600; got ")


@pytest.mark.once  # two Django start-ups; nothing here depends on the database backend
def test_real_processes_exit_2_without_a_traceback() -> None:
    config = {"HEALTH_CHECKS": {"search": {"check": SCRIPT, "steps": "pass,fail"}}, "HEALTH_DISABLED_CHECKS": BUILTINS}
    env = server_env({"OBSERVE_JSON": json.dumps(config)})
    # Few processes (each costs a Django start-up); call_command covers every other case above.
    done = manage("observe_check", "--loop", "--interval", "inf", env=env)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.startswith("CommandError: --interval must be a number of seconds above 0"), done.stderr
    assert "Traceback" not in done.stderr
    # The database is not migrated: recording fails. A single run says so (exit 1); a loop says so at
    # every run and goes on, and exits with its last run's status (unhealthy: 1). No traceback anywhere.
    unrecorded = "Could not record the run (OperationalError: no such table: django_observe_healthcheckrun)."
    done = manage("observe_check", "--record", "--json", env=env)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert json.loads(done.stdout)["status"] == "healthy"
    assert done.stderr.startswith("CommandError: " + unrecorded) and "Traceback" not in done.stderr, done.stderr
    done = manage("observe_check", "--loop", "--interval", "0.01", "--max-runs", "2", "--json", "--record", env=env)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert [json.loads(line)["status"] for line in done.stdout.splitlines()] == ["healthy", "unhealthy"]
    assert done.stderr.count(unrecorded) == 2 and "Traceback" not in done.stderr, done.stderr
