"""Label values stay bounded whatever clients send; latency is observed once per request."""

from __future__ import annotations

import random
import string
import uuid
from typing import Any

import pytest
from django.test import AsyncClient, Client

from django_observe.metrics import KNOWN_METHODS, OTHER_METHOD, UNRESOLVED_ENDPOINT

from .helpers import samples, scrape_text, series_of, value

pytestmark = pytest.mark.django_db

HTTP_FAMILIES = ("http_requests_total", "http_request_duration_seconds_count", "slow_requests_total", "exceptions_total")


def test_methods_and_paths_from_a_scanner_add_a_bounded_predictable_set_of_series() -> None:
    rng = random.Random(5)
    client = Client(raise_request_exception=False)
    before = samples(scrape_text())
    odd_methods = ["FOO", "PROPFIND"] + ["X" + "".join(rng.choices(string.ascii_uppercase, k=rng.randint(3, 9))) for _ in range(20)]
    for method in odd_methods:
        assert client.generic(method, "/fast/").status_code == 200
    pks = rng.sample(range(1, 10**9), 500)
    for pk in pks:
        assert client.get(f"/items/{pk}/").status_code == 404  # no such item: resolved route, 404
    for _ in range(100):
        assert client.get(f"/{uuid.uuid4().hex}/{rng.randint(0, 10**6)}").status_code == 404
    after = samples(scrape_text())

    new_series = {(name, labels) for (name, labels) in after if name in HTTP_FAMILIES and (name, labels) not in before}
    expected_possible = {
        ("http_requests_total", frozenset({"method": OTHER_METHOD, "endpoint": "fast/", "status_code": "200"}.items())),
        ("http_requests_total", frozenset({"method": "GET", "endpoint": "items/<int:pk>/", "status_code": "404"}.items())),
        ("http_requests_total", frozenset({"method": "GET", "endpoint": UNRESOLVED_ENDPOINT, "status_code": "404"}.items())),
        ("http_request_duration_seconds_count", frozenset({"method": OTHER_METHOD, "endpoint": "fast/"}.items())),
        ("http_request_duration_seconds_count", frozenset({"method": "GET", "endpoint": "items/<int:pk>/"}.items())),
        ("http_request_duration_seconds_count", frozenset({"method": "GET", "endpoint": UNRESOLVED_ENDPOINT}.items())),
        # the scrape itself
        ("http_requests_total", frozenset({"method": "GET", "endpoint": "metrics", "status_code": "200"}.items())),
        ("http_request_duration_seconds_count", frozenset({"method": "GET", "endpoint": "metrics"}.items())),
    }
    # 622 requests with 22 verbs and 600 distinct paths: at most 8 new series, whatever ran before.
    assert new_series <= expected_possible, sorted(new_series - expected_possible)
    for name in ("http_requests_total", "http_request_duration_seconds_count"):
        all_series = series_of(after, name)
        methods = {dict(labels)["method"] for labels in all_series}
        endpoints = {dict(labels)["endpoint"] for labels in all_series}
        assert methods <= {*KNOWN_METHODS, OTHER_METHOD}, methods
        assert not any(ep.startswith(("items/1", "items/2", "items/3")) or len(ep) >= 32 for ep in endpoints), endpoints
    assert len(series_of(after, "http_requests_total")) - len(series_of(before, "http_requests_total")) <= 4

    def delta(**labels: str) -> float:
        return value(after, "http_requests_total", **labels) - value(before, "http_requests_total", **labels)

    assert delta(method=OTHER_METHOD, endpoint="fast/", status_code="200") == 22
    assert delta(method="GET", endpoint="items/<int:pk>/", status_code="404") == 500
    assert delta(method="GET", endpoint=UNRESOLVED_ENDPOINT, status_code="404") == 100


def test_latency_is_observed_once_for_a_raising_view() -> None:
    client = Client(raise_request_exception=False)
    before = samples(scrape_text())
    for _ in range(7):
        assert client.get("/boom/").status_code == 500
    after = samples(scrape_text())
    labels = {"method": "GET", "endpoint": "boom/"}
    assert (
        value(after, "http_request_duration_seconds_count", **labels) - value(before, "http_request_duration_seconds_count", **labels) == 7
    )
    assert (
        value(after, "http_requests_total", **labels, status_code="500") - value(before, "http_requests_total", **labels, status_code="500")
        == 7
    )
    exc = {"type": "RuntimeError", "endpoint": "boom/"}
    assert value(after, "exceptions_total", **exc) - value(before, "exceptions_total", **exc) == 7
    bucket = {**labels, "le": "+Inf"}
    assert (
        value(after, "http_request_duration_seconds_bucket", **bucket) - value(before, "http_request_duration_seconds_bucket", **bucket)
        == 7
    )


@pytest.mark.asyncio
async def test_latency_is_observed_once_for_a_raising_view_under_asgi(settings: Any) -> None:
    from asgiref.sync import sync_to_async

    # Errors are not this test's subject: captured on asgiref's thread, outside the test's
    # transaction, they would be committed and seen by later tests.
    settings.OBSERVE = {**settings.OBSERVE, "ERRORS_ENABLED": False}
    client = AsyncClient(raise_request_exception=False)
    before = samples(await sync_to_async(scrape_text)())
    for _ in range(3):
        assert (await client.get("/boom/")).status_code == 500
    assert (await client.get("/async/")).status_code == 200
    after = samples(await sync_to_async(scrape_text)())
    labels = {"method": "GET", "endpoint": "boom/"}
    assert (
        value(after, "http_request_duration_seconds_count", **labels) - value(before, "http_request_duration_seconds_count", **labels) == 3
    )
    async_labels = {"method": "GET", "endpoint": "async/", "status_code": "200"}
    assert value(after, "http_requests_total", **async_labels) - value(before, "http_requests_total", **async_labels) == 1
    # AsyncClient keeps Django from closing connections at request end; the failing requests
    # opened one on asgiref's long-lived thread (error capture): close it, or PostgreSQL refuses
    # to drop the test database.
    from django.db import connections

    await sync_to_async(connections.close_all)()


def test_slow_requests_are_counted_and_in_progress_returns_to_zero() -> None:
    from .conftest import observe

    client = Client()
    with observe(SLOW_REQUEST_THRESHOLD=0.0):
        before = samples(scrape_text())
        client.get("/fast/")
        after = samples(scrape_text())
    labels = {"method": "GET", "endpoint": "fast/"}
    assert value(after, "slow_requests_total", **labels) - value(before, "slow_requests_total", **labels) == 1
    # Only the scrape that reads the gauge is in flight.
    assert value(after, "http_requests_in_progress") == 1


def test_streaming_response_is_counted_once_when_the_body_ends() -> None:
    client = Client()
    before = samples(scrape_text())
    response = client.get("/stream/")
    assert b"".join(response.streaming_content) == b"chunk 0\nchunk 1\nchunk 2\n"
    response.close()
    after = samples(scrape_text())
    labels = {"method": "GET", "endpoint": "stream/"}
    assert (
        value(after, "http_request_duration_seconds_count", **labels) - value(before, "http_request_duration_seconds_count", **labels) == 1
    )
