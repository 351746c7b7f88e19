"""Per-request Sentry state in lean mode, and django-structlog's failure signal (issue 12, items 13 and 15).

- Lean mode (no sentry-sdk Django integration, the default): before, nothing forked a Sentry
  isolation scope per request, so every request of a worker had the same trace id and a tag
  set in one view (``sentry_sdk.set_tag``) was on every later event of that worker.
- ``update_failure_response`` (django-structlog's documented signal, sent with the 500 and
  the exception, so receivers can change the response): before, it was never sent.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.core.handlers.asgi import ASGIHandler
from django.test import Client
from django_structlog import signals as structlog_signals

from django_observe.models import ErrorEvent
from tests.asgi import call_asgi

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sync_errors"), pytest.mark.urls("tests.errors.request_views")]


def events_titled(title: str) -> list[dict[str, Any]]:
    return [event.data for event in ErrorEvent.objects.filter(group__title=title).order_by("timestamp", "pk")]


def trace_id(event: dict[str, Any]) -> str:
    return str(event["contexts"]["trace"]["trace_id"])


def test_a_tag_set_in_a_view_stays_in_its_request(client500: Client) -> None:
    assert client500.get("/tag-then-fail/?tier=gold").status_code == 500
    assert client500.get("/fail/").status_code == 500
    assert client500.get("/fail/").status_code == 500
    [tagged] = events_titled("OrderFailed: tagged failure")
    assert tagged["tags"]["customer_tier"] == "gold" and tagged["extra"]["cart_size"] == 3
    later = events_titled("OrderFailed: untagged failure")
    assert len(later) == 2
    for event in later:
        assert "customer_tier" not in event.get("tags", {})
        assert "cart_size" not in event.get("extra", {})


def test_each_request_gets_its_own_trace_id_shared_by_its_events(client500: Client) -> None:
    for _ in range(3):
        client500.get("/fail/")
    client500.get("/log-then-fail/")
    ids = [trace_id(event) for event in events_titled("OrderFailed: untagged failure")]
    assert len(ids) == 3 and len(set(ids)) == 3 and all(len(value) == 32 for value in ids)
    logged, raised = events_titled("order 42 could not be saved") + events_titled("OrderFailed: failure after a logged error")
    assert trace_id(logged) == trace_id(raised) not in ids  # one request: one trace id for its two events
    assert logged["tags"]["request_id"] == raised["tags"]["request_id"]


@pytest.mark.django_db(transaction=True)
def test_under_asgi_each_request_task_has_its_own_scope() -> None:
    application = ASGIHandler()

    async def requests() -> list[int]:
        first = await call_asgi(application, "/tag-then-fail-async/")
        second = await call_asgi(application, "/fail-async/")
        third = await call_asgi(application, "/fail-async/")
        return [first[0], second[0], third[0]]

    assert asyncio.run(requests()) == [500, 500, 500]
    [tagged] = events_titled("OrderFailed: tagged async failure")
    later = events_titled("OrderFailed: untagged async failure")
    assert tagged["tags"]["customer_tier"] == "async-gold"
    assert [event["tags"].get("customer_tier") for event in later] == [None, None]
    assert len({trace_id(event) for event in [tagged, *later]}) == 3


def test_an_incoming_sentry_trace_header_is_continued(client500: Client) -> None:
    incoming = "771a43a4192642f0b136d5159a501700"
    client500.get("/fail/", HTTP_SENTRY_TRACE=f"{incoming}-1234567890abcdef-1")
    assert trace_id(events_titled("OrderFailed: untagged failure")[0]) == incoming


def test_update_failure_response_is_sent_with_the_500_and_its_receivers_change_it(client500: Client) -> None:
    calls: list[dict[str, Any]] = []

    def receiver(sender: Any, request: Any, response: Any, logger: Any, exception: BaseException, **kwargs: Any) -> None:
        calls.append({"path": request.path, "status": response.status_code, "exception": exception, "logger": logger})
        response["X-Failure-Kind"] = type(exception).__name__

    structlog_signals.update_failure_response.connect(receiver, dispatch_uid="test-failure-response")
    try:
        failed = client500.get("/fail/")
        answered = client500.get("/ok/")
        missing = client500.get("/missing/")
    finally:
        structlog_signals.update_failure_response.disconnect(dispatch_uid="test-failure-response")
    assert (failed.status_code, failed["X-Failure-Kind"]) == (500, "OrderFailed")
    assert answered.status_code == 200 and "X-Failure-Kind" not in answered
    assert missing.status_code == 404 and "X-Failure-Kind" not in missing  # as django-structlog: not for Http404
    [call] = calls
    assert (call["path"], call["status"], str(call["exception"])) == ("/fail/", 500, "untagged failure")
    assert hasattr(call["logger"], "info")  # a logger, as django-structlog passes its own
