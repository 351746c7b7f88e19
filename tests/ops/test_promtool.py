"""The real promtool and amtool on the generated files: syntax, and every alert firing on synthetic series.

``promtool test rules`` evaluates the generated rules over series we write: each alert must fire
on a bad case (with the labels Alertmanager routes on) and stay silent on healthy ones.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.test import override_settings

from tests.conftest import require_binary

from .helpers import all_rules, dashboard_of, export, panel_targets, rules_of
from .promql import grafana_to_promql

pytestmark = [pytest.mark.django_db, pytest.mark.integration, pytest.mark.once]

APP = {"job": "django", "instance": "app:8000"}


def _series(name: str, values: str, **labels: str) -> dict[str, str]:
    pairs = ",".join(f'{key}="{value}"' for key, value in {**APP, **labels}.items())
    return {"series": f"{name}{{{pairs}}}", "values": values}


def _requests(per_minute: int, endpoint: str = "items/", status: str = "200") -> dict[str, str]:
    return _series("http_requests_total", f"0+{per_minute}x40", method="GET", endpoint=endpoint, status_code=status)


def _latency(bucket_counts: dict[str, int]) -> list[dict[str, str]]:
    """Cumulative buckets growing by ``count`` per minute (le -> count)."""
    return [
        _series("http_request_duration_seconds_bucket", f"0+{count}x40", method="GET", endpoint="items/", le=le)
        for le, count in bucket_counts.items()
    ]


def _db_queries(per_minute: int, bucket_counts: dict[str, int]) -> list[dict[str, str]]:
    """Queries on alias default: the counter, and cumulative duration buckets growing by ``count`` per minute."""
    labels = {"alias": "default", "vendor": "postgresql"}
    buckets = [_series("database_query_duration_seconds_bucket", f"0+{count}x40", **labels, le=le) for le, count in bucket_counts.items()]
    return [_series("database_queries_total", f"0+{per_minute}x40", **labels), *buckets]


def _hits(hits: int, misses: int) -> list[dict[str, str]]:
    out = [_series("cache_operations_total", f"0+{misses}x40", cache="default", operation="get", result="miss")]
    if hits:
        out.append(_series("cache_operations_total", f"0+{hits}x40", cache="default", operation="get", result="hit"))
    return out


def _labelled(metric: str, values: str, labels: dict[str, str]) -> dict[str, str]:
    """A series whose labels include ``name`` (which _series' own first parameter takes)."""
    pairs = ",".join(f'{key}="{value}"' for key, value in {**APP, **labels}.items())
    return {"series": f"{metric}{{{pairs}}}", "values": values}


def _tasks(status: str, values: str) -> dict[str, str]:
    return _labelled("celery_tasks_total", values, {"name": "demo.work", "status": status})


def _task_durations(bucket_counts: dict[str, int]) -> list[dict[str, str]]:
    """Cumulative run-time buckets of demo.report growing by ``count`` per minute, and its _count."""
    task = {"name": "demo.report"}
    out = [_labelled("celery_task_duration_seconds_bucket", f"0+{count}x40", {**task, "le": le}) for le, count in bucket_counts.items()]
    return [*out, _labelled("celery_task_duration_seconds_count", f"0+{bucket_counts['+Inf']}x40", task)]


#: alert -> (firing cases, healthy cases, labels of the firing alert besides severity/job).
CASES: dict[str, tuple[list[list[dict[str, str]]], list[list[dict[str, str]]], dict[str, str]]] = {
    "DjangoTargetDown": ([[_series("up", "0x40")]], [[_series("up", "1x40")]], {"instance": "app:8000"}),
    "DjangoHighErrorRate": (
        [[_requests(600), _requests(60, "boom/", "500")]],  # 1 in 11 fails
        [
            [_requests(600), _requests(6, "boom/", "500")],  # 1 %
            [_requests(2), _requests(2, "boom/", "500")],  # 50 % of almost nothing
            [_requests(60), _requests(600, "health/ready", "503")],  # a readiness probe failing on purpose is no user's error
        ],
        {},
    ),
    "DjangoHighLatencyP95": (
        [[_requests(600), *_latency({"0.5": 0, "1.0": 600, "+Inf": 600})]],
        [[_requests(600), *_latency({"0.1": 600, "0.5": 600, "1.0": 600, "+Inf": 600})]],
        {},
    ),
    "DjangoHighLatencyP99": (
        [[_requests(600), *_latency({"1.0": 540, "2.5": 540, "5.0": 600, "+Inf": 600})]],  # 10 % take 2.5-5 s
        [[_requests(600), *_latency({"0.5": 0, "1.0": 600, "+Inf": 600})]],  # p95 is high, p99 is under 1.5 s
        {},
    ),
    "DjangoSlowRequests": (
        [[_requests(600, "report/"), _series("slow_requests_total", "0+300x40", method="GET", endpoint="report/")]],
        [[_requests(600, "report/"), _series("slow_requests_total", "0+30x40", method="GET", endpoint="report/")]],
        {"endpoint": "report/"},
    ),
    "DjangoHighExceptionRate": (
        [[_series("exceptions_total", "0+60x40", type="ValueError", endpoint="x/")]],
        [[_series("exceptions_total", "0+3x40", type="ValueError", endpoint="x/")]],
        {"type": "ValueError"},
    ),
    "DjangoHealthCheckFailing": (
        [[_series("health_check_status", "0x40", check="database")]],
        [[_series("health_check_status", "1x40", check="database")], [_series("health_check_status", "0.5x40", check="disk")]],
        {"instance": "app:8000", "check": "database"},
    ),
    "DjangoHealthCheckFlapping": (
        [[_series("health_check_status", "1 0 " * 20, check="search")]],
        [[_series("health_check_status", "1x10 0x30", check="search")]],  # down once is failing, not flapping
        {"instance": "app:8000", "check": "search"},
    ),
    "DjangoDatabaseErrors": (
        [[_series("database_errors_total", "0+60x40", alias="default", vendor="postgresql")]],
        [[_series("database_errors_total", "0+1x40", alias="default", vendor="postgresql")]],
        {"alias": "default"},
    ),
    "DjangoSlowDatabaseQueries": (
        [_db_queries(600, {"0.25": 0, "0.5": 0, "1.0": 600, "+Inf": 600})],
        [_db_queries(600, {"0.01": 600, "0.25": 600, "0.5": 600, "1.0": 600, "+Inf": 600}), _db_queries(3, {"1.0": 0, "+Inf": 3})],
        {"alias": "default"},
    ),
    "DjangoDatabasePoolNearExhaustion": (
        [[_series("db_connections_active", "19x40", alias="default"), _series("db_connections_idle", "1x40", alias="default")]],
        [
            [_series("db_connections_active", "5x40", alias="default"), _series("db_connections_idle", "15x40", alias="default")],
            [_series("db_connections_active", "0x40", alias="default"), _series("db_connections_idle", "0x40", alias="default")],
        ],
        {"instance": "app:8000", "alias": "default"},
    ),
    "DjangoLowCacheHitRatio": (
        [_hits(60, 240), _hits(0, 300)],  # 20 % hits; no hit at all
        [_hits(270, 30), _hits(0, 3)],  # 90 %; too few gets to judge
        {"cache": "default"},
    ),
    "DjangoHighMemory": (
        [[_series("process_resident_memory_bytes", "2e9x40", pid="41"), _series("process_resident_memory_bytes", "1e8x40", pid="42")]],
        [[_series("process_resident_memory_bytes", "2e8x40", pid="41")]],
        {"instance": "app:8000"},
    ),
    "DjangoErrorStoreDroppingEvents": (
        [[_series("observe_internal_errors_total", "0x20 1+1x20", component="errors_dropped")]],
        [
            [_series("observe_internal_errors_total", "0x20 1+1x20", component="sentry")],
            [_series("observe_internal_errors_total", "3x40", component="errors_dropped")],
        ],
        {"instance": "app:8000", "component": "errors_dropped"},
    ),
    "DjangoObserveInternalErrors": (
        [[_series("observe_internal_errors_total", "0x20 1+1x20", component="sentry")]],
        [
            [_series("observe_internal_errors_total", "0x20 1+1x20", component="errors_queue_full")],
            [_series("observe_internal_errors_total", "3x40", component="sentry")],
        ],
        {"instance": "app:8000", "component": "sentry"},
    ),
    # --- Celery (monitoring/celery.py) -------------------------------------------------------
    "CeleryTaskFailureRatio": (
        [[_tasks("SUCCESS", "0+60x40"), _tasks("FAILURE", "0+20x40")]],  # a burst: 25 % of the runs fail
        [
            [_tasks("SUCCESS", "0+600x40"), _tasks("FAILURE", "0+6x40")],  # 1 %
            [_tasks("FAILURE", "0x10 1x10 2x10 3x10")],  # a nightly task failed once per run: no burst
            [_tasks("SUCCESS", "0+60x40"), _tasks("RETRY", "0+100x40")],  # retries are not failures
        ],
        {"name": "demo.work"},
    ),
    "CelerySlowTasks": (
        [_task_durations({"30.0": 0, "60.0": 0, "120.0": 60, "+Inf": 60})],
        [_task_durations({"1.0": 60, "30.0": 60, "60.0": 60, "120.0": 60, "+Inf": 60})],
        {"name": "demo.report"},
    ),
    "CeleryNoWorkerAnswered": (
        [[_series("health_check_status", "0x40", check="celery_workers")]],
        [
            [_series("health_check_status", "1x40", check="celery_workers")],
            # One instance's view is enough: another instance still sees a worker.
            [
                _series("health_check_status", "0x40", check="celery_workers"),
                _series("health_check_status", "1x40", check="celery_workers", instance="app2:8000"),
            ],
        ],
        {},
    ),
}


def _without_annotations(rules: dict[str, Any]) -> dict[str, Any]:
    """The rules as generated, minus annotations: promtool compares annotations whole, the texts are tested elsewhere."""
    copy = json.loads(json.dumps(rules))
    for rule in all_rules(copy):
        rule.pop("annotations", None)
    return copy


def _promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require_binary("promtool"), *args], cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args", [(), ("--job", 'my"job\\'), ("--rate-window", "2m", "--for", "0s")])
def test_promtool_accepts_the_rules(args: tuple[str, ...], tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(export("rules", *args))
    result = _promtool("check", "rules", str(tmp_path / "rules.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    count = len(all_rules(yaml.safe_load((tmp_path / "rules.yml").read_text())))
    assert f"SUCCESS: {count} rules found" in result.stdout and count == 15 + len(CASES)


def test_promtool_accepts_rules_for_an_unusual_health_path(tmp_path: Path) -> None:
    with override_settings(OBSERVE={**settings.OBSERVE, "HEALTH_PATH": "ops/status-check.v2"}):
        text = export("rules")
    assert 'endpoint!~"ops/status\\\\-check\\\\.v2(/.*)?"' in text
    (tmp_path / "rules.yml").write_text(text)
    result = _promtool("check", "rules", str(tmp_path / "rules.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_fires_on_bad_series_and_stays_silent_on_healthy_ones(tmp_path: Path) -> None:
    rules = rules_of()
    severities = {rule["alert"]: rule["labels"]["severity"] for rule in all_rules(rules) if "alert" in rule}
    assert set(CASES) == set(severities), "every generated alert has its cases here"
    (tmp_path / "rules.yml").write_text(json.dumps(_without_annotations(rules)))
    tests = []
    for alert, (firing, healthy, labels) in CASES.items():
        for series in firing:
            expected = {"severity": severities[alert], "job": "django", **labels}
            tests.append(
                {
                    "interval": "1m",
                    "input_series": series,
                    "alert_rule_test": [{"alertname": alert, "eval_time": "35m", "exp_alerts": [{"exp_labels": expected}]}],
                }
            )
        for series in healthy:
            tests.append(
                {"interval": "1m", "input_series": series, "alert_rule_test": [{"alertname": alert, "eval_time": "35m", "exp_alerts": []}]}
            )
    (tmp_path / "rules_test.yml").write_text(json.dumps({"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": tests}))
    result = _promtool("test", "rules", "rules_test.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert len(tests) >= 2 * len(CASES)


def test_annotations_render_with_the_runbook_link_and_the_recording_rules_compute(tmp_path: Path) -> None:
    rules = rules_of()
    (tmp_path / "rules.yml").write_text(json.dumps(rules))
    template = {rule["alert"]: rule["annotations"] for rule in all_rules(rules) if "alert" in rule}["DjangoHighErrorRate"]

    def render(text: str) -> str:
        return text.replace("{{ $labels.job }}", "django").replace("{{ $value | humanizePercentage }}", "9.091%")

    test = {
        "interval": "1m",
        "input_series": [_requests(600), _requests(60, "boom/", "500"), *_hits(60, 240)],
        "promql_expr_test": [
            {
                "expr": "job:http_requests_5xx:ratio_rate5m",
                "eval_time": "20m",
                "exp_samples": [{"labels": 'job:http_requests_5xx:ratio_rate5m{job="django"}', "value": 60 / 660}],
            },
            {
                "expr": "job_endpoint:http_requests_5xx:ratio_rate5m",
                "eval_time": "20m",
                "exp_samples": [
                    {"labels": 'job_endpoint:http_requests_5xx:ratio_rate5m{job="django",endpoint="boom/"}', "value": 1},
                ],
            },
            {
                "expr": "job:http_requests:rate5m",
                "eval_time": "20m",
                "exp_samples": [{"labels": 'job:http_requests:rate5m{job="django"}', "value": 11}],
            },
            {
                "expr": "job_cache:cache_operations_get_hits:ratio_rate5m",
                "eval_time": "20m",
                "exp_samples": [{"labels": 'job_cache:cache_operations_get_hits:ratio_rate5m{job="django",cache="default"}', "value": 0.2}],
            },
        ],
        "alert_rule_test": [
            {
                "alertname": "DjangoHighErrorRate",
                "eval_time": "20m",
                "exp_alerts": [
                    {
                        "exp_labels": {"severity": "critical", "job": "django"},
                        "exp_annotations": {key: render(value) for key, value in template.items()},
                    }
                ],
            }
        ],
    }
    assert "9.091%" in render(template["summary"]) and template["runbook_url"].endswith("/docs/runbooks/django-high-error-rate.md")
    (tmp_path / "rules_test.yml").write_text(json.dumps({"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": [test]}))
    result = _promtool("test", "rules", "rules_test.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    exprs = [grafana_to_promql(expr) for _, expr in panel_targets(dashboard_of())]
    as_rules = {
        "groups": [{"name": "dashboard", "rules": [{"record": f"panel:{index}", "expr": expr} for index, expr in enumerate(exprs)]}]
    }
    (tmp_path / "panels.yml").write_text(json.dumps(as_rules))
    result = _promtool("check", "rules", str(tmp_path / "panels.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(exprs) >= 25
