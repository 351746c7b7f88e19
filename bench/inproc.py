#!/usr/bin/env python
"""In-process per-request cost of one stack: no sockets, no wrk, one process, one core.

    STACK=observe python inproc.py [--n 20000] [--boom-n 1000] [--extra-n 2000]
                                   [--modes client,wsgi] [--round 1]

Modes
  client  django.test.Client. Caveat: the test client calls BaseHandler directly, so it skips
          the WSGI entry point (sentry-sdk wraps WSGIHandler.__call__) and it does not close
          the DB connection after each request.
  wsgi    the project's real WSGI callable (benchsite.wsgi.application) called with a fresh
          environ per request, exactly what gunicorn does minus socket I/O and HTTP parsing.

For each endpoint: warm up, then time N requests with time.perf_counter (wall) and
time.process_time (CPU of this process, all threads: an error writer thread counts); also
reports how many cores OTHER processes on the machine used meanwhile (from /proc/stat), to flag
runs disturbed by neighbours. Prints one JSON line per (mode, endpoint), then one line with
the structured-log line count and one with what of django-observe was active.
"""

import argparse
import importlib.util
import io
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "site"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")

# A fresh database per run (before Django opens it): the same starting point every time, and
# migrations that changed since the last run are applied from scratch.
for _suffix in ("", "-wal", "-shm") if not os.environ.get("BENCH_DB_FILE") else ():
    Path(os.environ.get("BENCH_STATE_DIR", "/tmp/obsbench"), f"db-{os.environ.get('STACK', 'bare')}.sqlite3{_suffix}").unlink(missing_ok=True)

# The WSGI module runs django.setup() once, as under gunicorn. (A second django.setup() would
# re-run Django's logging dictConfig, which closes every handler created before it.)
from benchsite.wsgi import application  # noqa: E402

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

EXPECTED = {"/ping": 200, "/db": 200, "/boom": 500, "/health/ready": 200, "/metrics": 200}
# Credentials a monitoring system sends (observe protects /metrics and /health/detailed).
METRICS_TOKEN = "bench-metrics-token"
EXTRA_ENDPOINTS = {
    "bare": [],
    "peers": ["/health/ready", "/metrics"],
    "observe": ["/health/ready", "/metrics"],
}


def headers_for(path):
    """Extra request headers per endpoint, as WSGI environ keys."""
    if path == "/metrics":
        return {"HTTP_AUTHORIZATION": f"Bearer {METRICS_TOKEN}"}
    if path == "/health/ready":
        return {"HTTP_ACCEPT": "application/json"}
    return {}


def make_client_call():
    from django.test import Client

    client = Client(raise_request_exception=False, HTTP_USER_AGENT="inproc-bench")

    def call(path):
        return client.get(path, **headers_for(path)).status_code

    return call


def make_wsgi_call():
    base = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "40000",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": "inproc-bench",
        "HTTP_ACCEPT": "*/*",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    status_box = []

    def start_response(status, headers, exc_info=None):
        status_box.append(status)
        return lambda data: None

    def call(path):
        environ = dict(base)
        environ.update(headers_for(path))
        environ["PATH_INFO"] = path
        environ["wsgi.input"] = io.BytesIO(b"")
        status_box.clear()
        result = application(environ, start_response)
        try:
            for _chunk in result:
                pass
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()  # fires request_finished, as a WSGI server would
        return int(status_box[0].split(" ", 1)[0])

    return call


