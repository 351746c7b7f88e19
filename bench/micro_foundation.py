"""Per-request cost of ObserveMiddleware (request id, context, access line) vs bare Django, in-process.

Each round runs every variant in its own subprocess, alternating, calling the real WSGI
handler with a fresh environ per request (what gunicorn does minus sockets). Prints the
median µs/request per variant, the added µs vs bare and the ratio, per round and overall.

    python bench/micro_foundation.py [--n 20000] [--rounds 5]

Variants: bare (Security + Common middleware), observe-nolog (ObserveMiddleware first,
ACCESS_LOG off, metrics off), observe-log (+ one JSON access line to a file), observe-full
(+ metrics).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

VARIANTS = ["bare", "observe-nolog", "observe-log", "observe-full"]


def run_variant(variant: str, n: int, warmup: int | None = None) -> dict[str, float]:
    """In the child: configure Django for ``variant``, warm up, time n requests; wall and CPU µs/request.

    CPU time (process_time) is the steadier figure on a shared machine: it does not count the
    time the process waits for a core.
    """
    import django
    from django.conf import settings
    from django.http import JsonResponse
    from django.urls import path

    log_file = os.path.join(tempfile.mkdtemp(prefix="observe-micro-"), "access.jsonl")
    base = ["django.middleware.security.SecurityMiddleware", "django.middleware.common.CommonMiddleware"]
    observe = variant != "bare"
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["django_observe"] if observe else [],
        MIDDLEWARE=(["django_observe.middleware.ObserveMiddleware"] if observe else []) + base,
        DATABASES={},
        OBSERVE={
            "ACCESS_LOG": variant in ("observe-log", "observe-full"),
            "METRICS_ENABLED": variant == "observe-full",
            "LOG_FILE": log_file,
            "SENTRY_ENABLED": False,
            "ERRORS_ENABLED": False,
        },
        LOGGING_CONFIG=None if not observe else "logging.config.dictConfig",
    )

    def ping(request):  # type: ignore[no-untyped-def]
        return JsonResponse({"ok": True})

    globals()["urlpatterns"] = [path("ping", ping)]
    django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()

    def environ() -> dict:  # type: ignore[type-arg]
        return {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/ping",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "SERVER_PROTOCOL": "HTTP/1.1",
        }

    def start_response(status, headers, exc_info=None):  # type: ignore[no-untyped-def]
        return None

    def one() -> None:
        response = handler(environ(), start_response)
        for _ in response:
            pass
        response.close()

    for _ in range(min(2000, n) if warmup is None else warmup):
        one()
    began, began_cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        one()
    elapsed, cpu = time.perf_counter() - began, time.process_time() - began_cpu
    if variant in ("observe-log", "observe-full"):
        with open(log_file) as lines:
            written = sum(1 for _ in lines)
        assert written >= n, f"expected {n} access lines, found {written}"
    return {"us": elapsed / max(n, 1) * 1e6, "cpu_us": cpu / max(n, 1) * 1e6}


def _instructions(variant: str, n: int) -> int:
    """Instructions executed by a child serving 200 warm-up + n requests, counted by callgrind."""
    completed = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--variant",
            variant,
            "--n",
            str(n),
            "--warmup",
            "200",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))},
    )
    [line] = [line for line in completed.stderr.splitlines() if "Collected :" in line]
    return int(line.split(":")[-1].strip())


def count_instructions(n: int) -> None:
    """Per-request instructions: (run with n requests - run with 0) / n, per variant. Machine load does not change it."""
    per_request = {}
    for variant in VARIANTS:
        per_request[variant] = (_instructions(variant, n) - _instructions(variant, 0)) / n
        print(f"{variant}: {per_request[variant]:,.0f} instructions/request", flush=True)
    bare = per_request["bare"]
    print(f"\nWSGI in-process, /ping, {n} requests after 200 warm-up, callgrind instruction counts.")
    print("\n| variant | instructions/request | added vs bare | ratio |")
    print("|---|---|---|---|")
    for variant, value in per_request.items():
        print(f"| {variant} | {value:,.0f} | {value - bare:+,.0f} | {value / bare:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="Count CPU instructions per request under valgrind (deterministic; slow) instead of timing.",
    )
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.n, args.warmup)))
        return
    if args.instructions:
        count_instructions(min(args.n, 1000))
        return
    results: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    wall: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    for round_number in range(1, args.rounds + 1):
        row = []
        for variant in VARIANTS:
            output = subprocess.run(
                [sys.executable, __file__, "--variant", variant, "--n", str(args.n)],
                check=True,
                capture_output=True,
                text=True,
                timeout=600,
                env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))},
            ).stdout
            measured = json.loads(output.strip().splitlines()[-1])
            results[variant].append(measured["cpu_us"])
            wall[variant].append(measured["us"])
            row.append(f"{variant} {measured['cpu_us']:.1f} cpu / {measured['us']:.1f} wall")
        print(f"round {round_number}: " + ", ".join(row) + " µs/req", flush=True)
    bare = results["bare"]
    print(f"\nWSGI in-process, /ping, n={args.n} per round, {args.rounds} alternating rounds; CPU µs per request (wall in brackets).")
    print(
        "\n| variant | CPU µs/req median (min-max) | wall µs/req median | added CPU µs vs bare (median of per-round deltas) | ratio (median of per-round) |"
    )
    print("|---|---|---|---|---|")
    for variant in VARIANTS:
        values = results[variant]
        deltas = [v - b for v, b in zip(values, bare)]
        ratios = [v / b for v, b in zip(values, bare)]
        print(
            f"| {variant} | {statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f}) | {statistics.median(wall[variant]):.1f} | "
            f"{statistics.median(deltas):+.1f} | {statistics.median(ratios):.2f} |"
        )


if __name__ == "__main__":
    main()
