"""Capture with no DSN: which failures become groups, and that one failure is one event."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
import structlog
from django.core import serializers
from django.test import Client

from django_observe import sentry
from django_observe.errors import intake
from django_observe.logging import make_formatter
from django_observe.models import ErrorEvent, ErrorGroup

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sync_errors")]


def test_a_raising_view_creates_a_group_with_its_request_id(client500: Client) -> None:
    response = client500.get("/boom/", HTTP_X_REQUEST_ID="rid-boom-1")
    assert response.status_code == 500
    group = ErrorGroup.objects.get()
    assert (group.count, group.exc_type, group.title) == (1, "RuntimeError", "RuntimeError: demo failure: the boom view always raises")
    assert group.culprit == "/boom/"
    event = ErrorEvent.objects.get()
    assert event.request_id == "rid-boom-1"
    assert event.data["tags"]["request_id"] == "rid-boom-1"
    assert event.data["request"]["method"] == "GET"
    crash = event.data["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    assert (crash["function"], crash["in_app"]) == ("boom", True)


def test_logger_exception_creates_a_group() -> None:
    try:
        {}["missing"]
    except KeyError:
        logging.getLogger("shop.cart").exception("cart lookup failed")
    group = ErrorGroup.objects.get()
    assert (group.exc_type, group.logger, group.count) == ("KeyError", "shop.cart", 1)


def test_fifty_identical_errors_are_one_group_counted_fifty(client500: Client) -> None:
    for _ in range(50):
        client500.get("/boom/")
    group = ErrorGroup.objects.get()
    assert group.count == 50
    assert sum(group.hourly.values_list("count", flat=True)) == 50


def test_log_errors_differing_by_a_number_share_a_group(client500: Client) -> None:
    client500.get("/log-error/?order=42")
    client500.get("/log-error/?order=43")
    group = ErrorGroup.objects.get()
    assert (group.count, group.title, group.logger) == (2, "order 42 not found", "testproject.demo.views")


def test_two_different_exceptions_are_two_groups() -> None:
    for error in (ValueError("a"), TypeError("b")):
        try:
            raise error
        except Exception as caught:
            sentry.capture_exception(caught)
    assert sorted(ErrorGroup.objects.values_list("exc_type", flat=True)) == ["TypeError", "ValueError"]


def test_one_failure_is_one_event_despite_three_error_lines(client500: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        client500.get("/boom/")
    # Django's "Internal Server Error" and our request_failed line were both logged ...
    names = {record.name for record in caplog.records if record.levelno >= logging.ERROR}
    assert {"django.request", "django_observe.request"} <= names
    # ... but the failure was stored once.
    assert ErrorGroup.objects.get().count == 1
    assert ErrorEvent.objects.count() == 1


def test_an_exception_logged_then_reraised_is_captured_once() -> None:
    error = ValueError("once")
    try:
        try:
            raise error
        except ValueError:
            logging.getLogger("shop").exception("failed")
            raise
    except ValueError as caught:
        assert sentry.capture_exception(caught) is None
    assert ErrorGroup.objects.get().count == 1


def test_structlog_error_lines_are_captured_with_their_event_name() -> None:
    structlog.get_logger("shop.payments").error("payment_failed", provider="acme", api_key="K-SECRET")
    group = ErrorGroup.objects.get()
    assert (group.title, group.logger) == ("payment_failed", "shop.payments")
    assert "K-SECRET" not in json.dumps(ErrorEvent.objects.get().data)


def test_warnings_and_our_own_loggers_are_not_captured() -> None:
    logging.getLogger("shop").warning("just a warning")
    logging.getLogger("django_observe.errors.writes").error("our own failure")
    assert not ErrorGroup.objects.exists()


def test_capture_helpers_add_the_request_id_tags_and_extra(client500: Client) -> None:
    from django_observe import context

    context.bind_request("rid-helper")
    try:
        event_id = sentry.capture_message("nightly import skipped 3 rows", level="warning", tags={"job": "import"}, extra={"rows": 3})
    finally:
        context.clear()
    event = ErrorEvent.objects.get()
    assert event_id is not None and event.event_id.hex == event_id
    assert (event.request_id, event.level) == ("rid-helper", "warning")
    assert event.data["tags"] == {"job": "import", "request_id": "rid-helper"}
    assert event.data["extra"] == {"rows": 3}


SECRETS = {
    "password": "FORM-PASSWORD-VALUE",
    "authorization": "AUTH-HEADER-VALUE",
    "sessionid": "SESSION-COOKIE-VALUE",
    "csrftoken": "CSRF-COOKIE-VALUE",
    "token": "QUERY-TOKEN-VALUE",
    "api_key": "QUERY-APIKEY-VALUE",
    "local": "local-secret-in-frame",  # the /boom/ view's local variable named password
}


def test_secrets_reach_neither_the_stored_rows_nor_the_logs(client500: Client) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(make_formatter("json"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        client500.cookies["sessionid"] = SECRETS["sessionid"]
        client500.cookies["csrftoken"] = SECRETS["csrftoken"]
        response = client500.post(
            f"/boom/?token={SECRETS['token']}&api_key={SECRETS['api_key']}&page=2",
            {"username": "bob", "password": SECRETS["password"]},
            HTTP_AUTHORIZATION=f"Bearer {SECRETS['authorization']}",
        )
    finally:
        root.removeHandler(handler)
    assert response.status_code == 500
    dumped = serializers.serialize("json", [*ErrorGroup.objects.all(), *ErrorEvent.objects.all()])
    logs = stream.getvalue()
    assert "request_failed" in logs and "RuntimeError" in dumped  # both really contain the failure
    leaked = {name: value for name, value in SECRETS.items() if value in dumped or value in logs}
    assert leaked == {}
    request = ErrorEvent.objects.get().data["request"]
    assert request["data"] == {"username": "bob", "password": "[Filtered]"}
    assert request["query_string"] == "token=[Filtered]&api_key=[Filtered]&page=2"


def test_errors_disabled_stores_nothing(observe: Any, client500: Client) -> None:
    observe(ERRORS_ENABLED=False)
    client500.get("/boom/")
    assert not ErrorGroup.objects.exists()
    assert intake.buffer.stats.submitted == 0
