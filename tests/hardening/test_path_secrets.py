"""A secret in the URL path itself (Django's password-reset link: reset/<uidb64>/<token>/) is filtered
in the access line and the stored error, as query-string secrets are.

Fails on the old main (QA finding F13): the access line carried the valid reset token in clear.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from django_observe.models import ErrorEvent
from tests.conftest import LogCapture

pytestmark = pytest.mark.django_db

TOKEN = "cbk0ze-4f3c2a1b9e8d7c6b5a4f3e2d1c0b9a8f"


def test_a_reset_token_in_the_path_is_filtered(settings: object, json_logs: LogCapture) -> None:
    settings.ROOT_URLCONF = "tests.hardening.leak_urls"  # type: ignore[attr-defined]
    response = Client(raise_request_exception=False).get(f"/reset/MQ/{TOKEN}/")
    assert response.status_code == 500
    [line] = json_logs.events("request_failed")
    assert line["request"] == "GET /reset/MQ/[Filtered]/" and line["route"] == "reset/<uidb64>/<token>/"
    assert TOKEN not in json_logs.text
    stored = json.dumps([event.data for event in ErrorEvent.objects.all()])
    assert "/reset/MQ/[Filtered]/" in stored and TOKEN not in stored
