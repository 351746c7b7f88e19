"""Running the guide teams' sites: gunicorn servers of tests/seeds/site and one real Prometheus scraping them."""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.servers import free_port, stop, wait_until_up

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(__file__).resolve().parent / "site"
BIN = Path(sys.executable).parent
METRICS_TOKEN = "seed-metrics-token-5b0c2e9d"
HEALTH_TOKEN = "seed-health-token-8e1f7a3c"

# The guides' variables: a site gets only those its guide sets, never the test runner's.
_GUIDE_VARIABLES = re.compile(
    r"^(ENVIRONMENT|APP_ENV|APP_VERSION|RELEASE_VERSION|VERSION|SERVICE_NAME|LOG_\w+|SENTRY_\w+|SLOW_REQUEST_THRESHOLD|METRICS_TOKEN"
    r"|HEALTH_TOKEN|PROMETHEUS_MULTIPROC_DIR|prometheus_multiproc_dir|DATABASE_URL|DJANGO_\w+|OBSERVE_\w+|PYTEST_\w+|OTEL_\w+)$"
)


@dataclass
class Site:
    name: str
    url: str
    state: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def json_lines(self, path: Path | None = None) -> list[dict[str, Any]]:
        text = path.read_text(errors="replace") if path else self.log()
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    def wait_lines(self, ready: Callable[[list[dict[str, Any]]], bool], path: Path | None = None) -> list[dict[str, Any]]:
        """The JSON lines once ``ready(lines)`` (or after 15 s: the caller's asserts then say what is missing).

        Lines are written in batches (``LOG_BUFFER_SECONDS``, 0.5 s by default) after their request.
        """
        deadline = time.monotonic() + 15
        while True:
            lines = self.json_lines(path)
            if ready(lines) or time.monotonic() > deadline:
                return lines
            time.sleep(0.1)

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        return fetch(self.url + path, headers)

    def get_json(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        status, _, body = self.get(path, headers)
        return status, json.loads(body)

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        import sqlite3

        with contextlib.closing(sqlite3.connect(self.state / "db.sqlite3", timeout=20)) as db:
            return db.execute(query).fetchall()


def fetch(url: str, headers: dict[str, str] | None = None, data: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def site_env(state: Path, env: dict[str, str], observe: dict[str, Any]) -> dict[str, str]:
    base = {key: value for key, value in os.environ.items() if not _GUIDE_VARIABLES.match(key)}
    base.update(
        {
            "PYTHONPATH": f"{SITE}{os.pathsep}{ROOT}",
            "DJANGO_SETTINGS_MODULE": "seedsite.settings",
            "SEED_STATE_DIR": str(state),
            "SQLITE_PATH": str(state / "db.sqlite3"),
            "SEED_OBSERVE": json.dumps(observe),
            "METRICS_TOKEN": METRICS_TOKEN,
            "HEALTH_TOKEN": HEALTH_TOKEN,
        }
    )
    base.update(env)
    return base


def migrated_template(tmp: Path) -> Path:
    """One migrated SQLite file, copied for every site (migrating costs seconds)."""
    template = tmp / "template.sqlite3"
    env = site_env(tmp, {"SQLITE_PATH": str(template)}, {})
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=SITE, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return template


def start_site(name: str, tmp: Path, template: Path, env: dict[str, str], observe: dict[str, Any], workers: int = 1) -> Site:
    state = tmp / name
    state.mkdir()
    shutil.copyfile(template, state / "db.sqlite3")
    full_env = site_env(state, env, observe)
    command = [str(BIN / "gunicorn"), "seedsite.wsgi:application", "-b", f"127.0.0.1:{free_port()}", "-w", str(workers), "--timeout", "60"]
    if "PROMETHEUS_MULTIPROC_DIR" in env:
        Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
        conf = state / "gunicorn.conf.py"
        conf.write_text("from django_observe.gunicorn import *  # on_starting, child_exit\n")
        command += ["-c", str(conf)]
    log_path = state / "server.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(command, cwd=SITE, env=full_env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    return Site(name=name, url=f"http://{command[3]}", state=state, process=process, log_path=log_path)


def wait_for(sites: list[Site]) -> None:
    for site in sites:
        wait_until_up(site.url, site.process, site.log_path, timeout=60)


def stop_all(sites: list[Site]) -> None:
    """TERM every site's process group at once, then wait (one by one would add their shutdowns up)."""
    import signal

    for site in sites:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(site.process.pid, signal.SIGTERM)
    for site in sites:
        stop(site.process)


# --- the admin login form, as a browser posts it (CSRF cookie and token) -------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def admin_login(site: Site, username: str, password: str) -> int:
    """GET the admin login page, POST the form with its CSRF token; the status (302 when logged in)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())
    with opener.open(site.url + "/admin/login/", timeout=15) as page:
        html = page.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token, html[:500]
    form = urllib.parse.urlencode({"csrfmiddlewaretoken": token.group(1), "username": username, "password": password, "next": "/admin/"})
    try:
        with opener.open(site.url + "/admin/login/", data=form.encode(), timeout=15) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


# --- one real Prometheus for every guide's job ------------------------------------------------------


@dataclass
class Job:
    name: str
    site: Site
    metrics_path: str = "/metrics"


@contextlib.contextmanager
def prometheus(jobs: list[Job], rule_texts: list[str], tmp: Path) -> Iterator[Any]:
    """Debian's prometheus scraping every job each second with the bearer token, loading ``rule_texts``."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from prom_run import Prom

    home = tmp / "prometheus"
    home.mkdir()
    token_file = home / "token"
    token_file.write_text(METRICS_TOKEN)
    token_file.chmod(0o600)
    rule_files = []
    for index, text in enumerate(rule_texts):
        path = home / f"rules_{index}.yml"
        path.write_text(text)
        rule_files.append(str(path))
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": rule_files,
        "scrape_configs": [
            {
                "job_name": job.name,
                "metrics_path": job.metrics_path,
                "authorization": {"type": "Bearer", "credentials_file": str(token_file)},
                "static_configs": [{"targets": [job.site.url.removeprefix("http://")]}],
            }
            for job in jobs
        ],
    }
    (home / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    port = free_port()
    log = open(home / "prometheus.log", "w")
    process = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={home / 'prometheus.yml'}",
            f"--storage.tsdb.path={home / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    prom = Prom(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                targets = prom.targets()
                if len(targets) == len(jobs) and all(target["health"] == "up" for target in targets):
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"prometheus is not scraping every guide: {(home / 'prometheus.log').read_text()[-3000:]}")
            time.sleep(0.2)
        yield prom
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def series(prom: Any, expr: str, timeout: float = 30) -> list[dict[str, Any]]:
    """The result of ``expr`` once it has at least one series (rates need two scrapes after the traffic)."""
    deadline = time.monotonic() + timeout
    while True:
        result = prom.query(expr)
        if result:
            return list(result)
        if time.monotonic() > deadline:
            raise AssertionError(f"no series for {expr!r} after {timeout}s")
        time.sleep(0.5)
