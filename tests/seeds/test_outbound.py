"""Outbound calls: observe.dependency() and the requests/httpx hooks against a real local HTTP service."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
from django.test import AsyncClient, Client, override_settings

from django_observe import context, observe, outbound
from tests.servers import free_port

from .conftest import observe as observe_settings
from .conftest import scraped
from .echo import Echo, echo_server

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def echo() -> Iterator[Echo]:
    with echo_server() as server:
        yield server


@pytest.fixture
def hooked(echo: Echo) -> Iterator[Echo]:
    """Both hooks on; the echo service is "echo", localhost is left unmapped."""
    with observe_settings(OUTBOUND_HOOKS=["requests", "httpx"], OUTBOUND_SERVICES={f"127.0.0.1:{echo.port}": "echo"}):
        assert outbound.install_hooks() == ["requests", "httpx"]
        echo.received.clear()
        try:
            yield echo
        finally:
            outbound.uninstall_hooks()


def _counts(service: str, operation: str) -> dict[str, float]:
    return {
        "200": scraped("external_requests_total", service=service, operation=operation, status="200"),
        "500": scraped("external_requests_total", service=service, operation=operation, status="500"),
        "error": scraped("external_requests_total", service=service, operation=operation, status="error"),
        "timed": scraped("external_request_duration_seconds_count", service=service, operation=operation),
        "http_5xx": scraped("external_request_errors_total", service=service, operation=operation, error="http_5xx"),
    }


def _delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {key: after[key] - before[key] for key in before}


def _refused_url() -> str:
    return f"http://127.0.0.1:{free_port()}/ok"  # nothing listens there


def test_requests_calls_are_counted_with_status_and_error_labels(hooked: Echo) -> None:
    get, post = _counts("echo", "GET"), _counts("echo", "POST")
    refused = scraped("external_request_errors_total", service="other", operation="GET", error="ConnectionError")
    assert requests.get(hooked.url + "/ok", timeout=5).status_code == 200
    assert requests.post(hooked.url + "/fail", data=b"x", timeout=5).status_code == 500
    with pytest.raises(requests.ConnectionError):
        requests.get(_refused_url(), timeout=5)
    assert _delta(get, _counts("echo", "GET")) == {"200": 1, "500": 0, "error": 0, "timed": 1, "http_5xx": 0}
    assert _delta(post, _counts("echo", "POST")) == {"200": 0, "500": 1, "error": 0, "timed": 1, "http_5xx": 1}
    # The refused port is another host:port, so it is the unmapped service.
    assert scraped("external_request_errors_total", service="other", operation="GET", error="ConnectionError") == refused + 1
    assert scraped("external_requests_total", service="other", operation="GET", status="error") >= 1


def test_httpx_calls_sync_and_async_are_counted(hooked: Echo) -> None:
    get = _counts("echo", "GET")
    refused = scraped("external_request_errors_total", service="other", operation="GET", error="ConnectError")
    assert httpx.get(hooked.url + "/ok").status_code == 200
    with httpx.Client() as client:
        assert client.get(hooked.url + "/fail").status_code == 500
        with pytest.raises(httpx.ConnectError):
            client.get(_refused_url())

    async def calls() -> None:
        async with httpx.AsyncClient() as client:
            assert (await client.get(hooked.url + "/ok")).status_code == 200
            assert (await client.get(hooked.url + "/fail")).status_code == 500
            with pytest.raises(httpx.ConnectError):
                await client.get(_refused_url())

    asyncio.run(calls())
    assert _delta(get, _counts("echo", "GET")) == {"200": 2, "500": 2, "error": 0, "timed": 4, "http_5xx": 2}
    assert scraped("external_request_errors_total", service="other", operation="GET", error="ConnectError") == refused + 2


def test_a_redirect_is_one_call_with_the_final_status(hooked: Echo) -> None:
    get = _counts("echo", "GET")
    assert requests.get(hooked.url + "/redirect", timeout=5).status_code == 200
    assert httpx.get(hooked.url + "/redirect", follow_redirects=True).status_code == 200
    assert [path for path, _ in hooked.received] == ["/redirect", "/ok", "/redirect", "/ok"]
    assert _delta(get, _counts("echo", "GET"))["200"] == 2 and _delta(get, _counts("echo", "GET"))["timed"] == 2


def test_unmapped_hosts_count_as_one_service_or_not_at_all(hooked: Echo) -> None:
    localhost = f"http://localhost:{hooked.port}/ok"
    before = scraped("external_requests_total", service="other", operation="GET", status="200")
    requests.get(localhost, timeout=5)
    assert scraped("external_requests_total", service="other", operation="GET", status="200") == before + 1
    with observe_settings(OUTBOUND_HOOKS=["requests"], OUTBOUND_SERVICES={}, OUTBOUND_UNMAPPED_SERVICE=""):
        requests.get(localhost, timeout=5)
    assert scraped("external_requests_total", service="other", operation="GET", status="200") == before + 1


def test_hosts_are_mapped_by_port_host_and_wildcard() -> None:
    with observe_settings(OUTBOUND_SERVICES={"api.example.com": "example", "*.googleapis.com": "google", "db:8000": "db8000"}):
        assert outbound.service_for("API.example.com", 443) == "example"
        assert outbound.service_for("generativelanguage.googleapis.com", None) == "google"
        assert outbound.service_for("db", 8000) == "db8000"
        assert outbound.service_for("db", 9000) == "other"


def test_hooks_do_nothing_unless_named(echo: Echo) -> None:
    with observe_settings(OUTBOUND_HOOKS=["httpx"], OUTBOUND_SERVICES={f"127.0.0.1:{echo.port}": "echo"}):
        outbound.install_hooks()
        try:
            before = scraped("external_requests_total", service="echo")
            requests.get(echo.url + "/ok", timeout=5)
            assert scraped("external_requests_total", service="echo") == before
        finally:
            outbound.uninstall_hooks()
    assert not hasattr(requests.Session.send, "django_observe_original"), "uninstalled"


@pytest.mark.parametrize("client", ["requests", "httpx"])
def test_the_request_id_goes_out_when_enabled(hooked: Echo, client: str) -> None:
    target = f"/call/?client={client}&url={hooked.url}/ok"
    with override_settings(ROOT_URLCONF="tests.seeds.urls_outbound"):
        assert Client().get(target, HTTP_X_REQUEST_ID="caller-off").json() == {"status": 200}
        with observe_settings(OUTBOUND_HOOKS=["requests", "httpx"], OUTBOUND_REQUEST_ID=True):
            assert Client().get(target, HTTP_X_REQUEST_ID=f"caller-{client}").json() == {"status": 200}
    assert hooked.received == [("/ok", None), ("/ok", f"caller-{client}")]


def test_the_request_id_goes_out_from_an_async_view(hooked: Echo) -> None:
    with override_settings(ROOT_URLCONF="tests.seeds.urls_outbound"):
        with observe_settings(OUTBOUND_HOOKS=["httpx"], OUTBOUND_REQUEST_ID=True):
            response = asyncio.run(AsyncClient().get(f"/call-async/?url={hooked.url}/ok", headers={"X-Request-ID": "caller-async"}))
    assert response.json() == {"status": 200}
    assert hooked.received == [("/ok", "caller-async")]


def test_a_header_the_caller_set_is_kept(hooked: Echo) -> None:
    with observe_settings(OUTBOUND_HOOKS=["requests"], OUTBOUND_REQUEST_ID=True):
        context.bind_request("ours")
        try:
            requests.get(hooked.url + "/ok", headers={"X-Request-ID": "theirs"}, timeout=5)
            assert observe.outbound_headers() == {"X-Request-ID": "ours"}
        finally:
            context.clear()
    assert hooked.received == [("/ok", "theirs")]
    assert observe.outbound_headers() == {}


# --- observe.dependency ------------------------------------------------------------------------


class QuotaExceeded(Exception):
    pass


def _dep(service: str, status: str) -> float:
    return scraped("external_requests_total", service=service, operation="generate", status=status)


def test_dependency_as_context_manager_and_decorator() -> None:
    gemini = observe.dependency("gemini", "generate")  # one shared instance is fine
    ok, failed = _dep("gemini", "success"), _dep("gemini", "error")
    quota = scraped("external_request_errors_total", service="gemini", operation="generate", error="QuotaExceeded")
    with gemini:
        pass
    with pytest.raises(QuotaExceeded), gemini:
        raise QuotaExceeded("429")

    @gemini
    def generate(prompt: str) -> str:
        return prompt.upper()

    @gemini
    async def agenerate(prompt: str) -> str:
        await asyncio.sleep(0)
        if prompt == "fail":
            raise QuotaExceeded
        return prompt

    async def use_async() -> None:
        async with gemini as call:
            call.status = "blocked"
        assert await agenerate("hi") == "hi"
        with pytest.raises(QuotaExceeded):
            await agenerate("fail")

    assert generate("hi") == "HI"
    asyncio.run(use_async())
    assert _dep("gemini", "success") - ok == 3
    assert _dep("gemini", "error") - failed == 2
    assert _dep("gemini", "blocked") == 1
    assert scraped("external_request_errors_total", service="gemini", operation="generate", error="QuotaExceeded") - quota == 2
    assert scraped("external_request_duration_seconds_count", service="gemini", operation="generate") >= 6


def test_a_hooked_call_inside_a_dependency_block_counts_once_with_its_http_status(hooked: Echo) -> None:
    inner = scraped("external_requests_total", service="echo")
    before = scraped("external_requests_total", service="gemini", operation="generate", status="500")
    errors = scraped("external_request_errors_total", service="gemini", operation="generate", error="http_5xx")
    with observe.dependency("gemini", "generate"):
        requests.post(hooked.url + "/fail", timeout=5)
    assert scraped("external_requests_total", service="echo") == inner
    assert _dep("gemini", "500") == before + 1
    assert scraped("external_request_errors_total", service="gemini", operation="generate", error="http_5xx") == errors + 1


def test_a_broken_metric_never_breaks_the_call(monkeypatch: pytest.MonkeyPatch) -> None:
    from django_observe.metrics import core

    internal = scraped("observe_internal_errors_total", component="outbound")

    def broken() -> Any:
        raise RuntimeError("metrics are down")

    with monkeypatch.context() as patch:
        patch.setattr(core, "get_metrics", broken)
        with observe.dependency("gemini", "generate"):
            result = "served"
    assert result == "served"
    assert scraped("observe_internal_errors_total", component="outbound") == internal + 1
