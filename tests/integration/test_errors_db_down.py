"""The error database is unreachable while an error is captured: the user still gets the normal 500,
nothing is raised into the caller, the drop is counted and logged once."""

from __future__ import annotations

import copy
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections
from django.test import Client
from prometheus_client import REGISTRY

from django_observe import sentry
from django_observe.errors import intake
from tests.errors.conftest import _fresh_store, observe  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture(scope="module", autouse=True)
def _async_unsafe_after_playwright() -> Iterator[None]:
    """When a Playwright test ran earlier in the session, its event loop still runs in the main
    thread and Django's async-safety guard refuses the ORM calls made here (and the table flush
    after a transactional test, which comes after function fixtures are undone: hence module scope)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


DOWN = "observe_errors_down"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


@pytest.fixture
def unreachable_alias() -> Iterator[str]:
    """A database alias that cannot be reached: a closed port on PostgreSQL, a missing directory on SQLite."""
    config = copy.deepcopy(connections.settings["default"])
    if config["ENGINE"].endswith("postgresql"):
        config.update(HOST="127.0.0.1", PORT=_closed_port(), NAME="nowhere", OPTIONS={"connect_timeout": 2})
    else:
        config.update(NAME="/nonexistent-observe-dir/errors.sqlite3", TEST={"NAME": None})
    connections.settings[DOWN] = config
    try:
        yield DOWN
    finally:
        if hasattr(connections._connections, DOWN):
            connections[DOWN].close()
            delattr(connections._connections, DOWN)
        del connections.settings[DOWN]


def dropped() -> float:
    return REGISTRY.get_sample_value("observe_internal_errors_total", {"component": "errors_dropped"}) or 0.0


@pytest.mark.parametrize("sync", [True, False], ids=["inline", "writer-thread"])
def test_unreachable_error_database_never_breaks_the_request(
    sync: bool,
    unreachable_alias: str,
    observe: Any,  # noqa: F811  (the pytest fixture imported above)
    caplog: pytest.LogCaptureFixture,
) -> None:
    observe(ERRORS_SYNC=sync, ERRORS_DATABASE=unreachable_alias)
    sentry.init_sentry()
    before = dropped()
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.WARNING, logger="django_observe"):
        responses = [client.get("/boom/") for _ in range(3)]
        assert intake.flush(20)
    assert [r.status_code for r in responses] == [500, 500, 500]
    assert b"Server Error" in responses[0].content  # Django's normal 500 page
    assert intake.buffer.stats.dropped_db == 3
    assert dropped() - before == 3
    warnings = [r for r in caplog.records if "Captured errors are being dropped" in r.getMessage()]
    assert len(warnings) == 1 and repr(unreachable_alias) in warnings[0].getMessage()
