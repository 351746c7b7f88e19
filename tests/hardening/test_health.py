"""Issue 12 item 11 (health), with real faults: a TCP server on 127.0.0.1 that accepts and never answers.

- A client-side timeout is ``timeout``, never ``fail``, whichever fires first, the client's or the
  runner's deadline, and in the result later probes share. Before: psycopg's ``connect_timeout``
  (``ConnectionTimeout`` under Django's ``OperationalError``) and redis-py's ``TimeoutError`` under the
  cache check read ``fail``; a hand-written check's ``socket.timeout`` read "Unexpected error"; and a
  late client timeout replaced the runner's ``timeout`` by ``fail`` in the shared result.
- An open incident of a check that no longer exists is closed at the next recorded run (before: open forever).
- The Health admin pages follow model view permissions as the Errors pages do (before: any staff member).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.db import connections
from django.test import Client, override_settings

from django_observe.health import history
from django_observe.health import runner as health_runner
from django_observe.health.runner import CheckResult
from django_observe.models import HealthIncident

CHECKS = "django_observe.health.checks."


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP server that accepts every connection and never sends a byte (a hung Redis or PostgreSQL)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()
    for connection in held:
        connection.close()


@pytest.fixture
def hung_alias(silent_port: int) -> Iterator[Callable[..., str]]:
    """hung_alias(**OPTIONS): a PostgreSQL DATABASES alias at the silent server."""
    added: list[str] = []

    def add(**options: object) -> str:
        alias = f"hung{len(added)}"
        entry = {"ENGINE": "django.db.backends.postgresql", "HOST": "127.0.0.1", "PORT": silent_port, "NAME": "observe",
                 "USER": "observe", "PASSWORD": "never-sent", "OPTIONS": options}  # fmt: skip
        connections.settings[alias] = connections.configure_settings({"default": settings.DATABASES["default"], alias: entry})[alias]
        added.append(alias)
        return alias

    yield add
    for alias in added:
        del connections.settings[alias]


def _statuses(name: str) -> tuple[str, str]:
    """(what the probe saw, what the next probe within the cache window sees once the run has ended)."""
    runs = health_runner.runner.runs(name)
    [seen] = health_runner.runner.run(health_runner.specs(names=[name]), max_age=0)
    deadline = time.monotonic() + 15
    while health_runner.runner.runs(name) == runs:  # the check's thread is still waiting on its client
        assert time.monotonic() < deadline, f"{name} never finished"
        time.sleep(0.02)
    [shared] = health_runner.runner.run(health_runner.specs(names=[name]), max_age=3600)
    return seen.status, shared.status


@pytest.mark.once  # a fake server, no test database: the same in every matrix combination
def test_a_hung_postgresql_is_a_timeout_whichever_deadline_fires_first(
    observe: Callable[..., None], hung_alias: Callable[..., str], django_db_blocker: Any
) -> None:
    # No test database: the checks only talk to the silent server (a TestCase would forbid the new aliases).
    client_first = hung_alias(connect_timeout=1)  # libpq gives up after 1 s; the runner would wait 4 s
    runner_first = hung_alias()  # the check sets connect_timeout 2 s (libpq's minimum); the runner waits 1 s
    observe({
        "db_client_first": {"check": CHECKS + "Database", "alias": client_first, "timeout": 4},
        "db_runner_first": {"check": CHECKS + "Database", "alias": runner_first, "timeout": 1},
    })  # fmt: skip
    with django_db_blocker.unblock():
        assert _statuses("db_client_first") == ("timeout", "timeout")
        assert _statuses("db_runner_first") == ("timeout", "timeout")


@pytest.mark.once
def test_a_hung_redis_is_a_timeout_every_time(observe: Callable[..., None], silent_port: int) -> None:
    # Client and runner deadlines are equal here (the check's socket timeout is its timeout): a race every run.
    observe({
        "hung_cache": {"check": CHECKS + "Cache", "alias": "hung", "timeout": 0.3},
        "hung_redis": {"check": CHECKS + "Redis", "url": f"redis://127.0.0.1:{silent_port}/0", "timeout": 0.3},
    })  # fmt: skip
    hung = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": f"redis://127.0.0.1:{silent_port}/0"}
    # Inside observe()'s override, so the two overrides unwind in order.
    with override_settings(CACHES={**settings.CACHES, "hung": hung}):
        for _ in range(3):
            assert _statuses("hung_cache") == ("timeout", "timeout")
            assert _statuses("hung_redis") == ("timeout", "timeout")


def test_a_socket_timeout_escaping_a_custom_check_is_a_timeout(observe: Callable[..., None], silent_port: int) -> None:
    observe({"search": {"check": "tests.hardening.probes.SilentSocket", "port": silent_port, "read_timeout": 0.2, "timeout": 3}})
    for _ in range(3):
        [result] = health_runner.runner.run(health_runner.specs(names=["search"]), max_age=0)
        assert (result.status, result.error_class, result.message) == ("timeout", "TimeoutError", "No answer in time (TimeoutError)")
        assert health_runner.overall([result]) == "unhealthy"


# --- incidents of checks that no longer exist -----------------------------------------------------


def _fails(name: str) -> CheckResult:
    return CheckResult(name, "fail", 0.01, True, f"{name} is down", "ConnectionError")


@pytest.mark.django_db
def test_an_incident_of_a_removed_check_closes_at_the_next_recorded_run(observe: Callable[..., None]) -> None:
    observe({"search": "tests.health.probes.Fails", "ok": "tests.health.probes.Counting"}, HEALTH_FAILURE_THRESHOLD=1)
    history.record([_fails("search"), CheckResult("ok", "pass", 0.01, True)], trigger="test")
    assert HealthIncident.objects.get(check_name="search").is_open
    # A run of a subset (observe_check --check ok) leaves the configured check's incident alone.
    history.record([CheckResult("ok", "pass", 0.01, True)], trigger="test")
    assert HealthIncident.objects.get(check_name="search").is_open

    observe({"ok": "tests.health.probes.Counting"}, HEALTH_FAILURE_THRESHOLD=1)  # "search" was removed
    run = history.record([CheckResult("ok", "pass", 0.01, True)], trigger="test")
    incident = HealthIncident.objects.get(check_name="search")
    assert incident.resolved_at == run.started_at


# --- admin permissions ------------------------------------------------------------------------------

HEALTH_PAGES = {
    "view_health": "/admin/django_observe/health/",
    "view_healthcheckrun": "/admin/django_observe/healthcheckrun/",
    "view_healthincident": "/admin/django_observe/healthincident/",
}


def _staff(*codenames: str) -> Client:
    user = User.objects.create(username="staff-" + "-".join(codenames or ("none",)), is_staff=True)  # force_login: no password hashing
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_health_admin_pages_follow_model_view_permissions(observe: Callable[..., None], admin_client: Client) -> None:
    observe({"ok": "tests.health.probes.Counting"})
    history.record([CheckResult("ok", "pass", 0.01, True)], trigger="test")
    run_page = f"/admin/django_observe/healthcheckrun/{history.HealthCheckRun.objects.get().pk}/change/"
    for url in [*HEALTH_PAGES.values(), run_page]:
        assert admin_client.get(url).status_code == 200, url

    nobody = _staff()
    for url in [*HEALTH_PAGES.values(), run_page, "/admin/django_observe/errorgroup/"]:
        assert nobody.get(url).status_code == 403, url
    index = nobody.get("/admin/").content.decode()
    assert "/admin/django_observe/" not in index  # no Observability section at all

    for codename, url in HEALTH_PAGES.items():
        reader = _staff(codename)
        assert reader.get(url).status_code == 200, url
        for other in set(HEALTH_PAGES.values()) - {url}:
            assert reader.get(other).status_code == 403, (codename, other)
        assert url in reader.get("/admin/").content.decode()
