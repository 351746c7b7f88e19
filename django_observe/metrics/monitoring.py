"""Prometheus recording + alert rules and a Grafana dashboard, written with the names /metrics exports.

``manage.py observe_export`` prints them. Every metric name comes from ``definitions.SPECS``
with the configured ``METRICS_NAMESPACE`` applied, and a test runs ``promtool check rules`` and
``promtool test rules`` on the output, so a renamed metric cannot leave a silent alert behind.
"""

from __future__ import annotations

import json
from typing import Any

from .definitions import SPECS_BY_NAME


class Names:
    """Exported metric names for one namespace: ``names.http_requests_total`` -> ``shop_http_requests_total``."""

    def __init__(self, namespace: str = "") -> None:
        self.namespace = namespace

    def __getattr__(self, name: str) -> str:
        spec = SPECS_BY_NAME.get(name)
        if spec is None:
            raise AttributeError(f"{name} is not a metric django-observe exports")
        if spec.global_name or not self.namespace:
            return name
        return f"{self.namespace}_{name}"


def rules(namespace: str = "", job: str = "django", slow_seconds: float = 1.0, error_ratio: float = 0.05) -> dict[str, Any]:
    """The rule groups (``rule_files`` format) for a scrape job named ``job``."""
    m = Names(namespace)
    sel = f'job="{job}"'
    p = f"{namespace}_" if namespace else ""
    requests = f"{p}job:http_requests:rate5m"
    errors = f"{p}job:http_requests_5xx:rate5m"
    error_ratio_rule = f"{p}job:http_requests_5xx:ratio_rate5m"
    p95 = f"{p}job:http_request_duration_seconds:p95_5m"
    recording = [
        {"record": requests, "expr": f"sum by (job) (rate({m.http_requests_total}{{{sel}}}[5m]))"},
        {"record": errors, "expr": f'sum by (job) (rate({m.http_requests_total}{{{sel},status_code=~"5.."}}[5m]))'},
        {"record": error_ratio_rule, "expr": f"{errors} / {requests}"},
        {"record": p95, "expr": f"histogram_quantile(0.95, sum by (job, le) (rate({m.http_request_duration_seconds}_bucket{{{sel}}}[5m])))"},
        {
            "record": f"{p}job_endpoint:http_request_duration_seconds:p95_5m",
            "expr": f"histogram_quantile(0.95, sum by (job, endpoint, le) (rate({m.http_request_duration_seconds}_bucket{{{sel}}}[5m])))",
        },
        {"record": f"{p}job:database_queries:rate5m", "expr": f"sum by (job) (rate({m.database_queries_total}{{{sel}}}[5m]))"},
        {
            "record": f"{p}job:cache_get_hits:ratio_rate5m",
            "expr": f'sum by (job) (rate({m.cache_operations_total}{{{sel},operation="get",result="hit"}}[5m])) / '
            f'sum by (job) (rate({m.cache_operations_total}{{{sel},operation="get",result=~"hit|miss"}}[5m]))',
        },
    ]
    alerts = [
        {
            "alert": "DjangoTargetDown",
            "expr": f"up{{{sel}}} == 0",
            "for": "2m",
            "labels": {"severity": "page"},
            "annotations": {"summary": "{{ $labels.instance }} does not answer the metrics scrape"},
        },
        {
            "alert": "DjangoHighErrorRate",
            "expr": f"{error_ratio_rule} > {error_ratio} and {requests} > 0.1",
            "for": "5m",
            "labels": {"severity": "page"},
            "annotations": {"summary": "{{ $labels.job }}: {{ $value | humanizePercentage }} of requests fail with 5xx"},
        },
        {
            "alert": "DjangoSlowResponses",
            "expr": f"{p95} > {slow_seconds}",
            "for": "10m",
            "labels": {"severity": "ticket"},
            "annotations": {"summary": "{{ $labels.job }}: p95 latency {{ $value | humanizeDuration }}"},
        },
        {
            "alert": "DjangoDatabaseErrors",
            "expr": f"sum by (job) (rate({m.database_errors_total}{{{sel}}}[5m])) > 0.1",
            "for": "5m",
            "labels": {"severity": "ticket"},
            "annotations": {"summary": "{{ $labels.job }}: {{ $value }} database errors per second"},
        },
        {
            "alert": "DjangoObserveInternalErrors",
            "expr": f"sum by (job, component) (increase({m.observe_internal_errors_total}{{{sel}}}[15m])) > 0",
            "labels": {"severity": "ticket"},
            "annotations": {"summary": "django-observe failed in {{ $labels.component }}; requests were served without part of their telemetry"},
        },
    ]
    return {
        "groups": [
            {"name": f"{job}-django-observe-recording", "rules": recording},
            {"name": f"{job}-django-observe-alerts", "rules": alerts},
        ]
    }


