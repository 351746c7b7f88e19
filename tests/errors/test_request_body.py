"""A JSON body is kept in the captured event even when the view read ``request.POST`` (issue 12, item 7).

Before, reading ``request.POST`` (an empty form on a JSON request) made the capture take the
empty form instead of the body: the event had ``"data": {}``.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from django_observe.models import ErrorEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sync_errors"), pytest.mark.urls("tests.errors.request_views")]


def test_a_json_body_is_kept_scrubbed_after_the_view_read_request_post(client500: Client) -> None:
    body = {"order": 42, "items": [{"sku": "A-1", "qty": 2}], "password": "hunter2-secret", "payment": {"card_token": "tok_live_123"}}
    response = client500.post("/post-then-fail/", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 500
    stored = ErrorEvent.objects.get().data["request"]
    assert json.loads(stored["data"]) == {
        "order": 42,
        "items": [{"sku": "A-1", "qty": 2}],
        "password": "[Filtered]",
        "payment": {"card_token": "[Filtered]"},
    }
    assert "hunter2-secret" not in json.dumps(stored) and "tok_live_123" not in json.dumps(stored)


def test_a_form_is_still_kept_as_fields(client500: Client) -> None:
    client500.post("/post-then-fail/", data={"order": "42", "password": "hunter2-secret"})
    assert ErrorEvent.objects.get().data["request"]["data"] == {"order": "42", "password": "[Filtered]"}


def test_a_body_over_the_size_cap_is_not_kept(client500: Client) -> None:
    body = {"order": 42, "notes": "x" * 20_000}
    client500.post("/post-then-fail/", data=json.dumps(body), content_type="application/json")
    stored = ErrorEvent.objects.get().data["request"]
    assert "data" not in stored  # bodies above ~10 KB are never copied into an event
    assert stored["method"] == "POST"
