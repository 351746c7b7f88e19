"""Under ASGI (uvicorn) a raising view and an error log line are captured like under WSGI, with their request ids."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest

from tests.errors.support import fresh_database, query
from tests.servers import running_server

pytestmark = pytest.mark.integration

EVENTS = """
from django_observe.models import ErrorEvent
result = sorted((e.group.title, e.request_id) for e in ErrorEvent.objects.select_related("group"))
"""


def test_errors_are_captured_under_uvicorn() -> None:
    with fresh_database("sqlite") as env:
        extra = {key: env[key] for key in ("DATABASE_URL", "SQLITE_PATH", "OBSERVE_STATE_DIR")}
        with running_server("uvicorn", env=extra, migrate=False) as server:
            request = urllib.request.Request(server.url + "/boom/", headers={"X-Request-ID": "rid-asgi-1"})
            with pytest.raises(urllib.error.HTTPError) as failed:
                urllib.request.urlopen(request, timeout=10)
            failed.value.close()
            assert failed.value.code == 500
            request = urllib.request.Request(server.url + "/log-error/?order=9", headers={"X-Request-ID": "rid-asgi-2"})
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
            deadline = time.monotonic() + 20
            events = query(env, EVENTS)
            while len(events) < 2 and time.monotonic() < deadline:
                time.sleep(0.5)
                events = query(env, EVENTS)
    assert events == [
        ["RuntimeError: demo failure: the boom view always raises", "rid-asgi-1"],
        ["order 9 not found", "rid-asgi-2"],
    ]
