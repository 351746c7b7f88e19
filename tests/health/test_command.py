"""``manage.py observe_check``: table, --json, exit codes, --record, --loop (as a real subprocess too)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from django_observe.models import HealthCheckRun
from tests.servers import manage, server_env

P = "tests.health.probes."


def _call(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("observe_check", *args, stdout=out)
    except SystemExit as exited:
        return int(exited.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_table_lists_every_check(observe: Callable[..., None]) -> None:
    observe({"ok": P + "Counting", "queue": {"check": P + "Warns", "critical": False}})
    code, out = _call()
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["CHECK", "STATUS", "CRIT", "MS", "DETAIL"]
    assert lines[1].split()[:3] == ["ok", "pass", "yes"]
    assert lines[2].split()[:3] == ["queue", "warn", "no"] and lines[2].endswith("queue is long")
    assert lines[-1] == "overall: degraded"


def test_json_parses_and_unhealthy_exits_1(observe: Callable[..., None]) -> None:
    observe({"ok": P + "Counting", "search": P + "Fails"}, VERSION="9.9")
    code, out = _call("--json")
    assert code == 1
    body = json.loads(out)
    assert (body["status"], body["version"]) == ("unhealthy", "9.9")
    assert body["checks"]["search"]["status"] == "fail" and body["checks"]["search"]["output"] == "search is down"
    assert body["checks"]["ok"]["status"] == "pass"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--interval", "5"], "--interval needs --loop."),
        (["--loop", "--interval", "0"], "--interval must be a number of seconds above 0 and at most 86400; got 0.0."),
        (["--check", "nope"], "Unknown check 'nope'; configured checks: ok."),
    ],
)
def test_usage_errors_exit_2(observe: Callable[..., None], args: list[str], message: str) -> None:
    observe({"ok": P + "Counting"})
    with pytest.raises(CommandError) as raised:
        call_command("observe_check", *args, stdout=io.StringIO())
    assert (str(raised.value), raised.value.returncode) == (message, 2)


@pytest.mark.django_db
def test_record_and_bounded_loop_write_history(observe: Callable[..., None]) -> None:
    observe({"ok": P + "Counting"})
    assert _call("--record")[0] == 0
    code, out = _call("--loop", "--interval", "0.05", "--max-runs", "3", "--record", "--json")
    assert code == 0
    assert [json.loads(line)["status"] for line in out.splitlines()] == ["healthy"] * 3
    assert list(HealthCheckRun.objects.order_by("started_at").values_list("trigger", flat=True)) == ["command", "loop", "loop", "loop"]


@pytest.mark.integration
def test_exit_codes_from_a_real_process() -> None:
    env = server_env({"OBSERVE_JSON": json.dumps({"HEALTH_CHECKS": {"search": P + "Fails"}, "HEALTH_DISABLED_CHECKS": ["celery_workers"]})})
    assert manage("migrate", "-v0", env=env).returncode == 0
    failing = manage("observe_check", "--json", "--record", env=env)
    assert failing.returncode == 1, failing.stderr
    assert json.loads(failing.stdout)["checks"]["search"]["status"] == "fail"
    usage = manage("observe_check", "--interval", "3", env=env)
    assert usage.returncode == 2 and "--interval needs --loop" in usage.stderr
