"""Our failures never reach the user's request: broken metrics still serve pages, queries and cache calls."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client

from .conftest import observe
from .helpers import TOKEN, samples, scrape_text, value

pytestmark = pytest.mark.django_db


def test_metrics_that_cannot_be_built_do_not_break_requests_queries_or_cache(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prometheus_client import REGISTRY, Counter

    from django_observe import guard

    guard.forget_logged()  # "logged once per process": start afresh
    # A host metric already holds one of our names: our metrics cannot be created for this namespace.
    squatter = Counter("broken_http_requests", "A host metric that collides with ours.")
    try:
        with observe(METRICS_NAMESPACE="broken"):
            assert Client().get("/db/").status_code == 200
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                assert cursor.fetchone() == (1,)
            cache.set("observe-broken-metrics", 5)
            assert cache.get("observe-broken-metrics") == 5
    finally:
        REGISTRY.unregister(squatter)
    assert "metrics are unavailable" in caplog.text
    # With sane settings again everything is recorded as before.
    assert Client().get("/fast/").status_code == 200
    assert value(samples(scrape_text()), "http_requests_total", method="GET", endpoint="fast/", status_code="200") >= 1


def test_a_scrape_that_fails_answers_500_without_details_and_is_counted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = value(samples(scrape_text()), "observe_internal_errors_total", component="metrics_export")
    missing = tmp_path / "gone"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(missing))  # deleted under a running server
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 500
    assert str(missing).encode() not in response.content
    assert "Could not render the metrics" in caplog.text
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    after = value(samples(scrape_text()), "observe_internal_errors_total", component="metrics_export")
    assert after == before + 1
