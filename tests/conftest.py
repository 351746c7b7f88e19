"""Shared fixtures. Service fixtures skip on a casual run without the service, and FAIL when
OBSERVE_REQUIRE_SERVICES=1 (set by scripts/test.sh, hence by CI): a missing service never hides a test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import NoReturn

import pytest

REQUIRE_SERVICES = os.environ.get("OBSERVE_REQUIRE_SERVICES") == "1"

# Captured errors are stored inline during tests (inside the test's transaction), unless a test
# sets ERRORS_SYNC=False to test the writer thread: a writer with its own connection would see an
# empty in-memory SQLite database, or commit rows on PostgreSQL that later tests would count.
os.environ["OBSERVE_ERRORS_SYNC"] = "1"
from django_observe.conf import get_settings  # noqa: E402

get_settings.cache_clear()


def missing(what: str, remedy: str) -> NoReturn:
    """A service, tool or device the test needs is absent: fail under scripts/test.sh (CI), skip a casual run."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{what}; {remedy}")
    pytest.skip(what)


def _service(variable: str, what: str) -> str:
    if url := os.environ.get(variable):
        return url
    missing(f"{variable} is not set: no real {what} for this run", "scripts/test.sh sets it")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """postgres://... of a real PostgreSQL the test may create databases in (env PG_URL)."""
    return _service("PG_URL", "PostgreSQL")


@pytest.fixture(scope="session")
def redis_url() -> str:
    return _service("REDIS_URL", "Redis")


@pytest.fixture(scope="session")
def broker_url() -> str:
    return _service("CELERY_BROKER_URL", "RabbitMQ broker")


def require_binary(name: str) -> str:
    """Path of a system binary (prometheus, promtool, chromium); fails loudly under scripts/test.sh."""
    path = shutil.which(name)
    if path:
        return path
    missing(f"{name} is not installed", "scripts/test.sh installs it with apt-get")


# Playwright drives the system Chromium (no browser downloads here); see RECIPES.md section 4.
@pytest.fixture
def allow_async_unsafe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Browser tests only: Playwright's sync API runs an event loop, which makes Django's DB
    fixtures refuse to run. Set per test, never globally: elsewhere that error finds real bugs."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:  # type: ignore[type-arg]
    executable = require_binary("chromium")
    return {**browser_type_launch_args, "executable_path": executable, "args": ["--no-sandbox", "--disable-gpu"]}


class LogCapture:
    """Every line our formatter renders while attached to the root logger, as text and as parsed JSON."""

    def __init__(self, log_format: str = "json") -> None:
        import io
        import logging

        from django_observe.logging import make_formatter

        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(make_formatter(log_format))

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    @property
    def lines(self) -> list[dict]:  # type: ignore[type-arg]
        import json

        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def events(self, name: str) -> list[dict]:  # type: ignore[type-arg]
        return [line for line in self.lines if line.get("event") == name]


def _attached(log_format: str) -> Iterator[LogCapture]:
    import logging

    capture = LogCapture(log_format)
    root = logging.getLogger()
    root.addHandler(capture.handler)
    try:
        yield capture
    finally:
        root.removeHandler(capture.handler)


@pytest.fixture
def json_logs() -> Iterator[LogCapture]:
    """Capture rendered JSON log lines (the real formatter, attached to the root logger)."""
    yield from _attached("json")


@pytest.fixture
def console_logs() -> Iterator[LogCapture]:
    """Capture rendered console-format log lines."""
    yield from _attached("console")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order and select for the matrix.

    Browser tests go last: Playwright's sync API leaves an event loop running in the main thread
    for the rest of the session, and asyncio.run() refuses to start under a running loop.
    Tests parametrized over a ``backend`` (sqlite / postgresql) run only their own database's
    case in a nox session that names one (OBSERVE_TEST_BACKEND): the matrix covers both, once each.
    """
    backend = os.environ.get("OBSERVE_TEST_BACKEND")
    if backend:
        other = [item for item in items if getattr(item, "callspec", None) and item.callspec.params.get("backend", backend) != backend]
        if other:
            config.hook.pytest_deselected(items=other)
            items[:] = [item for item in items if item not in other]
    if os.environ.get("OBSERVE_INTEGRATION") == "0":
        # The second Python/Django combination of the matrix runs the in-process tests only (noxfile.py).
        integration = [item for item in items if item.get_closest_marker("integration")]
        if integration:
            config.hook.pytest_deselected(items=integration)
            items[:] = [item for item in items if item not in integration]
    if os.environ.get("OBSERVE_RUN_ONCE") == "0":
        # Backend- and version-independent slow tests run in one matrix combination only (noxfile.py).
        once = [item for item in items if item.get_closest_marker("once")]
        if once:
            config.hook.pytest_deselected(items=once)
            items[:] = [item for item in items if item not in once]
    browser = [item for item in items if {"page", "browser"} & set(getattr(item, "fixturenames", ()))]
    if browser:
        items[:] = [item for item in items if item not in browser] + browser


@pytest.fixture(autouse=True)
def _close_connections_of_asgirefs_thread() -> Iterator[None]:
    """Async tests (AsyncClient, async views) run ORM calls on asgiref's long-lived sync thread, and
    Django's test clients keep it from closing connections at request end. Close them after each test:
    a connection left open there makes PostgreSQL refuse to drop the test database."""
    yield
    import asyncio

    from asgiref.sync import SyncToAsync, sync_to_async
    from django.db import connections

    if not getattr(SyncToAsync.single_thread_executor, "_threads", None):
        return  # that thread never ran
    try:
        asyncio.get_running_loop()
        return  # under Playwright's loop (browser tests, which run last)
    except RuntimeError:
        asyncio.run(sync_to_async(connections.close_all)())


@pytest.fixture(autouse=True)
def _write_waiting_log_lines() -> Iterator[None]:
    """Log lines wait for their batch (LOG_BUFFER_SECONDS): write them while this test's output is still captured."""
    yield
    from django_observe.logging import flush_lines

    flush_lines()
