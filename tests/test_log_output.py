"""How lines are written: the plain JSON line equals the formatter's, and batched lines are never lost or mixed."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import structlog
from django.test import override_settings

from django_observe import context
from django_observe.logging import ObserveFormatter, ObserveHandler
from django_observe.logging.plain import plain_json_line
from django_observe.logging.sink import BATCH_LINES, PIPE_CHUNK

CREATED = 1767225600.123456
FORMATTER = ObserveFormatter("json")


def _formatter_line(name: str, level: int, fields: dict[str, Any]) -> str:
    return FORMATTER.render(FORMATTER.complete(dict(fields), name, logging.getLevelName(level), CREATED, None))


ACCESS = {
    "event": "request_finished",
    "request": "GET /items/3/",
    "method": "GET",
    "route": "items/<int:pk>/",
    "code": 200,
    "duration_ms": 1.25,
}
TASK = {"event": "task_succeeded", "task_id": "t-1", "task_name": "demo.add", "state": "SUCCESS", "retries": 0, "duration_ms": 0.5}
CASES: list[tuple[str, int, dict[str, Any]]] = [
    ("django_observe.request", logging.INFO, ACCESS),
    ("django_observe.request", logging.WARNING, {**ACCESS, "code": 404, "slow": True, "path": "/items/3/", "status_code": 404}),
    ("django_observe.request", logging.INFO, {**ACCESS, "request": 'GET /p"\\\u00e9\u2028\x1b', "ip": None}),
    ("django_observe.celery", logging.INFO, TASK),
    ("django_observe.celery", logging.INFO, {**TASK, "parent_task_id": "p-1", "request_id": "from-the-request"}),
    # keys that are not ours: a secret one is filtered, strings are scrubbed, numbers and booleans kept
    ("app", logging.INFO, {"event": "x", "api_token": "abc", "password": "", "note": "see ?password=hunter2&x=1", "n": -3, "ok": False}),
    ("app", logging.INFO, {"event": "password=hunter2 in the event", "big": 10**30, "small": 1e-300, "user_id": 7}),
]


@pytest.mark.parametrize("bound", ["none", "request", "request+user", "task"])
@pytest.mark.parametrize(("name", "level", "fields"), CASES)
def test_the_plain_line_is_the_formatters_line_byte_for_byte(name: str, level: int, fields: dict[str, Any], bound: str) -> None:
    if bound.startswith("request"):
        context.bind_request("0123456789abcdef0123456789abcdef")
        if bound == "request+user":
            context.bind_user_id(42)
    elif bound == "task":
        context.bind_task("task-9", "demo.mul", "req-7")
    try:
        before = dict(fields)
        line = plain_json_line(name, level, fields, CREATED)
        assert fields == before  # not consumed: the caller may still need the formatter's path
        assert line == _formatter_line(name, level, fields)
        json.loads(line)
    finally:
        context.clear()


@pytest.mark.parametrize("bound", ["request", "request+user"])
@pytest.mark.parametrize("level", [logging.INFO, logging.WARNING, logging.ERROR])
@pytest.mark.parametrize(
    ("request_text", "route", "code"), [("GET /ping", "ping", 200), ('POST /p"\\\u00e9\u2028\x1b', "p/<slug:s>/", 404)]
)
def test_the_access_line_in_one_piece_is_the_formatters_line(bound: str, level: int, request_text: str, route: str, code: int) -> None:
    from django_observe.logging.plain import access_json_line

    context.bind_request("req-1")
    if bound == "request+user":
        context.bind_user_id(42)
    try:
        fields = {"request": request_text, "method": request_text.split()[0], "route": route, "code": code, "duration_ms": 12.5}
        line = access_json_line("django_observe.request", level, request_text, fields["method"], route, code, 12.5, CREATED)
        assert line == _formatter_line("django_observe.request", level, {**fields, "event": "request_finished"})
    finally:
        context.clear()


def test_the_middleware_writes_the_default_access_line_in_one_piece(tmp_path: Path, client: Any) -> None:
    """With our handler alone on the root the middleware takes the one-piece path: same keys, same order."""
    path = tmp_path / "access.jsonl"
    handler = _handler(path)
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = [handler]
    try:
        client.get("/fast/", HTTP_X_REQUEST_ID="one-piece-1")
    finally:
        root.handlers = saved
        handler.close()
    [line] = [json.loads(raw) for raw in path.read_text().splitlines() if '"request_finished"' in raw]
    assert list(line) == [
        "event", "level", "logger", "timestamp", "request", "method", "route", "code", "duration_ms",
        "request_id", "service", "environment", "version",
    ]  # fmt: skip
    assert (line["request"], line["route"], line["code"], line["request_id"]) == ("GET /fast/", "fast/", 200, "one-piece-1")


@pytest.mark.parametrize(
    "fields",
    [
        {"event": "x", "nested": {"password": "p"}},  # nested values: the formatter's redaction walks them
        {"event": "x", "items": [1, 2]},
        {"event": "x", "when": 1.5j},  # repr() by the formatter
        {"event": "x", "ratio": float("nan")},
        {"event": "x", "service": "other"},  # a field where add_context would set a default
        {"event": "x", "exc_info": True},
        {"event": "x", "level": "custom"},
        {"event": "x", "request": object()},  # Django's HttpRequest in extra: rendered by _clean_request
        {"event": 3},
    ],
)
def test_lines_the_plain_path_cannot_render_exactly_are_left_to_the_formatter(fields: dict[str, Any]) -> None:
    assert plain_json_line("app", logging.INFO, fields, CREATED) is None


def test_a_bound_structlog_context_takes_the_formatters_path() -> None:
    structlog.contextvars.bind_contextvars(order_id=7)
    try:
        assert plain_json_line("app", logging.INFO, dict(ACCESS), CREATED) is None
    finally:
        structlog.contextvars.clear_contextvars()


@override_settings(OBSERVE={"SERVICE_NAME": 'shop "eu"', "ENVIRONMENT": "prod", "VERSION": "1.2", "REDACT_KEYS": ["route"]})
def test_settings_changes_reach_the_plain_line() -> None:
    fields = {**ACCESS, "token": "t"}
    line = plain_json_line("django_observe.request", logging.INFO, fields, CREATED)
    assert line == _formatter_line("django_observe.request", logging.INFO, fields)
    assert json.loads(line)["service"] == 'shop "eu"' and json.loads(line)["token"] == "t"  # "token" is no longer a secret word


# --- batching -----------------------------------------------------------------------------------


def _handler(path: Path) -> ObserveHandler:
    handler = ObserveHandler(log_file=str(path))
    handler.setFormatter(ObserveFormatter("json"))
    return handler


def _events(path: Path) -> list[str]:
    return [json.loads(line)["event"] for line in path.read_text().splitlines()]


@override_settings(OBSERVE={"LOG_BUFFER_SECONDS": 30})
def test_lines_wait_for_a_batch_and_a_warning_writes_them_first_in_order(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    handler = _handler(path)
    try:
        for number in range(BATCH_LINES - 1):
            handler.write_fields("app", logging.INFO, {"event": f"info {number}"}, None)
        assert path.read_text() == ""  # waiting: nothing written yet
        handler.write_fields("app", logging.WARNING, {"event": "warning"}, None)
        assert _events(path) == [f"info {number}" for number in range(BATCH_LINES - 1)] + ["warning"]
        for number in range(BATCH_LINES):
            handler.write_fields("app", logging.INFO, {"event": f"again {number}"}, None)
        assert len(_events(path)) == 2 * BATCH_LINES  # a full batch is written at once
    finally:
        handler.close()


@override_settings(OBSERVE={"LOG_BUFFER_SECONDS": 0.2})
def test_a_lone_line_is_written_within_the_buffer_time(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    handler = _handler(path)
    try:
        handler.write_fields("app", logging.INFO, {"event": "lonely"}, None)
        deadline = time.monotonic() + 10  # the background writer; generous for a loaded machine, no timing asserted
        while _events(path) != ["lonely"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        handler.close()


@override_settings(OBSERVE={"LOG_BUFFER_SECONDS": 0})
def test_buffering_off_writes_every_line_at_once(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    handler = _handler(path)
    try:
        handler.write_fields("app", logging.INFO, {"event": "now"}, None)
        logging.getLogger("app").addHandler(handler)
        logging.getLogger("app").info("through logging")
        assert _events(path) == ["now", "through logging"]
    finally:
        logging.getLogger("app").removeHandler(handler)
        handler.close()


@override_settings(OBSERVE={"LOG_BUFFER_SECONDS": 30})
def test_a_rotated_file_is_reopened_and_a_closed_handler_reopens(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    handler = _handler(path)
    try:
        handler.write_fields("app", logging.WARNING, {"event": "before"}, None)
        path.rename(tmp_path / "app.jsonl.1")  # logrotate
        handler.sink.checked_at = 0  # the once-a-second check is due
        handler.write_fields("app", logging.WARNING, {"event": "after"}, None)
        handler.close()  # a second dictConfig closes every handler
        handler.write_fields("app", logging.WARNING, {"event": "reopened"}, None)
    finally:
        handler.close()
    assert _events(tmp_path / "app.jsonl.1") == ["before"]
    assert _events(path) == ["after", "reopened"]


@override_settings(OBSERVE={"LOG_BUFFER_SECONDS": 30})
def test_a_pipe_gets_whole_lines_in_writes_no_larger_than_pipe_buf() -> None:
    stream = _Recorder()
    handler = ObserveHandler(log_file="")
    handler.sink.stream = stream  # type: ignore[assignment]
    handler.setFormatter(ObserveFormatter("json"))
    try:
        for number in range(BATCH_LINES):
            handler.write_fields("app", logging.INFO, {"event": f"line {number}", "pad": "x" * 300}, None)
    finally:
        handler.close()
    assert len(stream.writes) > 1
    assert all(len(chunk.encode()) <= PIPE_CHUNK and chunk.endswith("\n") for chunk in stream.writes)
    assert [json.loads(line)["event"] for line in "".join(stream.writes).splitlines()] == [f"line {n}" for n in range(BATCH_LINES)]


class _Recorder(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)


_CHILD = """
import logging, os, sys
import django
django.setup()
from django_observe.logging import ObserveFormatter, ObserveHandler
handler = ObserveHandler(log_file=sys.argv[1])
handler.setFormatter(ObserveFormatter("json"))
for number in range(int(sys.argv[2])):
    handler.write_fields("app", logging.INFO, {"event": f"{os.getpid()} {number}"}, None)