def machine_busy_seconds():
    """CPU seconds all processes on the machine have used (user+nice+system+irq+softirq+steal)."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def drain():
    """Wait until errors captured so far are stored (observe's writer thread), so their storage counts.

    Returns False when there is no such writer (other stacks, or a version without it).
    """
    if settings.STACK != "observe":
        return False
    try:
        from django_observe.errors import store
    except ImportError:
        return False
    flush = getattr(store, "flush", None)
    return bool(flush and flush(timeout=60.0))


def bench(call, path, n, warmup):
    """Returns (wall us/req, CPU us/req of this process, other processes' CPU in cores).

    The timing ends after a background error writer has stored what the requests captured.
    """
    expected = EXPECTED[path]
    for _ in range(warmup):
        status = call(path)
        if status != expected:
            raise SystemExit(f"{settings.STACK} {path}: got HTTP {status}, expected {expected}")
    drain()
    m0 = machine_busy_seconds()
    t0 = time.perf_counter()
    c0 = time.process_time()
    for _ in range(n):
        call(path)
    drain()
    c1 = time.process_time()
    t1 = time.perf_counter()
    m1 = machine_busy_seconds()
    status = call(path)
    if status != expected:
        raise SystemExit(f"{settings.STACK} {path}: got HTTP {status} after timing, expected {expected}")
    other_cores = max(0.0, (m1 - m0) - (c1 - c0)) / (t1 - t0)
    return (t1 - t0) * 1e6 / n, (c1 - c0) * 1e6 / n, other_cores


def observe_capabilities():
    """Which parts of django-observe exist in the installed version and are switched on."""
    if settings.STACK != "observe":
        return {}
    found = {}
    for name in ("metrics", "sentry", "errors.store", "health.runner", "gunicorn", "logging", "middleware"):
        try:
            found[name] = importlib.util.find_spec(f"django_observe.{name}") is not None
        except ModuleNotFoundError:
            found[name] = False
    try:
        import sentry_sdk

        client = sentry_sdk.get_client()
        found["sentry_sdk_initialised"] = bool(client.is_active())
        found["sentry_dsn"] = bool(getattr(client, "dsn", None))
    except Exception:  # an old or absent SDK: report it as not initialised
        found["sentry_sdk_initialised"] = False
    found["prometheus_multiprocess"] = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
    from django.urls import get_resolver

    routes = sorted(str(p.pattern) for p in get_resolver().url_patterns)
    found["routes"] = routes
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20000, help="timed requests per endpoint for /ping and /db")
    ap.add_argument("--boom-n", type=int, default=1000, help="timed requests for /boom (0 = skip)")
    ap.add_argument("--extra-n", type=int, default=0, help="timed requests for /health/ready and /metrics (0 = skip)")
    ap.add_argument("--modes", default="client,wsgi", help="comma list of client,wsgi")
    ap.add_argument("--round", type=int, default=1, help="round number, copied into the output")
    args = ap.parse_args()

    call_command("migrate", interactive=False, verbosity=0)

    log_file = Path(settings.BENCH_LOG_FILE)
    if log_file.exists():
        log_file.write_text("")  # the handler appends (O_APPEND), so truncating is safe

    makers = {"client": make_client_call, "wsgi": make_wsgi_call}
    plan = [("/ping", args.n), ("/db", args.n)]
    if args.boom_n > 0:
        plan.append(("/boom", args.boom_n))
    if args.extra_n > 0:
        plan += [(ep, args.extra_n) for ep in EXTRA_ENDPOINTS[settings.STACK]]

    total_requests = 0
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        call = makers[mode]()
        for path, n in plan:
            if path in EXTRA_ENDPOINTS[settings.STACK] and call(path) == 404:
                # That capability has not landed in the installed version yet.
                print(json.dumps({"kind": "inproc-missing", "stack": settings.STACK, "mode": mode, "endpoint": path}), flush=True)
                continue
            warmup = max(200, n // 20)
            us_wall, us_cpu, other_cores = bench(call, path, n, warmup)
            total_requests += warmup + n + 1
            print(
                json.dumps(
                    {
                        "kind": "inproc",
                        "stack": settings.STACK,
                        "mode": mode,
                        "endpoint": path,
                        "n": n,
                        "round": args.round,
                        "us_per_req": round(us_wall, 2),
                        "cpu_us_per_req": round(us_cpu, 2),
                        "other_cores": round(other_cores, 2),
                    }
                ),
                flush=True,
            )

    lines = sum(1 for _ in log_file.open()) if log_file.exists() else 0
    print(
        json.dumps(
            {
                "kind": "inproc-log",
                "stack": settings.STACK,
                "round": args.round,
                "requests": total_requests,
                "log_lines": lines,
                "log_bytes": log_file.stat().st_size if log_file.exists() else 0,
            }
        ),
        flush=True,
    )
    caps = observe_capabilities()
    if caps:
        print(json.dumps({"kind": "observe-capabilities", "round": args.round, **caps}), flush=True)


if __name__ == "__main__":
    main()
