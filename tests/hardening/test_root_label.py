"""Issue 12 item 12: ``path("", view)`` is labelled ``/`` in metrics and in the access log, not ``<unresolved>``.

Fails before the fix: the empty route fell through ``match.route or UNRESOLVED_ENDPOINT``.
"""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from django_observe.metrics import UNRESOLVED_ENDPOINT
from tests.conftest import LogCapture
from tests.metrics.conftest import observe
from tests.metrics.helpers import samples, scrape_text, value

pytestmark = pytest.mark.django_db


def _requests(found: dict, endpoint: str) -> float:  # type: ignore[type-arg]
    return value(found, "http_requests_total", method="GET", endpoint=endpoint, status_code="200")


@pytest.mark.parametrize("urlconf", ["testproject.urls", "tests.hardening.urls_root"])
def test_the_site_root_is_labelled_slash(urlconf: str, json_logs: LogCapture) -> None:
    with observe(), override_settings(ROOT_URLCONF=urlconf):
        before = samples(scrape_text())
        assert Client().get("/").status_code == 200
        after = samples(scrape_text())
    assert _requests(after, "/") - _requests(before, "/") == 1
    assert _requests(after, UNRESOLVED_ENDPOINT) == _requests(before, UNRESOLVED_ENDPOINT)
    access = [line for line in json_logs.events("request_finished") if line.get("request") == "GET /"]
    assert [line["route"] for line in access] == ["/"]


def test_unmatched_paths_stay_unresolved() -> None:
    with observe():
        before = samples(scrape_text())
        assert Client().get("/no-such-page-anywhere/").status_code == 404
        after = samples(scrape_text())
    labels = {"method": "GET", "endpoint": UNRESOLVED_ENDPOINT, "status_code": "404"}
    assert value(after, "http_requests_total", **labels) - value(before, "http_requests_total", **labels) == 1
