"""Empty tokens open nothing: HEALTH_TOKENS [""] (what [os.environ.get("HEALTH_TOKEN", "")] gives unset) and METRICS_TOKENS alike.

Fails on the old main: an empty X-Health-Token header matched the empty token and /health/detailed answered 200.
"""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("configured", [[""], ["  "], ["", "real-token-0123456789"]])
@pytest.mark.parametrize("sent", ["", " "])
def test_an_empty_health_token_never_opens_the_detailed_view(configured: list[str], sent: str) -> None:
    with override_settings(OBSERVE={"HEALTH_TOKENS": configured}):
        response = Client().get("/health/detailed", HTTP_X_HEALTH_TOKEN=sent)
    assert response.status_code == 403
    assert b"checks" not in response.content


def test_a_real_health_token_still_opens_it() -> None:
    with override_settings(OBSERVE={"HEALTH_TOKENS": ["", "real-token-0123456789"]}):
        response = Client().get("/health/detailed", HTTP_X_HEALTH_TOKEN="real-token-0123456789")
    assert response.status_code in (200, 503)
    assert "checks" in response.json()


@pytest.mark.parametrize("header", ["Bearer ", "Bearer  ", "Bearer"])
def test_an_empty_bearer_token_never_opens_metrics(header: str) -> None:
    with override_settings(OBSERVE={"METRICS_TOKENS": ["", " "]}):
        response = Client().get("/metrics", HTTP_AUTHORIZATION=header)
    assert response.status_code in (401, 403)
    assert b"http_requests_total" not in response.content


def test_short_or_empty_tokens_warn_on_deploy() -> None:
    from django_observe.checks import check_health_deploy

    with override_settings(OBSERVE={"HEALTH_TOKENS": ["", "short"]}):
        [warning] = check_health_deploy(None)
    assert warning.id == "django_observe.W036" and "2 of OBSERVE['HEALTH_TOKENS']" in warning.msg
    with override_settings(OBSERVE={"HEALTH_TOKENS": ["a-long-random-token-0123456789"]}):
        assert check_health_deploy(None) == []
