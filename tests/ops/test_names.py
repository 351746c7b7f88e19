"""Drift: every name and label an alert, recording rule or panel uses is one the app exports."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from prometheus_client.parser import text_string_to_metric_families

from django_observe.metrics.definitions import ERROR_STORE_DROP_COMPONENTS, SPECS
from django_observe.monitoring import Names
from tests.metrics.helpers import TOKEN, scrape_text

from .helpers import ROOT, all_rules, dashboard_of, panel_targets, rules_of
from .promql import grafana_to_promql, uses

pytestmark = pytest.mark.django_db

#: Labels Prometheus adds to every scraped series, and the ones of histogram buckets / multiprocess workers.
TARGET_LABELS = {"job", "instance"}
SAMPLE_SUFFIXES = {"counter": ("",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def _exported(namespace: str) -> dict[str, set[str]]:
    """{sample name: its label names} from the definitions, with the namespace applied."""
    names = Names(namespace)
    found: dict[str, set[str]] = {}
    for spec in SPECS:
        base = getattr(names, spec.name)
        for suffix in SAMPLE_SUFFIXES[spec.kind]:
            labels = set(spec.labels) | TARGET_LABELS | ({"le"} if suffix == "_bucket" else set()) | {"pid"}
            found[base + suffix] = labels
    return found


@pytest.mark.parametrize("namespace", ["", "shop"])
def test_every_name_and_label_in_rules_and_panels_comes_from_the_definitions(namespace: str) -> None:
    with override_settings(OBSERVE={**settings.OBSERVE, "METRICS_NAMESPACE": namespace}):
        rules = rules_of()
        board = dashboard_of()
    exported = _exported(namespace)
    recorded = {rule["record"] for rule in all_rules(rules) if "record" in rule}
    every_label = set().union(*exported.values())
    used_names: set[str] = set()
    exprs = [rule["expr"] for rule in all_rules(rules)] + [grafana_to_promql(expr) for _, expr in panel_targets(board)]
    assert len(exprs) > 50
    for expr in exprs:
        selectors, grouping = uses(expr)
        for name, labels in selectors.items():
            used_names.add(name)
            if name == "up":  # Prometheus' own
                continue
            assert name in exported or name in recorded, f"{name} in {expr!r} is not exported"
            known = exported.get(name, every_label)
            assert labels <= known, f"{name}{{{labels - known}}} in {expr!r}"
        assert grouping <= every_label, f"grouping by {grouping - every_label} in {expr!r}"
    # The walk saw the families the alert set is about (a broken reader finding nothing would pass above).
    prefix = f"{namespace}_" if namespace else ""
    for family in (
        "http_requests_total",
        "health_check_status",
        "db_connections_idle",
        "cache_operations_total",
        "observe_internal_errors_total",
    ):
        assert prefix + family in used_names
    assert "process_resident_memory_bytes" in used_names  # never prefixed
    if namespace:
        assert all(name.startswith(("shop_", "process_", "job", "up")) for name in used_names), sorted(used_names)
        assert not any(":http_requests:" in name for name in recorded), "recorded names carry the namespaced metric"


def test_the_names_used_are_really_served_by_metrics() -> None:
    """Not only in the definitions: a real scrape has every family (HELP/TYPE lines count for unlabelled-yet ones)."""
    Client().get("/fast/")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    cache.get("ops-names-test")
    with override_settings(OBSERVE={**settings.OBSERVE, "METRICS_TOKENS": [TOKEN]}):
        text = scrape_text()
        rules = rules_of()
        board = dashboard_of()
    served = set()
    for family in text_string_to_metric_families(text):
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}.get(family.type, ("",))
        served |= {family.name + suffix for suffix in suffixes}
    recorded = {rule["record"] for rule in all_rules(rules) if "record" in rule}
    used: set[str] = set()
    for expr in [rule["expr"] for rule in all_rules(rules)] + [grafana_to_promql(e) for _, e in panel_targets(board)]:
        used |= set(uses(expr)[0])
    assert used - recorded - {"up"} <= served, sorted(used - recorded - {"up"} - served)


def test_an_unknown_metric_name_fails_generation() -> None:
    with pytest.raises(AttributeError, match="not a metric django-observe exports"):
        Names("shop").http_request_total  # noqa: B018  (a typo of http_requests_total)


def test_health_gauges_are_part_of_the_definitions_and_get_the_namespace() -> None:
    from django_observe.health import metrics as health_metrics

    assert {"health_check_status", "health_check_duration_seconds", "health_check_last_success_timestamp_seconds"} <= {
        s.name for s in SPECS
    }
    with override_settings(OBSERVE={**settings.OBSERVE, "METRICS_NAMESPACE": "shop", "METRICS_TOKENS": [TOKEN]}):
        health_metrics.observe("search", "fail", 0.25, 1_700_000_000.0)
        health_metrics.observe("db", "warn", 0.01, 1_700_000_001.0)
        text = scrape_text()
    assert 'shop_health_check_status{check="search"} 0.0' in text
    assert 'shop_health_check_status{check="db"} 0.5' in text
    assert 'shop_health_check_duration_seconds{check="search"} 0.25' in text
    assert 'shop_health_check_last_success_timestamp_seconds{check="db"} 1.700000001e+09' in text
    assert 'shop_health_check_last_success_timestamp_seconds{check="search"}' not in text
    assert "\nhealth_check_status" not in text


def test_the_error_store_components_the_drop_alert_selects_are_the_ones_the_store_counts() -> None:
    source = "\n".join(path.read_text() for path in (ROOT / "django_observe" / "errors").rglob("*.py"))
    for component in ERROR_STORE_DROP_COMPONENTS:
        assert re.search(rf"[\"']{component}[\"']", source), f"errors/ no longer counts {component!r}"
