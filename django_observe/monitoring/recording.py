"""Recording rules: request rate, error ratio and latency quantiles per job and per endpoint.

The HTTP series leave out the health probes (``endpoint`` under ``HEALTH_PATH``): they are not
users' requests, and a quiet app's latency would be the probes' latency.

Names follow Prometheus' ``level:metric:operations`` convention with the exported (namespaced)
metric name in the middle: ``job:http_requests:rate5m``, ``job_endpoint:shop_http_requests:rate5m``.
The alerts read these, so a dashboard or an ad-hoc query can use the same series.
"""

from __future__ import annotations

from typing import Any

from .options import Context

QUANTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))


class Recorded:
    """The names of the recorded series for one context (namespace and window)."""

    def __init__(self, ctx: Context) -> None:
        m, w = ctx.m, ctx.window
        requests, duration = m.base("http_requests_total"), m.http_request_duration_seconds
        self.requests = f"job:{requests}:rate{w}"
        self.endpoint_requests = f"job_endpoint:{requests}:rate{w}"
        self.errors = f"job:{requests}_5xx:rate{w}"
        self.error_ratio = f"job:{requests}_5xx:ratio_rate{w}"
        self.endpoint_error_ratio = f"job_endpoint:{requests}_5xx:ratio_rate{w}"
        self.latency = {label: f"job:{duration}:{label}_{w}" for label, _ in QUANTILES}
        self.endpoint_latency = {label: f"job_endpoint:{duration}:{label}_{w}" for label, _ in QUANTILES}
        self.endpoint_slow_ratio = f"job_endpoint:{m.base('slow_requests_total')}:ratio_rate{w}"
        self.queries = f"job:{m.base('database_queries_total')}:rate{w}"
        self.cache_gets = f"job_cache:{m.base('cache_operations_total')}_get:rate{w}"
        self.cache_hit_ratio = f"job_cache:{m.base('cache_operations_total')}_get_hits:ratio_rate{w}"


def recording_rules(ctx: Context) -> list[dict[str, Any]]:
    m, sel, app, w = ctx.m, ctx.sel, ctx.app, ctx.window
    r = Recorded(ctx)
    requests = f"rate({m.http_requests_total}{{{app}}}[{w}])"
    errors = f'rate({m.http_requests_total}{{{app},status_code=~"5.."}}[{w}])'
    buckets = f"rate({m.http_request_duration_seconds}_bucket{{{app}}}[{w}])"
    cache_gets = f'rate({m.cache_operations_total}{{{sel},operation="get",result=~"hit|miss"}}[{w}])'
    cache_hits = f'rate({m.cache_operations_total}{{{sel},operation="get",result="hit"}}[{w}])'
    rules: list[dict[str, Any]] = [
        {"record": r.requests, "expr": f"sum by (job) ({requests})"},
        {"record": r.endpoint_requests, "expr": f"sum by (job, endpoint) ({requests})"},
        {"record": r.errors, "expr": f"sum by (job) ({errors})"},
        {"record": r.error_ratio, "expr": f"{r.errors} / {r.requests}"},
        {"record": r.endpoint_error_ratio, "expr": f"sum by (job, endpoint) ({errors}) / {r.endpoint_requests}"},
    ]
    for label, quantile in QUANTILES:
        rules.append({"record": r.latency[label], "expr": f"histogram_quantile({quantile}, sum by (job, le) ({buckets}))"})
    for label, quantile in QUANTILES:
        rules.append(
            {"record": r.endpoint_latency[label], "expr": f"histogram_quantile({quantile}, sum by (job, endpoint, le) ({buckets}))"}
        )
    rules += [
        {
            "record": r.endpoint_slow_ratio,
            "expr": f"sum by (job, endpoint) (rate({m.slow_requests_total}{{{app}}}[{w}])) / {r.endpoint_requests}",
        },
        {"record": r.queries, "expr": f"sum by (job) (rate({m.database_queries_total}{{{sel}}}[{w}]))"},
        {"record": r.cache_gets, "expr": f"sum by (job, cache) ({cache_gets})"},
        # `or ... * 0`: no hit at all is a ratio of 0, not a missing series (the alert must see it).
        {"record": r.cache_hit_ratio, "expr": f"(sum by (job, cache) ({cache_hits}) or {r.cache_gets} * 0) / {r.cache_gets}"},
    ]
    return rules
