"""Management commands leave the server's state alone (issue 12, item 10).

- A crashing ``manage.py`` command is not stored as an error group of the site unless
  ``ERRORS_CAPTURE_COMMANDS`` asks for it; when it is, its title is not doubled
  (Django's SystemCheckError message already starts with "SystemCheckError: ").
  Before: ``manage.py shell -c "raise ..."`` became an error group in the admin.
- ``migrate``, ``observe_check`` and other commands add no series and no counts to the live
  server's multiprocess scrape: with ``PROMETHEUS_MULTIPROC_DIR`` set for them too, they write
  no files there. Before: migrate's database queries were added to the server's
  ``database_queries_total``, observe_check's gauges appeared with its pid.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from django_observe.metrics.commands import running_command
from tests.errors.support import GROUPS, fresh_database, query
from tests.metrics.helpers import TOKEN, fetch, samples, total
from tests.servers import ROOT, manage, running_server

pytestmark = pytest.mark.integration

CRASH = "raise ValueError('boom from a command')"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_crashing_command_is_not_an_error_of_the_site_unless_asked(backend: str, request: pytest.FixtureRequest) -> None:
    postgres_url = request.getfixturevalue("postgres_url") if backend == "postgresql" else None
    with fresh_database(backend, postgres_url) as env:
        crashed = manage("shell", "-c", CRASH, env=env)
        assert crashed.returncode == 1 and "ValueError: boom from a command" in crashed.stderr  # the traceback still prints
        assert query(env, GROUPS) == []

        asked = {**env, "OBSERVE_JSON": json.dumps({"ERRORS_CAPTURE_COMMANDS": True})}
        assert manage("shell", "-c", CRASH, env=asked).returncode == 1
        # A failing system check raised through --traceback: Django's message starts with the type's name.
        failing_check = {**env, "OBSERVE_JSON": json.dumps({"ERRORS_CAPTURE_COMMANDS": True, "HEALTH_DEADLINE": 0})}
        checked = manage("check", "--traceback", env=failing_check)
        assert checked.returncode == 1 and "django_observe.E001" in checked.stderr
        groups = query(env, GROUPS)
    assert sorted(group["title"] for group in groups) == [
        "SystemCheckError: System check identified some issues:",
        "ValueError: boom from a command",
    ]


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["manage.py", "migrate", "--noinput"], "migrate"),
        (["/srv/app/manage.py", "observe_check"], "observe_check"),
        (["/venv/bin/django-admin", "shell"], "shell"),
        (["/venv/lib/python3.11/site-packages/django/__main__.py", "check"], "check"),
        (["manage.py", "--help"], None),
        (["/venv/bin/gunicorn", "site.wsgi"], None),
        (["/venv/bin/pytest", "tests"], None),
        (["/venv/bin/celery", "-A", "site", "worker"], None),
    ],
)
def test_running_command_names_manage_py_commands_only(argv: list[str], command: str | None) -> None:
    assert running_command(argv) == command


def run_command(*args: str, env: dict[str, str]) -> tuple[int, int]:
    """(pid, exit status) of ``manage.py args`` run to its end."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    process.communicate(timeout=120)
    return process.pid, process.returncode


@pytest.mark.once
def test_commands_add_nothing_to_the_servers_multiprocess_scrape(tmp_path: Path) -> None:
    prom = tmp_path / "prom"
    prom.mkdir()
    with running_server("gunicorn", workers=1, env={"PROMETHEUS_MULTIPROC_DIR": str(prom), "METRICS_TOKEN": TOKEN}) as server:
        assert [fetch(f"{server.url}/db/", token=None)[0] for _ in range(3)] == [200] * 3
        fetch(server.url + "/metrics")  # the scrape's own series exist from here on
        before = samples(fetch(server.url + "/metrics")[2].decode())
        ran = [
            run_command("migrate", "--noinput", env=server.env),
            run_command("observe_check", "--json", env=server.env),
        ]
        after = samples(fetch(server.url + "/metrics")[2].decode())
    assert [status for _, status in ran] == [0, 0]
    written = sorted(path.name for path in prom.iterdir() if any(path.name.endswith(f"_{pid}.db") for pid, _ in ran))
    assert written == []  # the commands wrote no metric files
    assert set(after) - set(before) == set()  # no new series
    assert total(after, "database_queries_total") == total(before, "database_queries_total") > 0  # and no counts
    assert total(after, "http_requests_total", endpoint="db/") == 3