if sys.argv[3] == "fork":
    pid = os.fork()
    handler.write_fields("app", logging.INFO, {"event": f"{os.getpid()} after fork"}, None)
    if pid == 0:
        os._exit(0) if sys.argv[4] == "_exit" else sys.exit(0)
    os.waitpid(pid, 0)
"""


def _run_child(path: Path, lines: int, mode: str = "", child_exit: str = "") -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "testproject.settings", "OBSERVE_JSON": json.dumps({"LOG_BUFFER_SECONDS": 30})}
    root = Path(__file__).resolve().parent.parent
    env["PYTHONPATH"] = str(root)
    subprocess.run([sys.executable, "-c", _CHILD, str(path), str(lines), mode, child_exit], check=True, env=env, cwd=root, timeout=120)


def test_lines_waiting_at_exit_are_written(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    _run_child(path, 5)
    assert len(_events(path)) == 5


def test_a_fork_neither_loses_nor_doubles_waiting_lines(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    _run_child(path, 5, "fork", "exit")
    events = _events(path)
    parent = {event.split()[0] for event in events if not event.endswith("after fork")}
    assert len(parent) == 1 and len(events) == 7 and len(set(events)) == 7, events
    assert sum(event.endswith("after fork") for event in events) == 2  # the child's line, written at its exit
