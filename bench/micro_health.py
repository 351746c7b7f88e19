"""Per-probe cost of the health endpoints vs a bare Django view, in process, through the full WSGI stack.

    python bench/micro_health.py [--rounds 15] [--per-round 200] [--servers 300]

Alternates bare view / live / ready in rounds (medians of per-round means, wall and CPU
time), so machine noise hits all three alike. Then measures p50/p99/max of
/health/ready with one hung dependency (a TCP server that accepts and never answers,
checked as Redis) for a few seconds, with the default shared cache and with none.
Uses the testproject on a fresh SQLite file; stdlib + our venv only.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testproject.settings")
os.environ["OBSERVE_STATE_DIR"] = tempfile.mkdtemp(prefix="observe-bench-")
for variable in ("REDIS_URL", "CELERY_BROKER_URL", "DATABASE_URL"):
    os.environ.pop(variable, None)

import django  # noqa: E402

django.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import override_settings  # noqa: E402

BASE_OBSERVE = {"ACCESS_LOG": False, "HEALTH_DISABLED_CHECKS": ["storage"]}


def request_fn(handler: WSGIHandler, path: str) -> Callable[[], int]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "HTTP_HOST": "127.0.0.1",
    }
    status: list[str] = []

    def start_response(code: str, headers: list[tuple[str, str]]) -> None:
        status.append(code)

    def call() -> int:
        status.clear()
        response = handler(dict(environ), start_response)
        for _chunk in response:
            pass
        response.close()
        return int(status[0][:3])

    return call


def measure(call: Callable[[], int], count: int) -> tuple[float, float]:
    """(wall µs, CPU µs) per call, mean over ``count`` calls."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        call()
    return (time.perf_counter() - wall) / count * 1e6, (time.process_time() - cpu) / count * 1e6


def compare(rounds: int, per_round: int) -> None:
    handler = WSGIHandler()
    calls = {
        name: request_fn(handler, path)
        for name, path in (("bare view /fast/", "/fast/"), ("/health/live", "/health/live"), ("/health/ready", "/health/ready"))
    }
    with override_settings(MIDDLEWARE=[]):
        # The strictest baseline: the same view on Django with no middleware at all.
        calls["/fast/, no middleware"] = request_fn(WSGIHandler(), "/fast/")
    assert all(call() == 200 for call in calls.values())
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            results[name].append(measure(call, per_round))
    bare_wall = statistics.median(w for w, _ in results["bare view /fast/"])
    bare_cpu = statistics.median(c for _, c in results["bare view /fast/"])
    print(f"{'endpoint':<20}{'wall µs':>10}{'CPU µs':>10}{'wall ratio':>12}{'CPU ratio':>11}")
    for name, samples in results.items():
        wall = statistics.median(w for w, _ in samples)
        cpu = statistics.median(c for _, c in samples)
        print(f"{name:<20}{wall:>10.1f}{cpu:>10.1f}{wall / bare_wall:>11.2f}x{cpu / bare_cpu:>10.2f}x")


@contextlib.contextmanager
def hung_server() -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        listener.close()


def hung_dependency(seconds: float) -> None:
    timeout, deadline = 1.0, 2.0
    with hung_server() as port:
        for cache in (2.0, 0.0):
            observe = {
                **BASE_OBSERVE,
                "HEALTH_CHECK_TIMEOUT": timeout,
                "HEALTH_DEADLINE": deadline,
                "HEALTH_CACHE_SECONDS": cache,
                "HEALTH_CHECKS": {"hung_redis": {"check": "django_observe.health.checks.Redis", "url": f"redis://127.0.0.1:{port}/0"}},
            }
            with override_settings(OBSERVE=observe):
                call = request_fn(WSGIHandler(), "/health/ready")
                latencies: list[float] = []
                threads_before = threading.active_count()
                end = time.monotonic() + seconds
                while time.monotonic() < end:
                    began = time.perf_counter()
                    assert call() == 503
                    latencies.append(time.perf_counter() - began)
                latencies.sort()
                p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
                print(
                    f"hung dependency, cache {cache:g} s: {len(latencies)} probes, p50 {statistics.median(latencies) * 1000:.1f} ms, "
                    f"p99 {p99 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms (check timeout {timeout:g} s, deadline {deadline:g} s), "
                    f"threads {threads_before} -> {threading.active_count()}"
                )


def servers(probes: int) -> None:
    """p50/p99/max of /health/ready over HTTP on gunicorn and uvicorn, with one hung dependency."""
    import json
    import urllib.error
    import urllib.request

    from tests.servers import running_server

    timeout, deadline = 1.0, 2.0
    with hung_server() as port:
        observe = {
            "HEALTH_CHECK_TIMEOUT": timeout,
            "HEALTH_DEADLINE": deadline,
            "HEALTH_DISABLED_CHECKS": ["migrations", "storage"],
            "HEALTH_CHECKS": {"hung_redis": {"check": "django_observe.health.checks.Redis", "url": f"redis://127.0.0.1:{port}/0"}},
        }
        for kind in ("gunicorn", "uvicorn"):
            with running_server(
                kind, env={"OBSERVE_JSON": json.dumps(observe), "REDIS_URL": "", "CELERY_BROKER_URL": ""}, migrate=False
            ) as server:
                latencies = []
                for _ in range(probes):
                    began = time.perf_counter()
                    try:
                        urllib.request.urlopen(server.url + "/health/ready", timeout=30).read()
                    except urllib.error.HTTPError as error:
                        assert error.code == 503
                    latencies.append(time.perf_counter() - began)
                latencies.sort()
                p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
                print(
                    f"{kind}: {probes} sequential probes over HTTP, hung dependency: p50 {statistics.median(latencies) * 1000:.1f} ms, "
                    f"p99 {p99 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms (timeout {timeout:g} s, deadline {deadline:g} s)"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--per-round", type=int, default=200)
    parser.add_argument("--hung-seconds", type=float, default=8.0)
    parser.add_argument("--servers", type=int, default=0, metavar="N", help="also N probes over HTTP on gunicorn and uvicorn")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    with override_settings(OBSERVE=BASE_OBSERVE):
        compare(args.rounds, args.per_round)
        with override_settings(OBSERVE={**BASE_OBSERVE, "HEALTH_CACHE_SECONDS": 0}):
            call = request_fn(WSGIHandler(), "/health/ready")
            wall, cpu = statistics.median([measure(call, 20)[0] for _ in range(5)]), measure(call, 50)[1]
            print(f"/health/ready uncached (every probe runs database, migrations, cache): wall {wall:.0f} µs, CPU {cpu:.0f} µs")
    hung_dependency(args.hung_seconds)
    if args.servers:
        servers(args.servers)


if __name__ == "__main__":
    main()
