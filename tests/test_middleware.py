"""ObserveMiddleware: what it adds to every response, and that its own failures never reach the user."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django_structlog import signals as structlog_signals
from prometheus_client import REGISTRY

from django_observe import guard

pytestmark = pytest.mark.django_db


def _middleware_failures() -> float:
    return REGISTRY.get_sample_value("observe_internal_errors_total", {"component": "middleware"}) or 0.0


def test_a_failure_inside_the_middleware_is_counted_logged_once_and_the_page_is_served(caplog: pytest.LogCaptureFixture) -> None:
    def broken_receiver(**kwargs: Any) -> None:
        raise RuntimeError("a django-structlog receiver of the host is broken")

    guard.forget_logged()
    Client().get("/fast/")  # metrics exist before we count
    before = _middleware_failures()
    structlog_signals.bind_extra_request_metadata.connect(broken_receiver, dispatch_uid="tests.broken_receiver")
    try:
        responses = [Client().get("/fast/", HTTP_X_REQUEST_ID=f"mw-{i}") for i in range(3)]
    finally:
        structlog_signals.bind_extra_request_metadata.disconnect(dispatch_uid="tests.broken_receiver")
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert [r["X-Request-ID"] for r in responses] == ["mw-0", "mw-1", "mw-2"]  # the id was bound before the failure
    assert _middleware_failures() == before + 3
    assert [r.getMessage() for r in caplog.records].count(
        "ObserveMiddleware failed; the request was served without part of its telemetry "
        "(component middleware; logged once per process, counted in observe_internal_errors_total)."
    ) == 1


def test_expose_headers_only_for_cors_requests_and_appended_to_what_is_there() -> None:
    plain = Client().get("/fast/")
    assert plain["X-Request-ID"] and "Access-Control-Expose-Headers" not in plain
    cors = Client().get("/fast/", HTTP_ORIGIN="https://app.example.com")
    assert cors["Access-Control-Expose-Headers"] == "X-Request-ID"
    assert "Origin" in cors["Vary"]
    existing = Client().get("/cors/", HTTP_ORIGIN="https://app.example.com")  # the view sets its own list
    assert [part.strip() for part in existing["Access-Control-Expose-Headers"].split(",")][-1] == "X-Request-ID"


def test_probes_are_answered_before_the_rest_of_the_stack(settings: Any) -> None:
    # SecurityMiddleware would redirect every plain-HTTP request; the liveness probe must not be.
    settings.SECURE_SSL_REDIRECT = True
    assert Client().get("/fast/").status_code == 301
    live = Client().get("/health/live")
    assert live.status_code == 200 and live.json()["alive"] is True and live["X-Request-ID"]
