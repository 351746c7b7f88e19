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
import urllib.parse
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
    urls_text = re.sub(
        r"(    path\(['\"]admin/['\"], admin\.site\.urls\),\n)", r'\1    path("", include("django_observe.urls")),\n', urls_text
    )
    urls.write_text(urls_text)
    assert "django_observe.urls" in urls.read_text()
    assert '"django_observe",' in settings.read_text() and "django_observe.middleware.ObserveMiddleware" in settings.read_text()
    for command in (["check", "--fail-level", "WARNING"], ["migrate", "--noinput", "-v0"]):
        result = subprocess.run(
            [sys.executable, "manage.py", *command], cwd=root, env=_env(root), capture_output=True, text=True, timeout=180
        )
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
        process = subprocess.Popen(
            command, cwd=fresh_site, env=_env(fresh_site), stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
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


# --- docs/quickstart.md, followed literally (issue 16) ---------------------------------------------

QUICKSTART = Path(__file__).resolve().parents[2] / "docs" / "quickstart.md"
FENCE = re.compile(r'^```(\w+)(?: title="([^"]+)")?\n(.*?)^```', re.S | re.M)


def quickstart_blocks() -> list[tuple[str, str, str]]:
    """(language, title, text) of every fenced block of the quickstart page, in order."""
    return [(language, title or "", text) for language, title, text in FENCE.findall(QUICKSTART.read_text())]


def _shell_lines(text: str) -> list[str]:
    return [line.split("  #")[0].strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, str]]:
    """A new project made by running the quickstart's blocks in order; yields (url, log path, metrics token).

    Deviations, each because a test cannot do otherwise: the venv and ``pip install`` lines are
    skipped (this interpreter has the package), ``createsuperuser`` gets its answers from
    DJANGO_SUPERUSER_* variables, and ``runserver`` listens on a free port instead of 8000.
    """
    root = tmp_path_factory.mktemp("quickstart")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "DJANGO_", "OBSERVE_", "DATABASE_URL", "METRICS_", "HEALTH_"))
    }
    env.update(PYTHONPATH=str(root), DJANGO_SUPERUSER_PASSWORD="quickstart-admin-pw", PYTHONUNBUFFERED="1")
    blocks = quickstart_blocks()
    assert [title for _, title, _ in blocks if title] == ["mysite/settings.py", "mysite/urls.py"], "the page's file edits changed"
    port, server, token = free_port(), None, ""
    log_path = root / "runserver.log"
    for language, title, text in blocks:
        if title:
            with open(root / title, "a") as target:  # "Append to mysite/...py"
                target.write("\n" + text)
            continue
        if language != "sh":
            continue
        for line in _shell_lines(text):
            words = line.split()
            if words[0] in ("python", "pip", "curl") and words[1:2] in (["-m"], ["install"]) or words[0] in ("curl", "."):
                continue  # the venv, pip install, and the "try it" block (run by the test below)
            if words[0] == "export":
                name, _, value = words[1].partition("=")
                env[name] = value
                token = value if name == "METRICS_TOKEN" else token
            elif words[:2] == ["django-admin", "startproject"]:
                subprocess.run([str(BIN / "django-admin"), *words[1:]], cwd=root, env=env, check=True, timeout=60)
            elif words[:3] == ["python", "manage.py", "createsuperuser"]:
                command = [
                    sys.executable,
                    "manage.py",
                    "createsuperuser",
                    "--noinput",
                    "--username",
                    "admin",
                    "--email",
                    "admin@example.com",
                ]
                subprocess.run(command, cwd=root, env=env, check=True, capture_output=True, timeout=120)
            elif words[:3] == ["python", "manage.py", "runserver"]:
                with open(log_path, "wb") as log:
                    command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
                    server = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            elif words[:2] == ["python", "manage.py"]:
                result = subprocess.run([sys.executable, *words[1:]], cwd=root, env=env, capture_output=True, text=True, timeout=180)
                assert result.returncode == 0, f"{line}:\n{result.stdout}{result.stderr}"
                assert "WARNING" not in result.stderr.upper() or words[2] != "check", result.stderr
            else:
                raise AssertionError(f"the quickstart has a command this test does not know how to follow: {line!r}")
    assert server is not None and token, "the quickstart starts a server and sets a metrics token"
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, server, log_path)
        yield url, log_path, token
    finally:
        stop(server)


@pytest.mark.once  # a new project always runs on SQLite
def test_quickstart_page_gives_metrics_probes_request_ids_and_admin(quickstart: tuple[str, Path, str]) -> None:
    import http.cookiejar

    url, log_path, token = quickstart
    tries = [line for _, _, text in quickstart_blocks() for line in _shell_lines(text) if line.startswith("curl ")]
    assert len(tries) == 4, tries
    for line in tries:  # the page's own curl commands, against this server's port
        result = subprocess.run(
            line.replace("127.0.0.1:8000", url.removeprefix("http://")), shell=True, capture_output=True, text=True, timeout=30
        )
        assert result.returncode == 0, (line, result.stderr)
        if "/health/live" in line:
            assert result.stdout.startswith("HTTP/1.1 200") and '"alive"' in result.stdout and "X-Request-ID: " in result.stdout
        elif "/health/ready" in line:
            assert result.stdout.startswith("HTTP/1.1 200"), result.stdout
        elif "my-trace-1" in line:
            assert "X-Request-ID: my-trace-1" in result.stdout
        else:
            assert "http_requests_total{" in result.stdout and 'endpoint="admin/login/"' in result.stdout
    assert _fetch(url + "/metrics")[0] == 401, "no token, no metrics"
    assert token not in log_path.read_text()

    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    assert any(
        line.get("event") == "request_finished" and line.get("request_id") == "my-trace-1" and line.get("route") == "admin/login/"
        for line in lines
    )

    # The admin: log in as the quickstart's superuser, then the Observability pages.
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login_page = opener.open(url + "/admin/login/", timeout=15).read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page)
    assert csrf, login_page[:500]
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": csrf.group(1), "username": "admin", "password": "quickstart-admin-pw", "next": "/admin/"}
    )
    opener.open(
        urllib.request.Request(url + "/admin/login/", data=form.encode(), headers={"Referer": url + "/admin/login/"}), timeout=30
    ).read()
    overview = opener.open(url + "/admin/django_observe/", timeout=30).read().decode()
    assert 'id="observe-overview"' in overview and 'id="observe-traffic"' in overview, overview[:2000]
    for page in ("errorgroup/", "health/", "healthcheckrun/", "healthincident/"):
        with opener.open(f"{url}/admin/django_observe/{page}", timeout=30) as response:
            assert response.status == 200 and response.url.endswith(page), page
    with opener.open(url + "/static/django_observe/overview.css", timeout=15) as response:
        assert response.status == 200, "runserver (DEBUG on in a new project) serves the admin's CSS"
