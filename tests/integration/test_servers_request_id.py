"""Request ids and JSON logs under real servers: gunicorn (threads) and uvicorn (tasks), 200 concurrent requests."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.servers import running_server

pytestmark = pytest.mark.integration

REJECTED = "evil\tid<script>"


def _get(url: str, request_id: str) -> tuple[int, str, str]:
    request = urllib.request.Request(url, headers={"X-Request-ID": request_id})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.headers["X-Request-ID"], response.read().decode()


def _lines(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(raw) for raw in path.read_text().splitlines() if raw.strip()]


@pytest.mark.parametrize(
    ("kind", "path", "step_event", "extra_args"),
    [
        ("gunicorn", "/interleave/", "interleave step", ("--worker-class", "gthread", "--threads", "8")),
        ("uvicorn", "/interleave-async/", "interleave async step", ()),
    ],
)
def test_200_concurrent_requests_each_log_only_their_own_id(
    tmp_path: Path, kind: str, path: str, step_event: str, extra_args: tuple[str, ...]
) -> None:
    log_file = tmp_path / "app.jsonl"
    env = {"LOG_FILE": str(log_file), "OBSERVE_STATE_DIR": str(tmp_path)}
    with running_server(kind, workers=2, env=env, extra_args=extra_args) as server:
        ids = [f"{kind}-{number}" for number in range(200)]
        with ThreadPoolExecutor(max_workers=32) as pool:
            results = list(pool.map(lambda request_id: _get(server.url + path, request_id), ids))
        status, replaced, _ = _get(server.url + "/fast/", REJECTED)
    assert all(
        result[0] == 200 and result[1] == request_id and result[2] == request_id for result, request_id in zip(results, ids, strict=True)
    )
    lines = _lines(log_file)
    steps = [line for line in lines if line["event"] == step_event]
    assert len(steps) == 600
    assert all(line["request_id"] == line["own_id"] for line in steps)
    finished = [line for line in lines if line["event"] == "request_finished" and line["route"] == path.strip("/") + "/"]
    assert sorted(line["request_id"] for line in finished) == sorted(ids)
    assert status == 200 and replaced != REJECTED and len(replaced) == 32
    assert "evil" not in log_file.read_text()


@pytest.mark.parametrize("kind", ["gunicorn", "uvicorn"])
def test_error_responses_and_django_lines_carry_the_id_under_a_real_server(tmp_path: Path, kind: str) -> None:
    log_file = tmp_path / "app.jsonl"
    with running_server(kind, env={"LOG_FILE": str(log_file), "OBSERVE_STATE_DIR": str(tmp_path)}) as server:
        for path, request_id in (("/does-not-exist/", "srv-404"), ("/boom/", "srv-500")):
            request = urllib.request.Request(server.url + path, headers={"X-Request-ID": request_id})
            with pytest.raises(urllib.error.HTTPError) as raised:
                urllib.request.urlopen(request, timeout=10)
            assert raised.value.headers["X-Request-ID"] == request_id
    lines = _lines(log_file)
    django_lines = {line["event"]: line["request_id"] for line in lines if line["logger"] == "django.request"}
    assert django_lines == {"Not Found: /does-not-exist/": "srv-404", "Internal Server Error: /boom/": "srv-500"}
