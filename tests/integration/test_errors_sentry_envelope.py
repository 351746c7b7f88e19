"""With a DSN: the event reaches a (local) Sentry, scrubbed and tagged with the request id, AND is stored locally."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from django.test import Client

from django_observe import sentry
from django_observe.models import ErrorEvent, ErrorGroup
from tests.errors.conftest import _fresh_store, observe  # noqa: F401  (fixtures)
from tests.errors.support import EnvelopeReceiver, fresh_database, query
from tests.servers import running_server

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module", autouse=True)
def _async_unsafe_after_playwright() -> Iterator[None]:
    """When a Playwright test ran earlier in the session, its event loop still runs in the main
    thread and Django's async-safety guard refuses the ORM calls made here (and the table flush
    after a transactional test, which comes after function fixtures are undone: hence module scope)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


SECRET_VALUES = ("QUERY-TOKEN-VALUE", "AUTH-HEADER-VALUE", "FORM-PASSWORD-VALUE", "SESSION-COOKIE-VALUE", "local-secret-in-frame")


@pytest.fixture
def receiver() -> Iterator[EnvelopeReceiver]:
    server = EnvelopeReceiver()
    yield server
    server.close()


@pytest.mark.django_db
def test_event_reaches_sentry_scrubbed_with_request_id_and_is_stored(receiver: EnvelopeReceiver, observe: Any) -> None:  # noqa: F811  (the pytest fixture imported above)
    ErrorGroup.objects.all().delete()  # errors other tests logged earlier in this session (PostgreSQL keeps them)
    observe(ERRORS_SYNC=True, SENTRY_DSN=receiver.dsn)
    sentry.init_sentry()
    try:
        client = Client(raise_request_exception=False)
        client.cookies["sessionid"] = "SESSION-COOKIE-VALUE"
        response = client.post(
            "/boom/?token=QUERY-TOKEN-VALUE&page=2",
            {"password": "FORM-PASSWORD-VALUE", "username": "bob"},
            HTTP_AUTHORIZATION="Bearer AUTH-HEADER-VALUE",
            HTTP_X_REQUEST_ID="rid-sentry-1",
        )
        assert response.status_code == 500
        sentry_sdk.flush(10)
        events = receiver.wait_for(1)
    finally:
        observe(ERRORS_SYNC=True, SENTRY_DSN="")
        sentry.init_sentry()
    assert len(events) == 1  # one failure, one Sentry event (not three error lines)
    sent = events[0]
    assert sent["tags"]["request_id"] == "rid-sentry-1"
    assert sent["exception"]["values"][-1]["type"] == "RuntimeError"
    assert sent["request"]["query_string"] == "token=[Filtered]&page=2"
    dumped_sent = json.dumps(sent)
    assert [value for value in SECRET_VALUES if value in dumped_sent] == []
    stored = ErrorEvent.objects.get()
    assert stored.event_id.hex == sent["event_id"] and stored.request_id == "rid-sentry-1"
    assert ErrorGroup.objects.get().count == 1
    assert "sentry_key=publickey" in receiver.auth_headers[0]


def test_full_sdk_integrations_under_a_real_server_send_one_event_and_store_it(receiver: EnvelopeReceiver) -> None:
    """SENTRY_INTEGRATIONS='full' (sentry-sdk's own Django integration): still one event, tagged, stored."""
    with fresh_database("sqlite") as env:
        extra = {
            "SQLITE_PATH": env["SQLITE_PATH"],
            "OBSERVE_STATE_DIR": env["OBSERVE_STATE_DIR"],
            "DATABASE_URL": "",
            "SENTRY_DSN": receiver.dsn,
            "OBSERVE_JSON": json.dumps({"SENTRY_INTEGRATIONS": "full"}),
        }
        with running_server("gunicorn", workers=1, env=extra, migrate=False) as server:
            request = urllib.request.Request(server.url + "/boom/?api_key=QUERY-TOKEN-VALUE", headers={"X-Request-ID": "rid-full-1"})
            with pytest.raises(urllib.error.HTTPError) as failed:
                urllib.request.urlopen(request, timeout=10)
            failed.value.close()
            events = receiver.wait_for(1)
            time.sleep(0.5)  # a duplicate would arrive right behind the first
            deadline = time.monotonic() + 15
            stored = query(
                env, "from django_observe.models import ErrorEvent\nresult = list(ErrorEvent.objects.values_list('request_id', flat=True))"
            )
            while not stored and time.monotonic() < deadline:
                time.sleep(0.5)
                stored = query(
                    env,
                    "from django_observe.models import ErrorEvent\nresult = list(ErrorEvent.objects.values_list('request_id', flat=True))",
                )
    assert len(receiver.events) == 1
    sent = events[0]
    assert sent["tags"]["request_id"] == "rid-full-1"
    assert "DjangoIntegration" in json.dumps(sent["sdk"]) or "django" in sent["sdk"]["integrations"]
    assert "QUERY-TOKEN-VALUE" not in json.dumps(sent)
    assert stored == ["rid-full-1"]
