"""Under ATOMIC_REQUESTS the failing request's transaction is rolled back; its errors are not."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest

from tests.errors.support import fresh_database, query
from tests.servers import running_server

pytestmark = pytest.mark.integration

STATE = """
from django_observe.models import ErrorGroup
from testproject.demo.models import Item
result = {
    "groups": sorted((g.title, g.count) for g in ErrorGroup.objects.all()),
    "rolled_back_rows": Item.objects.filter(name="rolled-back-by-boom-db").count(),
}
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_errors_of_a_rolled_back_request_are_stored(backend: str, request: pytest.FixtureRequest) -> None:
    postgres_url = request.getfixturevalue("postgres_url") if backend == "postgresql" else None
    with fresh_database(backend, postgres_url) as env:
        extra = {key: env[key] for key in ("DATABASE_URL", "SQLITE_PATH", "OBSERVE_STATE_DIR")}
        with running_server("gunicorn", workers=1, env={**extra, "ATOMIC_REQUESTS": "1"}, migrate=False) as server:
            with pytest.raises(urllib.error.HTTPError) as failed:
                urllib.request.urlopen(server.url + "/boom-db/?order=42", timeout=10)
            failed.value.close()
            assert failed.value.code == 500
            deadline = time.monotonic() + 20
            state = query(env, STATE)
            while len(state["groups"]) < 2 and time.monotonic() < deadline:  # the writer thread stores asynchronously
                time.sleep(0.5)
                state = query(env, STATE)
    assert state["rolled_back_rows"] == 0  # the request's own write was rolled back ...
    assert state["groups"] == [  # ... but the logged error and the exception were both kept
        ["RuntimeError: demo failure after a database write", 1],
        ["order 42 could not be saved", 1],
    ]
