"""observe_export: the rules and the dashboard use exactly the exported names, and promtool accepts them."""

from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client

from django_observe.metrics import monitoring
from tests.conftest import require_binary

from .conftest import observe
from .helpers import scrape_text

pytestmark = pytest.mark.django_db

_SELECTOR_NAME = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{|\[)")


def _export(*args: str) -> str:
    out = io.StringIO()
    call_command("observe_export", *args, stdout=out)
    return out.getvalue()


def _exported_sample_names() -> set[str]:
    from prometheus_client.parser import text_string_to_metric_families

    Client().get("/fast/")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    cache.get("observe-export-test")
    names = set()
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    for family in text_string_to_metric_families(scrape_text()):
        # From the # TYPE lines: a labelled counter nobody incremented yet has no sample, but is exported.
        names |= {family.name + suffix for suffix in suffixes.get(family.type, ("",))}
    return names


def _exprs_of_rules(rules: dict) -> list[str]:  # type: ignore[type-arg]
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def _exprs_of_dashboard(board: dict) -> list[str]:  # type: ignore[type-arg]
    return [target["expr"] for panel in board["panels"] for target in panel["targets"]]


@pytest.mark.parametrize("namespace", ["", "shop"])
def test_every_metric_name_used_is_exported(namespace: str) -> None:
    with observe(METRICS_NAMESPACE=namespace):
        exported = _exported_sample_names()
        rules = monitoring.rules(namespace)
        board = json.loads(_export("dashboard"))
    recorded = {rule["record"] for group in rules["groups"] for rule in group["rules"] if "record" in rule}
    used = set()
    for expr in _exprs_of_rules(rules) + _exprs_of_dashboard(board):
        used |= set(_SELECTOR_NAME.findall(expr))
    used -= {"up"}  # Prometheus' own
    assert used, "the scan found metric names"
    assert used <= exported | recorded, sorted(used - exported - recorded)
    if namespace:
        assert all(name.startswith(("shop_", "process_")) for name in used)


@pytest.mark.integration
def test_promtool_checks_and_unit_tests_the_rules(tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    rules_file = tmp_path / "rules.yml"
    call_command("observe_export", "rules", "--output", str(rules_file), "--slow", "0.5")
    check = subprocess.run([promtool, "check", "rules", str(rules_file)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 12 rules found" in check.stdout
    # 10 req/s, 2 of them 5xx (20 %): DjangoHighErrorRate fires after its 5 minutes; the target is up.
    (tmp_path / "rules_test.yml").write_text(
        json.dumps(
            {
                "rule_files": ["rules.yml"],
                "evaluation_interval": "1m",
                "tests": [
                    {
                        "interval": "1m",
                        "input_series": [
                            {"series": 'up{job="django",instance="a:1"}', "values": "1x20"},
                            {"series": 'http_requests_total{job="django",instance="a:1",method="GET",endpoint="fast/",status_code="200"}', "values": "0+480x20"},
                            {"series": 'http_requests_total{job="django",instance="a:1",method="GET",endpoint="boom/",status_code="500"}', "values": "0+120x20"},
                        ],
                        "promql_expr_test": [
                            {"expr": "job:http_requests_5xx:ratio_rate5m", "eval_time": "10m", "exp_samples": [{"labels": 'job:http_requests_5xx:ratio_rate5m{job="django"}', "value": 0.2}]}
                        ],
                        "alert_rule_test": [
                            {"alertname": "DjangoTargetDown", "eval_time": "10m", "exp_alerts": []},
                            {
                                "alertname": "DjangoHighErrorRate",
                                "eval_time": "15m",
                                "exp_alerts": [
                                    {"exp_labels": {"severity": "page", "job": "django"}, "exp_annotations": {"summary": "django: 20% of requests fail with 5xx"}}
                                ],
                            },
                        ],
                    }
                ],
            }
        )
    )
    result = subprocess.run([promtool, "test", "rules", "rules_test.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.integration
def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    board = json.loads(_export("dashboard"))
    assert board["templating"]["list"][0]["name"] == "job"
    exprs = [expr.replace("$__rate_interval", "5m").replace("$job", "django") for expr in _exprs_of_dashboard(board)]
    as_rules = {"groups": [{"name": "dashboard", "rules": [{"record": f"panel:{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    (tmp_path / "panels.yml").write_text(json.dumps(as_rules))
    check = subprocess.run([promtool, "check", "rules", str(tmp_path / "panels.yml")], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
