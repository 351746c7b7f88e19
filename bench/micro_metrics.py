"""Micro-benchmarks of django-observe's metrics, in-process, alternating against a baseline, medians.

    /tmp/v311/bin/python bench/micro_metrics.py [--rounds 15] [--requests 2000]

1. Per request: Django's WSGIHandler on a tiny view, three variants in one alternating run:
   bare Django, ObserveMiddleware with METRICS_ENABLED=False, and with metrics on. The metrics
   part is (metrics on) - (metrics off); the ratio is vs bare. Also the bare cost of the two
   functions the middleware calls.
2. Scrape: /metrics with ~1,000 series, Prometheus text vs OpenMetrics, plain vs gzip.
3. Per query: SQLite ``SELECT 1`` bare vs our ``execute_wrapper`` vs django-prometheus's backend.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import statistics
import sys
import time
from collections.abc import Callable

import django
from django.conf import settings

ROUNDS_DEFAULT = 15


def configure() -> None:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-" + "x" * 40,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django_observe"],
        MIDDLEWARE=[],
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
            "peer": {"ENGINE": "django_prometheus.db.backends.sqlite3", "NAME": ":memory:"},
        },
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        OBSERVE={"ACCESS_LOG": False, "CONFIGURE_LOGGING": False, "METRICS_PUBLIC": True},
        LOGGING_CONFIG=None,
        USE_TZ=True,
    )
    django.setup()


def _view(request, **kwargs):
    from django.http import HttpResponse

    return HttpResponse(b"ok")


def urlpatterns_factory() -> list:
    from django.urls import path

    from django_observe.metrics.export import metrics_view

    return [path("items/<int:pk>/", _view), path("metrics", metrics_view)]


def environ(path: str, **extra: str) -> dict:
    env = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }
    env.update(extra)
    return env


def handler(middleware: list[str]) -> Callable[[], None]:
    from django.core.handlers.wsgi import WSGIHandler
    from django.test.utils import override_settings

    with override_settings(MIDDLEWARE=middleware):
        app = WSGIHandler()
    env = environ("/items/7/")

    def start_response(status: str, headers: list) -> None:
        pass

    def call() -> None:
        env["wsgi.input"] = io.BytesIO(b"")
        response = app(env, start_response)
        for _ in response:
            pass
        response.close()

    return call


def per_call(fn: Callable[[], None], n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n


def bench_requests(rounds: int, n: int) -> None:
    """Small batches, alternated many times: load from other processes hits every variant alike."""
    import types

    from django_observe import metrics
    from django_observe import middleware as observe_middleware

    bare = handler([])
    observed = handler(["django_observe.middleware.ObserveMiddleware"])
    real = observe_middleware.metrics
    # "metrics off" = the same middleware with the three metric functions as no-ops: the
    # difference to "metrics on" is exactly what the metrics part costs inside a request.
    stub = types.SimpleNamespace(request_started=lambda: None, request_finished=lambda *args: None, internal_error=lambda c: None)

    def with_metrics(enabled: bool, count: int) -> float:
        observe_middleware.metrics = real if enabled else stub  # type: ignore[assignment]
        try:
            return per_call(observed, count)
        finally:
            observe_middleware.metrics = real

    def both_functions() -> None:
        metrics.request_started()
        metrics.request_finished("GET", "items/<int:pk>/", 200, 0.004, False, None)

    for warm in (bare, observed):
        per_call(warm, 500)
    batch = 200
    batches = max(rounds * n // batch, 3 * rounds)
    samples: dict[str, list[float]] = {"bare": [], "observe, metrics off": [], "observe, metrics on": [], "functions only": []}
    runs = [
        ("bare", lambda: per_call(bare, batch)),
        ("observe, metrics off", lambda: with_metrics(False, batch)),
        ("observe, metrics on", lambda: with_metrics(True, batch)),
        ("functions only", lambda: per_call(both_functions, batch)),
    ]
    for number in range(batches):
        shift = number % len(runs)
        for name, run in runs[shift:] + runs[:shift]:
            samples[name].append(run())
    med = {name: statistics.median(values) * 1e6 for name, values in samples.items()}
    print(f"## Per request ({batches} alternating batches x {batch} requests, median µs/request)")
    for name, value in med.items():
        print(f"  {name:24s} {value:8.2f} µs   x{value / med['bare']:.2f} vs bare")
    print(
        f"  metrics part (on - off): {med['observe, metrics on'] - med['observe, metrics off']:.2f} µs/request;"
        f" request_started+request_finished alone: {med['functions only']:.2f} µs"
    )


def sample_lines(body: bytes) -> int:
    return sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))


def bench_scrape(rounds: int) -> None:
    from django_observe import metrics
    from django_observe.metrics.export import render

    endpoint = 0
    while sample_lines(render(None, None)[0]) < 1000:
        metrics.request_finished("GET", f"bench/{endpoint}/", 200, 0.01, False, None)
        endpoint += 1
    plain = render(None, None)[0]
    accept_om = "application/openmetrics-text;version=1.0.0"
    print(f"## Scrape with {sample_lines(plain)} series ({endpoint} endpoints), median of {rounds * 3} scrapes")
    for label, accept, encoding in (
        ("text", None, None),
        ("text+gzip", None, "gzip"),
        ("openmetrics", accept_om, None),
        ("openmetrics+gzip", accept_om, "gzip"),
    ):
        times = []
        for _ in range(rounds * 3):
            started = time.perf_counter()
            body, _, gzipped = render(accept, encoding)
            times.append(time.perf_counter() - started)
        size = len(body)
        if gzipped:
            assert gzip.decompress(body)
        print(
            f"  {label:18s} {size:8d} bytes  {statistics.median(times) * 1000:7.2f} ms"
            f"{f'   {len(plain) / size:.1f}x smaller than text' if gzipped else ''}"
        )


def bench_queries(rounds: int, n: int) -> None:
    from django.db import connections

    from django_observe.metrics import db

    default, peer = connections["default"], connections["peer"]
    default.ensure_connection()
    peer.ensure_connection()

    def run(connection) -> float:
        with connection.cursor() as cursor:
            started = time.perf_counter()
            for _ in range(n):
                cursor.execute("SELECT 1")
            return (time.perf_counter() - started) / n

    def bare() -> float:
        db.uninstall()
        return run(default)

    def ours() -> float:
        db.instrument(default)
        try:
            return run(default)
        finally:
            db.uninstall()

    samples: dict[str, list[float]] = {"bare sqlite": [], "execute_wrapper (ours)": [], "django-prometheus backend": []}
    for round_number in range(rounds):
        order = [("bare sqlite", bare), ("execute_wrapper (ours)", ours), ("django-prometheus backend", lambda: run(peer))]
        if round_number % 2:
            order.reverse()
        for name, fn in order:
            samples[name].append(fn())
    med = {name: statistics.median(values) * 1e6 for name, values in samples.items()}
    print(f"## Per query, SQLite SELECT 1 ({rounds} alternating rounds x {n} queries, median µs/query)")
    for name, value in med.items():
        print(f"  {name:28s} {value:7.2f} µs   +{value - med['bare sqlite']:.2f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS_DEFAULT)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    configure()
    globals()["urlpatterns"] = urlpatterns_factory()
    print(f"Python {sys.version.split()[0]}, Django {django.get_version()}")
    bench_requests(args.rounds, args.requests)
    bench_queries(args.rounds, args.requests * 2)
    bench_scrape(args.rounds)


if __name__ == "__main__":
    main()
