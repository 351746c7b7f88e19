"""Every metric django-observe exports, defined once: name, type, labels, help text.

``SPECS`` is the single source: the registry in ``core`` builds the metrics from it and
docs/metrics.md is generated from it (``python -m django_observe.metrics``), so the docs
cannot drift from what ``/metrics`` shows. Names are given without the optional
``METRICS_NAMESPACE`` prefix; ``process_*`` names never get it (Prometheus convention).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

Kind = Literal["counter", "histogram", "gauge"]

#: Fixed label values, so dashboards and alert rules can rely on them.
UNRESOLVED_ENDPOINT = "<unresolved>"
#: The ``name`` of every Celery task not registered in the app (``send_task("typo")``, forged messages).
UNREGISTERED_TASK = "<unregistered>"
#: Statuses of ``celery_tasks_total``.
TASK_STATUSES = ("SUCCESS", "FAILURE", "RETRY", "REVOKED", "REJECTED")
KNOWN_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
OTHER_METHOD = "OTHER"
#: ``observe_internal_errors_total{component}`` values meaning "the error store dropped captured errors"
#: (errors/intake.py, errors/writes.py); the DjangoErrorStoreDroppingEvents alert selects them.
ERROR_STORE_DROP_COMPONENTS = ("errors_dropped", "errors_queue_full")


@dataclasses.dataclass(frozen=True)
class Spec:
    """One exported metric family."""

    name: str
    kind: Kind
    doc: str
    labels: tuple[str, ...] = ()
    section: str = "HTTP"
    #: How prometheus_client merges a gauge over worker processes (multiprocess mode).
    multiprocess_mode: str = ""
    #: Computed at scrape time (a collector), not updated by the code that serves requests.
    computed: bool = False
    #: Skip the METRICS_NAMESPACE prefix (the standard ``process_*`` names).
    global_name: bool = False
    note: str = ""
    #: OBSERVE key holding this histogram's buckets (empty: METRICS_LATENCY_BUCKETS).
    buckets_setting: str = ""


SPECS: tuple[Spec, ...] = (
    # --- HTTP ------------------------------------------------------------------------------
    Spec(
        "http_requests_total",
        "counter",
        "HTTP requests served, by method, URL pattern and status code.",
        ("method", "endpoint", "status_code"),
        note="`method` is one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, else `OTHER`; `endpoint` is the "
        "resolved URL pattern (`items/<int:pk>/`), `<unresolved>` for paths no pattern matched, or the health probe path.",
    ),
    Spec(
        "http_request_duration_seconds",
        "histogram",
        "Time from ObserveMiddleware receiving the request to the response leaving it (streamed: to the last chunk).",
        ("method", "endpoint"),
        note="Observed exactly once per request, also when the view raises. Buckets: `METRICS_LATENCY_BUCKETS`.",
    ),
    Spec(
        "http_requests_in_progress",
        "gauge",
        "HTTP requests being served right now.",
        multiprocess_mode="livesum",
    ),
    Spec(
        "slow_requests_total",
        "counter",
        "Requests slower than OBSERVE['SLOW_REQUEST_THRESHOLD'].",
        ("method", "endpoint"),
    ),
    Spec(
        "exceptions_total",
        "counter",
        "Unhandled exceptions raised while serving a request, by exception class and URL pattern.",
        ("type", "endpoint"),
    ),
    # --- database ------------------------------------------------------------------------------
    Spec(
        "database_queries_total",
        "counter",
        "Database queries executed (executemany counts once), by connection alias and vendor.",
        ("alias", "vendor"),
        section="Database",
        note="Off with `METRICS_DATABASE = False`. Installed with `connection.execute_wrapper()`: no ENGINE change.",
    ),
    Spec(
        "database_query_duration_seconds",
        "histogram",
        "Time spent executing database queries, by connection alias and vendor.",
        ("alias", "vendor"),
        section="Database",
    ),
    Spec(
        "database_errors_total",
        "counter",
        "Database queries that raised an error, by connection alias and vendor.",
        ("alias", "vendor"),
        section="Database",
    ),
    Spec(
        "db_connections_active",
        "gauge",
        "Open database connections in use: checked out of the pool, or inside a transaction or query.",
        ("alias",),
        section="Database",
        multiprocess_mode="livesum",
        note="With Django's psycopg pool (`OPTIONS: {'pool': ...}`) read from the pool's statistics (pool size minus "
        "available; connections the pool is still opening count as active); otherwise the connections this process "
        "holds open (`CONN_MAX_AGE`). Multiprocess: each worker refreshes its own when a request ends.",
    ),
    Spec(
        "db_connections_idle",
        "gauge",
        "Open database connections not in use (available in the pool, or kept open between requests).",
        ("alias",),
        section="Database",
        multiprocess_mode="livesum",
    ),
    # --- cache ----------------------------------------------------------------------------------
    Spec(
        "cache_operations_total",
        "counter",
        "Cache operations by cache alias, operation (get, set, delete) and result (hit, miss, ok, error).",
        ("cache", "operation", "result"),
        section="Cache",
        note="Off with `METRICS_CACHE = False`. Works with any CACHES backend, no BACKEND change; a cached "
        "falsy value (0, '', None stored explicitly) counts as a hit.",
    ),
    # --- process ----------------------------------------------------------------------------------
    Spec(
        "uptime_seconds",
        "gauge",
        "Seconds since this server started (multiprocess: since its oldest live worker started).",
        section="Process",
        computed=True,
    ),
    Spec(
        "build_info",
        "gauge",
        "Always 1; labels say what is running: OBSERVE SERVICE_NAME, VERSION and ENVIRONMENT.",
        ("service", "version", "environment"),
        section="Process",
        multiprocess_mode="livemax",
    ),
    Spec(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory of the process (also `process_virtual_memory_bytes`, "
        "`process_open_fds`, `process_max_fds`, `process_start_time_seconds`).",
        section="Process",
        computed=True,
        global_name=True,
        note="prometheus_client's standard process metrics. In multiprocess mode they are read for every live "
        "worker at scrape time and carry a `pid` label.",
    ),
    Spec(
        "process_cpu_seconds_total",
        "counter",
        "CPU time (user + system) the process used.",
        section="Process",
        computed=True,
        global_name=True,
        note="prometheus_client's; per worker with a `pid` label in multiprocess mode, like the memory.",
    ),
    Spec(
        "observe_internal_errors_total",
        "counter",
        "Failures inside django-observe itself; the request was still served. Should stay 0.",
        ("component",),
        section="Process",
    ),
    # --- health checks (health/metrics.py; the Health section of docs/runbooks) -----------------------
    Spec(
        "health_check_status",
        "gauge",
        "Last result of a health check: 1 pass, 0.5 warn, 0 fail or timeout.",
        ("check",),
        section="Health",
        multiprocess_mode="livemin",
        note="Updated when a check really runs (a probe, `observe_check`, the beat task), not by cached results. "
        "Multiprocess: the worst status of the live workers. `health_check_status == 0` is DOWN.",
    ),
    Spec(
        "health_check_duration_seconds",
        "gauge",
        "Duration of the last run of a health check (its deadline when it timed out).",
        ("check",),
        section="Health",
        multiprocess_mode="livemax",
    ),
    Spec(
        "health_check_last_success_timestamp_seconds",
        "gauge",
        "Unix time of the last pass or warn of a health check.",
        ("check",),
        section="Health",
        multiprocess_mode="livemax",
    ),
    # --- auth (django.contrib.auth signals; metrics/auth.py) -------------------------------------
    Spec(
        "user_logins_total",
        "counter",
        "Login attempts through django.contrib.auth, by result (success or failure).",
        ("result",),
        section="Auth",
        note="From the `user_logged_in` and `user_login_failed` signals: every login path that calls "
        "`authenticate()`/`login()` counts (admin, LoginView, DRF session login), with nothing to add to your views. "
        "Off with `AUTH_METRICS = False`.",
    ),
    Spec(
        "user_logouts_total",
        "counter",
        "Logouts of authenticated users (the `user_logged_out` signal).",
        section="Auth",
    ),
    Spec(
        "user_registrations_total",
        "counter",
        "Users created (post_save of AUTH_USER_MODEL with created=True): sign-ups, createsuperuser, admin adds.",
        section="Auth",
    ),
    Spec(
        "active_users",
        "gauge",
        "Distinct users who logged in within the last ACTIVE_USERS_WINDOW seconds (default 24 h).",
        section="Auth",
        computed=True,
        note="Only with `ACTIVE_USERS_METRIC = True`. Computed at scrape time from `last_login` with one COUNT "
        "query (its result kept 60 s), never per request; the database is shared, so every worker of a multiprocess "
        "server reports the same value.",
    ),
    # --- outbound calls (outbound.py: observe.dependency and the requests/httpx hooks) ------------
    Spec(
        "external_requests_total",
        "counter",
        "Calls to other services, by service, operation and status.",
        ("service", "operation", "status"),
        section="Outbound calls",
        note="`status` is the HTTP status code for HTTP calls (`200`, `503`), `error` when no response came "
        "(refused, timeout), and `success`/`error` for other `observe.dependency()` blocks unless the block sets "
        "its own. `service` comes from your code or from `OUTBOUND_SERVICES` (unmapped hosts: "
        "`OUTBOUND_UNMAPPED_SERVICE`); `operation` from your code, or the HTTP method for the hooks.",
    ),
    Spec(
        "external_request_duration_seconds",
        "histogram",
        "Duration of calls to other services (to the response headers for HTTP calls).",
        ("service", "operation"),
        section="Outbound calls",
    ),
    Spec(
        "external_request_errors_total",
        "counter",
        "Failed calls to other services, by service, operation and error.",
        ("service", "operation", "error"),
        section="Outbound calls",
        note="`error` is the exception class name (`ConnectionError`, `ConnectError`, `ReadTimeout`), or `http_4xx` / "
        "`http_5xx` for an HTTP answer of 400 or more.",
    ),
    # --- Celery -----------------------------------------------------------------------------------
    Spec(
        "celery_tasks_total",
        "counter",
        "Celery tasks that ended, by task name and status (SUCCESS, FAILURE, RETRY, REVOKED, REJECTED).",
        ("name", "status"),
        section="Celery",
        note="Recorded by the worker's signal handlers, no code in your tasks. `name` is a task name registered in the "
        "Celery app, else `<unregistered>`. RETRY counts each run that ended in a retry; REVOKED and REJECTED are counted "
        "by the worker's main process. Same-host workers write into the web's `PROMETHEUS_MULTIPROC_DIR`; others serve "
        "`CELERY_EXPORTER_PORT` ([celery](celery.md)).",
    ),
    Spec(
        "celery_task_duration_seconds",
        "histogram",
        "Run time of Celery tasks in the worker (from task_prerun to task_postrun), by task name.",
        ("name",),
        section="Celery",
        note="Buckets: `CELERY_TASK_DURATION_BUCKETS`.",
        buckets_setting="CELERY_TASK_DURATION_BUCKETS",
    ),
    Spec(
        "celery_tasks_in_progress",
        "gauge",
        "Celery tasks running right now, by task name.",
        ("name",),
        section="Celery",
        multiprocess_mode="livesum",
        note="A prefork child that dies mid-task stops counting: its live files are removed.",
    ),
    Spec(
        "celery_task_retries_total",
        "counter",
        "Retries requested by Celery tasks (`self.retry()`, `autoretry_for`), by task name.",
        ("name",),
        section="Celery",
    ),
    Spec(
        "celery_tasks_published_total",
        "counter",
        "Celery tasks sent to the broker by this process (web or worker), by task name.",
        ("name",),
        section="Celery",
    ),
)

SPECS_BY_NAME: dict[str, Spec] = {spec.name: spec for spec in SPECS}


def render_reference() -> str:
    """docs/metrics.md, generated from SPECS (a test fails when the committed file differs)."""
    lines = [
        "# Metrics reference",
        "",
        "<!-- Generated by `python -m django_observe.metrics > docs/metrics.md`; do not edit by hand. -->",
        "",
        "Every metric django-observe exports at `/metrics`. With `OBSERVE['METRICS_NAMESPACE'] = 'shop'` every",
        "name except `process_*` gets the prefix `shop_` (`shop_http_requests_total`). No `_created` series are",
        "exported. Label values are bounded: the request method comes from a fixed set (else `OTHER`) and the",
        "endpoint is the URL pattern, never the raw path, so a scanner sending random paths and verbs adds no series.",
        "",
        "Protecting the endpoint, multiprocess servers and the Prometheus scrape config: [deployment](deployment.md).",
        "",
    ]
    sections: dict[str, list[Spec]] = {}
    for spec in SPECS:
        sections.setdefault(spec.section, []).append(spec)
    for section, specs in sections.items():
        lines += [f"## {section}", "", "| metric | type | labels | meaning |", "|---|---|---|---|"]
        for spec in specs:
            labels = ", ".join(f"`{label}`" for label in spec.labels) or "–"
            meaning = spec.doc + (f" {spec.note}" if spec.note else "")
            lines.append(f"| `{spec.name}` | {spec.kind} | {labels} | {meaning} |")
        lines.append("")
    lines += _API_DOCS
    return "\n".join(lines)


_API_DOCS = [
    "## Metrics of your own project",
    "",
    "`django_observe.metrics.counter`, `histogram` and `gauge` register a metric once and return the same",
    "object on every later call with the same name, so two modules (or a module imported twice, e.g. by",
    "autoreload or tests) may declare the same metric at import time without `Duplicated timeseries` errors.",
    "A second call with another type or other labels raises `ValueError`. Names are used as given; `namespaced=True`",
    "prefixes `METRICS_NAMESPACE` like the app's own metrics. The same functions are `observe.counter` & co",
    "(`from django_observe import observe`); docs/seeds.md has a tested example with business metrics.",
    "",
    "```python",
    "from django_observe import metrics",
    "",
    'ORDERS = metrics.counter("shop_orders_total", "Orders placed, by payment method.", ["payment"])',
    'CHECKOUT = metrics.histogram("shop_checkout_seconds", "Checkout duration.", buckets=(0.1, 0.5, 1, 5))',
    'QUEUE = metrics.gauge("shop_queue_length", "Orders waiting.", multiprocess_mode="mostrecent")',
    "",
    "def place_order(order):",
    "    with CHECKOUT.time():",
    "        ...",
    "    ORDERS.labels(order.payment).inc()",
    "```",
    "",
    "Keep label values bounded (a fixed set, never ids, paths or user input). Under a multiprocess server",
    "(`PROMETHEUS_MULTIPROC_DIR` set) a gauge needs a `multiprocess_mode`: `livesum` for counts of things",
    "in flight, `mostrecent` for a value any worker may set, `liveall` for one series per worker (label `pid`).",
    "",
    "## Alert rules and a Grafana dashboard",
    "",
    "`python manage.py observe_export rules > django-rules.yml` prints Prometheus recording rules (request",
    "rate, 5xx ratio and p50/p95/p99 latency per job and per endpoint, slow-request ratio, query rate, cache",
    "hit ratio) and the alert set, each alert with a severity and a runbook ([runbooks](runbooks/index.md));",
    "`observe_export dashboard > django.json` prints a Grafana dashboard, and `observe_export kit --output-dir",
    "monitoring/` writes the whole stack (Prometheus, Alertmanager, Grafana, Promtail, docker-compose, Kubernetes):",
    "[operations](operations.md). All of them use the names above with your `METRICS_NAMESPACE`, so regenerate",
    "them when you change it.",
    "",
]
