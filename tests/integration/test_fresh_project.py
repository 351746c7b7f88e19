"""A brand-new `django-admin startproject` site set up exactly as the README's quickstart says.

This is how a new user meets the app: nothing from testproject, `OBSERVE = {}`, served by
gunicorn (WSGI) and uvicorn (ASGI).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port, stop, wait_until_up

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def fresh_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """startproject + the README's four edits (INSTALLED_APPS, MIDDLEWARE first, OBSERVE = {}, urls), migrated."""
    root = tmp_path_factory.mktemp("fresh")
    subprocess.run([str(BIN / "django-admin"), "startproject", "mysite", str(root)], check=True)
    settings = root / "mysite" / "settings.py"
    text = settings.read_text()
    # startproject's quoting differs between Django versions ('...' in 5.2, "..." in 6).
    text = re.sub(r"(    ['\"]django\.contrib\.staticfiles['\"],\n)\]", r'\1    "django_observe",\n]', text)
    text = text.replace("MIDDLEWARE = [\n", 'MIDDLEWARE = [\n    "django_observe.middleware.ObserveMiddleware",\n')
    text += "\nOBSERVE = {}\n"
    settings.write_text(text)
    urls = root / "mysite" / "urls.py"
    urls_text = urls.read_text().replace("from django.urls import path", "from django.urls import include, path")
    urls_text = re.sub(r"(    path\(['\"]admin/['\"], admin\.site\.urls\),\n)", r'\1    path("", include("django_observe.urls")),\n', urls_text)
    urls.write_text(urls_text)
    assert "django_observe.urls" in urls.read_text()
    assert '"django_observe",' in settings.read_text() and "django_observe.middleware.ObserveMiddleware" in settings.read_text()
    for command in (["check", "--fail-level", "WARNING"], ["migrate", "--noinput", "-v0"]):
        result = subprocess.run([sys.executable, "manage.py", *command], cwd=root, env=_env(root), capture_output=True, text=True, timeout=180)
        assert result.returncode == 0, result.stdout + result.stderr
    return root


def _env(root: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "DJANGO_", "DATABASE_URL"))}
    env["PYTHONPATH"] = str(root)
    env["METRICS_TOKEN"] = "fresh-metrics-token"
    env["HEALTH_TOKEN"] = "fresh-health-token"
    return env


@pytest.fixture(params=["gunicorn", "uvicorn"])
def served(request: pytest.FixtureRequest, fresh_site: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    log_path = fresh_site / f"{request.param}.log"
    if request.param == "gunicorn":
        command = [str(BIN / "gunicorn"), "mysite.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "2"]
    else:
        command = [str(BIN / "uvicorn"), "mysite.asgi:application", "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off"]
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(command, cwd=fresh_site, env=_env(fresh_site), stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, log_path)
        yield url, log_path
    finally:
        stop(process)


def _fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=15) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_fresh_project_serves_the_promised_endpoints(served: tuple[str, Path]) -> None:
    url, log_path = served
    status, headers, body = _fetch(url + "/health/live")
    assert status == 200 and headers["X-Request-ID"]

    status, headers, _ = _fetch(url + "/admin/login/", {"X-Request-ID": "fresh-admin-1"})
    assert status == 200 and headers["X-Request-ID"] == "fresh-admin-1"

    status, headers, _ = _fetch(url + "/no-such-page/", {"X-Request-ID": "fresh-404"})
    assert status == 404 and headers["X-Request-ID"] == "fresh-404"

    assert _fetch(url + "/metrics")[0] == 401
    status, _, body = _fetch(url + "/metrics", {"Authorization": "Bearer fresh-metrics-token"})
    assert status == 200 and b"http_requests_total" in body

    status, _, body = _fetch(url + "/health")
    assert status in (200, 503) and json.loads(body)["status"] in ("healthy", "degraded", "unhealthy")
    assert _fetch(url + "/health/detailed")[0] in (401, 403)
    assert _fetch(url + "/health/detailed", {"X-Health-Token": "fresh-health-token"})[0] in (200, 503)

    log = log_path.read_text()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    finished = [line for line in lines if line.get("event") == "request_finished"]
    assert any(line["request_id"] == "fresh-admin-1" and line["route"] == "admin/login/" for line in finished)
    assert any(line.get("request_id") == "fresh-404" and line["logger"] == "django.request" for line in lines)
    assert "fresh-metrics-token" not in log and "fresh-health-token" not in log
    assert not re.search(r"Traceback", log), log[-3000:]
