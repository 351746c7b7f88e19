"""The namespace prefix, build info, no `_created`, and docs/metrics.md generated from the definitions."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client

from django_observe.metrics import SPECS
from django_observe.metrics.definitions import render_reference

from .conftest import observe
from .helpers import samples, scrape_text, series_of, value

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def test_metrics_page_is_current() -> None:
    assert (ROOT / "docs" / "metrics.md").read_text() == render_reference(), (
        "docs/metrics.md is stale: run `python -m django_observe.metrics > docs/metrics.md`"
    )


#: Metrics exported only when a setting asks for them: switched on where every family must show.
OPTIONAL_METRICS_ON = {"ACTIVE_USERS_METRIC": True}


def _exercise() -> None:
    Client().get("/fast/")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    cache.get("definitions-test-key")


def _family_names(text: str) -> set[str]:
    from prometheus_client.parser import text_string_to_metric_families

    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name + ("_total" if family.type == "counter" else ""))
    return names


def test_every_documented_metric_is_exported_and_nothing_has_created_series() -> None:
    _exercise()
    with observe(**OPTIONAL_METRICS_ON):
        text = scrape_text()
    exported = _family_names(text)
    assert {spec.name for spec in SPECS} <= exported, {spec.name for spec in SPECS} - exported
    assert "_created" not in text


def test_namespace_prefixes_every_metric_but_process_ones() -> None:
    with observe(METRICS_NAMESPACE="shop", **OPTIONAL_METRICS_ON):
        _exercise()
        text = scrape_text()
        exported = _family_names(text)
        for spec in SPECS:
            expected = spec.name if spec.global_name else f"shop_{spec.name}"
            assert expected in exported, expected
        assert "http_requests_total" not in exported
        found = samples(text)
        assert value(found, "shop_http_requests_total", method="GET", endpoint="fast/", status_code="200") == 1
    # Back to no namespace: the plain names are served again.
    _exercise()
    exported = _family_names(scrape_text())
    assert "http_requests_total" in exported and "shop_http_requests_total" not in exported


def test_build_info_names_what_is_running() -> None:
    with observe(VERSION="1.4.2", ENVIRONMENT="staging", SERVICE_NAME="shop-api"):
        found = samples(scrape_text())
    assert value(found, "build_info", service="shop-api", version="1.4.2", environment="staging") == 1
    assert len(series_of(found, "build_info")) == 1  # the identity now, not every one ever configured
    assert value(found, "uptime_seconds") > 0
    assert value(found, "process_resident_memory_bytes") > 1_000_000


def test_latency_buckets_setting() -> None:
    with observe(METRICS_LATENCY_BUCKETS=[0.1, 1.0]):
        Client().get("/fast/")
        found = samples(scrape_text())
    buckets = {dict(labels)["le"] for (name, labels) in found if name == "http_request_duration_seconds_bucket"}
    assert buckets == {"0.1", "1.0", "+Inf"}
