"""One corpus of secrets through every output: JSON log, console log, stored event, Sentry envelope,
admin HTML, health and metrics output. Zero hits.

Fails on the old main: the log line printed X-Api-Key, auth, access_key, passphrase, pin, ssn, the
?token= in a string value and the DSN's password (logging.py and errors/scrub.py disagreed).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from django.test import Client

from django_observe import sentry
from django_observe.models import ErrorEvent, ErrorGroup
from tests.conftest import LogCapture, _attached
from tests.errors.support import EnvelopeReceiver

from .leak_urls import SECRETS

pytestmark = pytest.mark.django_db

METRICS_TOKEN = "parity-metrics-token-0123456789"
HEALTH_TOKEN = "parity-health-token-0123456789"


def _hits(text: str) -> list[str]:
    return [name for name, value in SECRETS.items() if value in text]


@pytest.fixture
def receiver() -> Iterator[EnvelopeReceiver]:
    server = EnvelopeReceiver()
    yield server
    server.close()


def _request_the_leak(client: Client) -> None:
    client.cookies["sessionid"] = SECRETS["cookie"]
    response = client.post(
        f"/leak/?token={SECRETS['query']}&page=1",
        {"password": SECRETS["form"], "username": "bob"},
        HTTP_AUTHORIZATION=f"Bearer {SECRETS['header']}",
        HTTP_X_API_KEY=SECRETS["api_key_header"],
    )
    assert response.status_code == 500


def test_no_secret_reaches_any_output(settings: Any, receiver: EnvelopeReceiver, admin_client: Client) -> None:
    settings.ROOT_URLCONF = "tests.hardening.leak_urls"
    settings.OBSERVE = {
        **settings.OBSERVE,
        "ERRORS_SYNC": True,
        "SENTRY_DSN": receiver.dsn,
        "METRICS_TOKENS": [METRICS_TOKEN],
        "HEALTH_TOKENS": [HEALTH_TOKEN],
        "HEALTH_CHECKS": {"leaky": {"check": "tests.hardening.leak_urls.LeakyCheck", "critical": False}},
    }
    ErrorGroup.objects.all().delete()
    outputs: dict[str, str] = {}
    json_capture: Iterator[LogCapture] = _attached("json")
    console_capture: Iterator[LogCapture] = _attached("console")
    json_logs, console_logs = next(json_capture), next(console_capture)
    sentry.init_sentry()
    try:
        _request_the_leak(Client(raise_request_exception=False))
        sentry_sdk.flush(10)
        envelopes = receiver.wait_for(1)
    finally:
        for capture in (json_capture, console_capture):
            next(capture, None)
        settings.OBSERVE = {**settings.OBSERVE, "SENTRY_DSN": ""}
        sentry.init_sentry()
    outputs["json log"] = json_logs.text
    outputs["console log"] = console_logs.text
    outputs["sentry envelope"] = json.dumps(envelopes)
    outputs["stored events"] = json.dumps([event.data for event in ErrorEvent.objects.all()], default=str)
    outputs["stored groups"] = json.dumps(list(ErrorGroup.objects.values()), default=str)
    group = ErrorGroup.objects.get()
    outputs["admin list"] = admin_client.get("/admin/django_observe/errorgroup/").content.decode()
    outputs["admin detail"] = admin_client.get(f"/admin/django_observe/errorgroup/{group.pk}/change/").content.decode()
    outputs["health detailed"] = Client().get("/health/detailed", HTTP_X_HEALTH_TOKEN=HEALTH_TOKEN).content.decode()
    outputs["health summary"] = Client().get("/health").content.decode()
    outputs["metrics"] = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}").content.decode()

    # The outputs really carry the events (a scrubber that drops everything would also pass).
    assert "callback" in outputs["json log"] and "outbound call" in outputs["console log"]
    assert "RuntimeError" in outputs["sentry envelope"] and "RuntimeError" in outputs["admin detail"]
    assert "leaky" in outputs["health detailed"] and "http_requests_total" in outputs["metrics"]
    assert "[Filtered]" in outputs["json log"] and "[Filtered]" in outputs["stored events"]
    assert {where: _hits(text) for where, text in outputs.items() if _hits(text)} == {}
