"""The Grafana dashboard: one row per area, every query on the names /metrics exports.

The dashboard has a ``datasource`` variable (so it works imported by hand and provisioned from
a file alike) and ``job`` / ``instance`` variables. HTTP panels leave out the health probes, as the rules do.
Panels that need something the app does not always run (Celery workers) say so in ``requires``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .names import not_probe
from .options import Context, RuleOptions

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


@dataclasses.dataclass(frozen=True)
class Panel:
    title: str
    #: (PromQL, legend) per query; Grafana's $job, $instance and $__rate_interval are filled in by Grafana.
    targets: tuple[tuple[str, str], ...]
    unit: str = "short"
    row: str = ""
    description: str = ""
    #: What must run for the panel to have data besides the app (e.g. "celery").
    requires: str = ""


def core_panels(ctx: Context) -> list[Panel]:
    m = ctx.m
    sel = 'job="$job",instance=~"$instance"'
    app = f"{sel},{not_probe(ctx.options.health_path)}"  # as in the rules: health probes left out
    ri = "$__rate_interval"
    requests = f"rate({m.http_requests_total}{{{app}}}[{ri}])"
    buckets = f"rate({m.http_request_duration_seconds}_bucket{{{app}}}[{ri}])"
    active = f"sum by (alias) ({m.db_connections_active}{{{sel}}})"
    idle = f"sum by (alias) ({m.db_connections_idle}{{{sel}}})"
    gets = f'sum by (cache) (rate({m.cache_operations_total}{{{sel},operation="get",result=~"hit|miss"}}[{ri}]))'
    hits = f'sum by (cache) (rate({m.cache_operations_total}{{{sel},operation="get",result="hit"}}[{ri}]))'
    http, health, db, cache, proc = "HTTP", "Health checks", "Database", "Cache", "Process and django-observe"
    return [
        Panel("Requests per second by status", ((f"sum by (status_code) ({requests})", "{{status_code}}"),), "reqps", http),
        Panel(
            "5xx ratio",
            ((f'sum(rate({m.http_requests_total}{{{app},status_code=~"5.."}}[{ri}])) / sum({requests})', "5xx"),),
            "percentunit",
            http,
        ),
        Panel(
            "Latency p50 / p95 / p99",
            tuple((f"histogram_quantile({q}, sum by (le) ({buckets}))", f"p{round(q * 100)}") for q in (0.5, 0.95, 0.99)),
            "s",
            http,
        ),
        Panel("p95 latency by endpoint", ((f"histogram_quantile(0.95, sum by (endpoint, le) ({buckets}))", "{{endpoint}}"),), "s", http),
        Panel("Busiest endpoints (requests per second)", ((f"topk(10, sum by (endpoint) ({requests}))", "{{endpoint}}"),), "reqps", http),
        Panel("Requests in progress", ((f"sum({m.http_requests_in_progress}{{{sel}}})", "in progress"),), "short", http),
        Panel(
            "Slow requests per second by endpoint",
            ((f"sum by (endpoint) (rate({m.slow_requests_total}{{{app}}}[{ri}]))", "{{endpoint}}"),),
            "reqps",
            http,
            "Requests slower than SLOW_REQUEST_THRESHOLD.",
        ),
        Panel(
            "Exceptions per second by type", ((f"sum by (type) (rate({m.exceptions_total}{{{sel}}}[{ri}]))", "{{type}}"),), "short", http
        ),
        Panel(
            "Health check status (1 pass, 0.5 warn, 0 fail)",
            ((f"min by (check) ({m.health_check_status}{{{sel}}})", "{{check}}"),),
            "short",
            health,
            "Updated when a check runs: probes, observe_check, the beat task.",
        ),
        Panel("Health check duration", ((f"max by (check) ({m.health_check_duration_seconds}{{{sel}}})", "{{check}}"),), "s", health),
        Panel(
            "Seconds since each check last passed",
            ((f"time() - max by (check) ({m.health_check_last_success_timestamp_seconds}{{{sel}}})", "{{check}}"),),
            "s",
            health,
        ),
        Panel(
            "Database queries per second",
            ((f"sum by (alias) (rate({m.database_queries_total}{{{sel}}}[{ri}]))", "{{alias}}"),),
            "short",
            db,
        ),
        Panel(
            "Database p95 query time",
            (
                (
                    f"histogram_quantile(0.95, sum by (alias, le) (rate({m.database_query_duration_seconds}_bucket{{{sel}}}[{ri}])))",
                    "{{alias}}",
                ),
            ),
            "s",
            db,
        ),
        Panel(
            "Database errors per second", ((f"sum by (alias) (rate({m.database_errors_total}{{{sel}}}[{ri}]))", "{{alias}}"),), "short", db
        ),
        Panel("Database connections", ((active, "{{alias}} active"), (idle, "{{alias}} idle")), "short", db),
        Panel("Connection pool usage", ((f"{active} / ({active} + {idle})", "{{alias}}"),), "percentunit", db, "active / (active + idle)."),
        Panel(
            "Cache operations per second",
            (
                (
                    f"sum by (cache, operation, result) (rate({m.cache_operations_total}{{{sel}}}[{ri}]))",
                    "{{cache}} {{operation}} {{result}}",
                ),
            ),
            "short",
            cache,
        ),
        Panel("Cache hit ratio (get)", ((f"({hits} or {gets} * 0) / {gets}", "{{cache}}"),), "percentunit", cache),
        Panel(
            "Resident memory (largest process)",
            ((f"max by (instance) ({m.process_resident_memory_bytes}{{{sel}}})", "{{instance}}"),),
            "bytes",
            proc,
        ),
        Panel(
            "CPU (cores used)",
            ((f"sum by (instance) (rate({m.process_cpu_seconds_total}{{{sel}}}[{ri}]))", "{{instance}}"),),
            "short",
            proc,
        ),
        Panel("Uptime", ((f"min by (instance) ({m.uptime_seconds}{{{sel}}})", "{{instance}}"),), "s", proc),
        Panel(
            "Running version",
            ((f"max by (version, environment) ({m.build_info}{{{sel}}})", "{{version}} ({{environment}})"),),
            "short",
            proc,
        ),
        Panel(
            "django-observe internal errors",
            # `or vector(0)`: a flat zero says "none", where an empty panel would look broken.
            ((f"sum by (component) (increase({m.observe_internal_errors_total}{{{sel}}}[{ri}])) or on() vector(0)", "{{component}}"),),
            "short",
            proc,
            "Failures django-observe swallowed to keep requests alive (component errors_dropped: captured errors lost).",
        ),
    ]


def dashboard(options: RuleOptions, extra_panels: list[Panel], title: str = "Django (django-observe)") -> dict[str, Any]:
    """The dashboard JSON model (schema 39)."""
    ctx = Context(options)
    m = ctx.m
    panels: list[dict[str, Any]] = []
    y, row, index = 0, None, 0
    for panel in core_panels(ctx) + extra_panels:
        if panel.row != row:
            if index % 2:
                y += 8
            index = 0
            row = panel.row
            panels.append(
                {
                    "id": len(panels) + 1,
                    "type": "row",
                    "title": row,
                    "collapsed": False,
                    "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                    "panels": [],
                }
            )
            y += 1
        panels.append(
            {
                "id": len(panels) + 1,
                "type": "timeseries",
                "title": panel.title,
                "description": panel.description,
                "datasource": DATASOURCE,
                "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": y},
                "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
                "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}},
                "targets": [
                    {"refId": chr(ord("A") + number), "datasource": DATASOURCE, "expr": expr, "legendFormat": legend}
                    for number, (expr, legend) in enumerate(panel.targets)
                ],
            }
        )
        index += 1
        if index % 2 == 0:
            y += 8
    variable_source = {"type": "prometheus", "uid": "${datasource}"}
    return {
        "title": title,
        "uid": f"django-observe{'-' + options.namespace if options.namespace else ''}",
        "tags": ["django", "django-observe"],
        "schemaVersion": 39,
        "editable": True,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "templating": {
            "list": [
                {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus", "refresh": 1, "current": {}},
                {
                    "name": "job",
                    "type": "query",
                    "datasource": variable_source,
                    "query": {"query": f"label_values({m.build_info}, job)", "refId": "job"},
                    "definition": f"label_values({m.build_info}, job)",
                    "refresh": 2,
                    "current": {"text": options.job, "value": options.job},
                },
                {
                    "name": "instance",
                    "type": "query",
                    "datasource": variable_source,
                    "query": {"query": f'label_values({m.build_info}{{job="$job"}}, instance)', "refId": "instance"},
                    "definition": f'label_values({m.build_info}{{job="$job"}}, instance)',
                    "refresh": 2,
                    "includeAll": True,
                    "multi": True,
                    "allValue": ".+",
                    "current": {"text": "All", "value": "$__all"},
                },
            ]
        },
        "panels": panels,
    }
