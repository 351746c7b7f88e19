#!/usr/bin/env python
"""In-process per-request cost of one stack: no sockets, no wrk, one process, one core.

    STACK=observe python inproc.py [--n 20000] [--boom-n 1000] [--extra-n 2000]
                                   [--modes client,wsgi,asgi] [--round 1]

Modes
  client  django.test.Client. Caveat: the test client calls BaseHandler directly, so it skips
          the WSGI entry point (sentry-sdk wraps WSGIHandler.__call__) and it does not close
          the DB connection after each request.
  wsgi    the project's real WSGI callable (benchsite.wsgi.application) called with a fresh
          environ per request, exactly what gunicorn does minus socket I/O and HTTP parsing.
  asgi    the project's ASGI callable (benchsite.asgi.application, Django's ASGIHandler) awaited
          with a fresh scope per request, sequentially in one event loop: what uvicorn does minus
          sockets and HTTP parsing. Includes Django's thread hops (sync_to_async) for sync
          middleware and views; /aping is the async view.

The database is made fresh by dbprep.py (same schema for every stack) before Django starts.

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

# A fresh database per run (before Django opens it), with the schema every stack shares.
if os.environ.get("BENCH_SKIP_DBPREP") != "1":
    import subprocess

    subprocess.run([sys.executable, str(HERE / "dbprep.py")], check=True, timeout=900)

# The WSGI module runs django.setup() once, as under gunicorn. (A second django.setup() would
# re-run Django's logging dictConfig, which closes every handler created before it.)
from benchsite.wsgi import application  # noqa: E402
from django.conf import settings  # noqa: E402

EXPECTED = {"/ping": 200, "/aping": 200, "/db": 200, "/boom": 500, "/health/ready": 200, "/metrics": 200}
# Credentials a monitoring system sends (observe protects /metrics and /health/detailed).
METRICS_TOKEN = "bench-metrics-token"
EXTRA_ENDPOINTS = {
    "bare": [],
    "peers": ["/health/ready", "/metrics"],
    "observe": ["/health/ready", "/metrics"],
    "project-bare": [],
    "project-observe": ["/health/ready", "/metrics"],
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


def make_asgi_call():
    import asyncio

    from benchsite.asgi import application as asgi_application

    loop = asyncio.new_event_loop()
    base_headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"inproc-bench"), (b"accept", b"*/*")]

    async def one(path):
        extra = [(k[5:].lower().replace("_", "-").encode(), v.encode()) for k, v in headers_for(path).items()]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": base_headers + extra,
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        sent = []
        done = asyncio.Event()
        body_given = []

        async def receive():
            if not body_given:
                body_given.append(True)
                return {"type": "http.request", "body": b"", "more_body": False}
            await done.wait()  # Django listens for a disconnect until the response is out
            return {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                done.set()

        await asgi_application(scope, receive, send)
        return sent[0]["status"]

    def call(path):
        return loop.run_until_complete(one(path))

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
    if not settings.WITH_OBSERVE:
        return False
    for name in ("django_observe.errors.intake", "django_observe.errors.store"):  # newest layout first
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        flush = getattr(module, "flush", None)
        if flush is not None:
            return bool(flush(timeout=60.0))
    return False


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
    if not settings.WITH_OBSERVE:
        return {}
    found = {}
    for name in ("metrics", "sentry", "errors.intake", "errors.store", "health.runner", "gunicorn", "logging", "middleware"):
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
    import django_observe

    found["source"] = os.path.dirname(django_observe.__file__)
    from django.urls import get_resolver

    routes = sorted(str(p.pattern) for p in get_resolver().url_patterns)
    found["routes"] = routes
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20000, help="timed requests per endpoint for /ping and /db")
    ap.add_argument("--boom-n", type=int, default=1000, help="timed requests for /boom (0 = skip)")
    ap.add_argument("--extra-n", type=int, default=0, help="timed requests for /health/ready and /metrics (0 = skip)")
    ap.add_argument("--modes", default="client,wsgi", help="comma list of client,wsgi,asgi")
    ap.add_argument("--asgi-n", type=int, default=2000, help="timed requests per endpoint in asgi mode (slower: thread hops)")
    ap.add_argument("--aping", action="store_true", help="also /aping (the async view; always in asgi mode)")
    ap.add_argument("--round", type=int, default=1, help="round number, copied into the output")
    args = ap.parse_args()

    log_file = Path(settings.BENCH_LOG_FILE)
    if log_file.exists():
        log_file.write_text("")  # the handler appends (O_APPEND), so truncating is safe

    makers = {"client": make_client_call, "wsgi": make_wsgi_call, "asgi": make_asgi_call}
    base_plan = [("/ping", args.n), ("/db", args.n)]
    if args.boom_n > 0:
        base_plan.append(("/boom", args.boom_n))
    if args.extra_n > 0:
        base_plan += [(ep, args.extra_n) for ep in EXTRA_ENDPOINTS[settings.STACK]]

    total_requests = 0
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        call = makers[mode]()
        plan = list(base_plan)
        if args.aping or mode == "asgi":
            plan.insert(1, ("/aping", args.n))
        if mode == "asgi":
            plan = [(path, min(n, args.asgi_n)) for path, n in plan]
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
