"""Issue 12 item 17: Prometheus scraping a pod by IP over HTTP gets its metrics behind ALLOWED_HOSTS and
SECURE_SSL_REDIRECT. ObserveMiddleware answers such a scrape first, as it answers the probes.

Fails before the fix: ``Host: 10.1.2.3:8000`` with ``ALLOWED_HOSTS=["example.com"]`` and
``SECURE_SSL_REDIRECT=True`` got a 400 (DisallowedHost while building the redirect), with any token.
Only scrapes that need no session are answered first; everything else meets the stack as before.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import AsyncClient, Client, override_settings

from django_observe.metrics import UNRESOLVED_ENDPOINT
from tests.metrics.helpers import TOKEN, samples, value

pytestmark = pytest.mark.django_db

BEHIND_THE_STACK = {
    "ALLOWED_HOSTS": ["example.com"],
    "SECURE_SSL_REDIRECT": True,
    "MIDDLEWARE": [*settings.MIDDLEWARE, "django.contrib.auth.middleware.LoginRequiredMiddleware"],
}
POD = "10.1.2.3:8000"
BEARER = f"Bearer {TOKEN}"


@pytest.fixture
def production() -> Iterator[None]:
    """The production stack, with the scrape token."""
    with override_settings(OBSERVE={**settings.OBSERVE, "METRICS_TOKENS": [TOKEN]}, **BEHIND_THE_STACK):
        yield


def _get(host: str, **headers: str) -> tuple[int, bytes]:
    response = Client().get("/metrics", HTTP_HOST=host, **headers)
    return response.status_code, response.content


@pytest.mark.usefixtures("production")
def test_a_scrape_of_a_pod_by_ip_with_the_token_gets_200() -> None:
    assert Client().get("/fast/", HTTP_HOST=POD).status_code == 400, "the host check is active for the site"
    assert Client().get("/fast/", HTTP_HOST="example.com").status_code == 301, "and so is the SSL redirect"
    status, body = _get(POD, HTTP_AUTHORIZATION=BEARER)
    assert status == 200, body[:300]
    found = samples(body.decode())
    assert (
        value(found, "http_requests_total", method="GET", endpoint=UNRESOLVED_ENDPOINT, status_code="301") >= 1
    )  # redirected before routing
    for host in ("[fd00::1]:8000", "app.default.svc:8000", "10.1.2.3"):  # IPv6 pod, a Service name, no port
        assert _get(host, HTTP_AUTHORIZATION=BEARER)[0] == 200, host


@pytest.mark.usefixtures("production")
def test_the_early_scrape_is_counted_and_logged_like_any_scrape(json_logs) -> None:  # type: ignore[no-untyped-def]
    assert _get(POD, HTTP_AUTHORIZATION=BEARER)[0] == 200
    found = samples(_get(POD, HTTP_AUTHORIZATION=BEARER)[1].decode())
    assert value(found, "http_requests_total", method="GET", endpoint="metrics", status_code="200") >= 1
    assert [line["route"] for line in json_logs.events("request_finished") if line["request"] == "GET /metrics"] == ["metrics"] * 2


@pytest.mark.usefixtures("production")
def test_without_the_token_the_stack_decides_as_before() -> None:
    assert _get(POD)[0] == 400
    assert _get(POD, HTTP_AUTHORIZATION="Bearer wrong-token-0123456789")[0] == 400
    assert _get("example.com")[0] == 301
    # A staff session goes through the whole stack: https and an allowed host.
    client = Client()
    client.force_login(User.objects.create(username="ops", is_staff=True))
    assert client.get("/metrics", HTTP_HOST=POD).status_code == 400
    assert client.get("/metrics", HTTP_HOST="example.com", secure=True).status_code == 200


def test_an_allowed_address_needs_an_ip_host_or_an_allowed_host() -> None:
    with override_settings(OBSERVE={**settings.OBSERVE, "METRICS_ALLOWED_IPS": ["127.0.0.1"]}, **BEHIND_THE_STACK):
        assert _get(POD)[0] == 200  # Prometheus inside the allowed network, by pod IP
        assert _get("example.com")[0] == 200
        # A browser in the allowed network fooled by DNS rebinding sends the attacker's host name: refused as before.
        assert _get("rebind.attacker.example")[0] == 400


@pytest.mark.usefixtures("production")
def test_asgi_scrape_of_a_pod_by_ip() -> None:
    import asyncio

    async def scrape() -> int:
        response = await AsyncClient().get("/metrics", headers={"Host": POD, "Authorization": BEARER})
        return response.status_code

    assert asyncio.run(scrape()) == 200


def test_a_site_that_does_not_route_metrics_gets_nothing_new() -> None:
    with override_settings(OBSERVE={**settings.OBSERVE, "METRICS_TOKENS": [TOKEN]}, ROOT_URLCONF="tests.hardening.urls_no_metrics"):
        assert _get("127.0.0.1", HTTP_AUTHORIZATION=BEARER)[0] == 404