def dashboard(namespace: str = "", title: str = "Django (django-observe)") -> dict[str, Any]:
    """A Grafana dashboard (JSON model, schema 39) with a ``job`` variable and a Prometheus datasource input."""
    m = Names(namespace)
    sel = 'job="$job"'
    panels_spec = [
        ("Requests per second by status", f"sum by (status_code) (rate({m.http_requests_total}{{{sel}}}[$__rate_interval]))", "reqps"),
        ("5xx ratio", f'sum(rate({m.http_requests_total}{{{sel},status_code=~"5.."}}[$__rate_interval])) / sum(rate({m.http_requests_total}{{{sel}}}[$__rate_interval]))', "percentunit"),
        ("p95 latency by endpoint", f"histogram_quantile(0.95, sum by (endpoint, le) (rate({m.http_request_duration_seconds}_bucket{{{sel}}}[$__rate_interval])))", "s"),
        ("Requests in progress", f"sum({m.http_requests_in_progress}{{{sel}}})", "short"),
        ("Slow requests per second by endpoint", f"sum by (endpoint) (rate({m.slow_requests_total}{{{sel}}}[$__rate_interval]))", "reqps"),
        ("Exceptions per second by type", f"sum by (type) (rate({m.exceptions_total}{{{sel}}}[$__rate_interval]))", "short"),
        ("Database queries per second", f"sum by (alias) (rate({m.database_queries_total}{{{sel}}}[$__rate_interval]))", "short"),
        ("Database p95 query time", f"histogram_quantile(0.95, sum by (alias, le) (rate({m.database_query_duration_seconds}_bucket{{{sel}}}[$__rate_interval])))", "s"),
        ("Database errors per second", f"sum by (alias) (rate({m.database_errors_total}{{{sel}}}[$__rate_interval]))", "short"),
        ("Database connections", f"sum by (alias) ({m.db_connections_active}{{{sel}}})", "short"),
        ("Idle database connections", f"sum by (alias) ({m.db_connections_idle}{{{sel}}})", "short"),
        ("Cache operations per second", f"sum by (cache, operation, result) (rate({m.cache_operations_total}{{{sel}}}[$__rate_interval]))", "short"),
        ("Resident memory", f"sum by (instance) ({m.process_resident_memory_bytes}{{{sel}}})", "bytes"),
        ("Uptime", f"min by (instance) ({m.uptime_seconds}{{{sel}}})", "s"),
        ("Running version", f"max by (version, environment) ({m.build_info}{{{sel}}})", "short"),
        ("django-observe internal errors", f"sum by (component) (increase({m.observe_internal_errors_total}{{{sel}}}[$__rate_interval]))", "short"),
    ]
    panels = []
    for index, (panel_title, expr, unit) in enumerate(panels_spec):
        panels.append(
            {
                "id": index + 1,
                "type": "timeseries",
                "title": panel_title,
                "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
                "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "targets": [{"refId": "A", "expr": expr, "legendFormat": "__auto"}],
            }
        )
    return {
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus"}],
        "title": title,
        "uid": f"django-observe{'-' + namespace if namespace else ''}",
        "tags": ["django", "django-observe"],
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "templating": {
            "list": [
                {
                    "name": "job",
                    "type": "query",
                    "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
                    "query": f"label_values({m.http_requests_total}, job)",
                    "refresh": 2,
                }
            ]
        },
        "panels": panels,
    }


def to_yaml(value: Any, indent: int = 0) -> str:
    """A small YAML writer for rule files (strings JSON-quoted, which YAML reads as double-quoted scalars)."""
    pad = "  " * indent
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{key}:\n{to_yaml(item, indent + 1)}")
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
        return "\n".join(lines)
    if isinstance(value, list):
        lines = []
        for item in value:
            text = to_yaml(item, indent + 1) if isinstance(item, (dict, list)) else f"{'  ' * (indent + 1)}{_scalar(item)}"
            lines.append(f"{pad}- {text.lstrip()}")
        return "\n".join(lines)
    return pad + _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (dict, list)):
        return "{}" if isinstance(value, dict) else "[]"
    return json.dumps(str(value))
