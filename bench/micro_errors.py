"""Per-request cost of error capture (Sentry setup + local store) vs the same stack without it, in-process.

Each round runs every variant in its own subprocess, alternating, calling the real WSGI
handler with a fresh environ per request (what gunicorn does minus sockets): sentry-sdk
patches ``WSGIHandler.__call__``, so the peer setup pays what it pays in production.
CPU time is ``process_time`` (all threads of the process), so the writer thread's
storage work is counted in the failing request's figure.

    python bench/micro_errors.py [--n 20000] [--boom-n 1500] [--rounds 5]

Variants (all with ObserveMiddleware and a JSON access line to a file):
  none        no error capture at all (init_sentry's receiver and log handler removed) = the baseline
  observe     our default: SDK initialised without per-request integrations, no DSN, local store
              with the writer thread (the /boom storm soon takes the counting fast path)
  observe-all the same, but every failure is built, scrubbed AND stored as an event
              (ERRORS_EVENTS_PER_HOUR huge): the worst case for a failing request
  sync        the same with ERRORS_SYNC (storage inline in the failing request)
  sdk-full    our init with SENTRY_INTEGRATIONS="full" (sentry-sdk's Django+logging integrations)
  peer        the peer stack's line: sentry_sdk.init(dsn=None, integrations=[DjangoIntegration()]),
              no local store
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

VARIANTS = ["none", "observe", "observe-all", "sync", "sdk-full", "peer"]


def run_variant(variant: str, n: int, boom_n: int) -> dict[str, float]:
    """In the child: configure Django for ``variant``, warm up, time /ping and /boom; µs per request."""
    import logging

    import django
    from django.conf import settings
    from django.http import JsonResponse
    from django.urls import path

    state = tempfile.mkdtemp(prefix="observe-micro-errors-")
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["django_observe"],
        MIDDLEWARE=[
            "django_observe.middleware.ObserveMiddleware",
            "django.middleware.security.SecurityMiddleware",
            "django.middleware.common.CommonMiddleware",
        ],
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(state, "db.sqlite3"), "OPTIONS": {"timeout": 20}}
        },
        USE_TZ=True,
        OBSERVE={
            "ACCESS_LOG": True,
            "METRICS_ENABLED": False,
            "LOG_FILE": os.path.join(state, "app.jsonl"),
            "SENTRY_ENABLED": variant in ("observe", "observe-all", "sync", "sdk-full"),
            "SENTRY_INTEGRATIONS": "full" if variant == "sdk-full" else "auto",
            "ERRORS_SYNC": variant == "sync",
            "ERRORS_EVENTS_PER_HOUR": 10**9 if variant == "observe-all" else 10,
            "ERRORS_ENABLED": variant != "peer",
        },
    )

    def ping(request):  # type: ignore[no-untyped-def]
        return JsonResponse({"ok": True})

    def boom(request):  # type: ignore[no-untyped-def]
        password = "bench-secret"  # noqa: F841
        raise RuntimeError("bench failure")

    globals()["urlpatterns"] = [path("ping", ping), path("boom", boom)]
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.core.signals import got_request_exception

    from django_observe import sentry
    from django_observe.errors import store

    if variant in ("none", "peer"):
        got_request_exception.disconnect(dispatch_uid="django_observe.sentry")
        if sentry._state.handler is not None:
            logging.getLogger().removeHandler(sentry._state.handler)
    if variant == "peer":
        import sentry_sdk
        from sentry_sdk.integrations.django import DjangoIntegration

        sentry_sdk.init(dsn=None, integrations=[DjangoIntegration()])
    # Attribution, immune to the noise between processes: CPU of the capture itself (this
    # thread only) per failing request, and CPU of the writer thread per stored failure.
    capture_cpu: list[float] = []
    if variant in ("observe", "observe-all", "sync"):
        receiver = sentry._on_request_exception

        def timed(sender, **kwargs):  # type: ignore[no-untyped-def]
            began = time.thread_time()
            receiver(sender, **kwargs)
            capture_cpu.append(time.thread_time() - began)

        got_request_exception.disconnect(dispatch_uid="django_observe.sentry")
        got_request_exception.connect(timed, dispatch_uid="django_observe.sentry", weak=False)

    def writer_cpu() -> float:
        thread = store.store._thread
        if thread is None or thread.ident is None or not thread.is_alive():
            return 0.0
        return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))

    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()

    def environ(path_info: str) -> dict:  # type: ignore[type-arg]
        return {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path_info,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "SERVER_PROTOCOL": "HTTP/1.1",
        }

    statuses: list[str] = []

    def start_response(status, headers, exc_info=None):  # type: ignore[no-untyped-def]
        statuses.append(status)

    def one(path_info: str) -> None:
        response = handler(environ(path_info), start_response)
        for _ in response:
            pass
        response.close()

    measured: dict[str, float] = {}
    for path_info, count in (("/ping", n), ("/boom", boom_n)):
        for _ in range(min(500, count)):
            one(path_info)
        store.flush(60)
        statuses.clear()
        capture_cpu.clear()
        began, began_cpu, began_writer = time.perf_counter(), time.process_time(), writer_cpu()
        for _ in range(count):
            one(path_info)
        store.flush(120)  # the writer's work belongs to the failing requests' cost
        elapsed, cpu = time.perf_counter() - began, time.process_time() - began_cpu
        if path_info == "/boom" and capture_cpu:
            measured["capture_us"] = statistics.median(capture_cpu) * 1e6
            measured["writer_us"] = max(0.0, writer_cpu() - began_writer) / count * 1e6
        expected = "200 OK" if path_info == "/ping" else "500 Internal Server Error"
        assert statuses.count(expected) == count, statuses[:3]
        key = path_info.strip("/")
        measured[f"{key}_us"] = elapsed / count * 1e6
        measured[f"{key}_cpu_us"] = cpu / count * 1e6
    if variant in ("observe", "observe-all", "sync", "sdk-full"):
        from django_observe.models import ErrorGroup

        counted = ErrorGroup.objects.get().count
        assert counted == min(500, boom_n) + boom_n, counted  # exact: nothing lost
        measured["stored_count"] = counted
    return measured


def hook_cost(n: int = 200_000) -> float:
    """What lean mode adds to a request that does not fail, measured directly: our ERROR-level
    handler on the root logger sees the request's INFO access line (ns per log record)."""
    import logging

    root = logging.Logger("bench-root")  # a private logger tree: nothing else attached
    root.addHandler(logging.NullHandler())
    record = logging.LogRecord("django_observe.request", logging.INFO, __file__, 1, "request_finished", None, None)

    class Gate(logging.Handler):  # the same level gate as django_observe.sentry.ErrorLogHandler
        def emit(self, record: logging.LogRecord) -> None:
            raise AssertionError("never reached for INFO")

    def timed() -> float:
        began = time.perf_counter()
        for _ in range(n):
            root.callHandlers(record)
        return (time.perf_counter() - began) / n

    rounds = []
    for _ in range(5):
        without = timed()
        gate = Gate(logging.ERROR)
        root.addHandler(gate)
        with_gate = timed()
        root.removeHandler(gate)
        rounds.append(with_gate - without)
    return statistics.median(rounds) * 1e9


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--boom-n", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.n, args.boom_n)))
        return
    variants = args.variants.split(",")
    cpu: dict[str, dict[str, list[float]]] = {v: {"ping": [], "boom": [], "capture": [], "writer": []} for v in variants}
    for round_number in range(1, args.rounds + 1):
        row = []
        for variant in variants:
            output = subprocess.run(
                [sys.executable, __file__, "--variant", variant, "--n", str(args.n), "--boom-n", str(args.boom_n)],
                check=True,
                capture_output=True,
                text=True,
                timeout=900,
                env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))},
            ).stdout
            measured = json.loads(output.strip().splitlines()[-1])
            cpu[variant]["ping"].append(measured["ping_cpu_us"])
            cpu[variant]["boom"].append(measured["boom_cpu_us"])
            if "capture_us" in measured:
                cpu[variant]["capture"].append(measured["capture_us"])
                cpu[variant]["writer"].append(measured["writer_us"])
            row.append(f"{variant} ping {measured['ping_cpu_us']:.1f} boom {measured['boom_cpu_us']:.0f}")
        print(f"round {round_number}: " + ", ".join(row) + " (CPU µs/req)", flush=True)
    print(f"\nWSGI in-process, n={args.n} /ping and {args.boom_n} /boom per round, {args.rounds} alternating rounds.")
    print(
        "CPU µs per request (all threads, so the writer thread's storage is included); deltas are medians of per-round differences vs `none`.\n"
    )
    print("| variant | /ping µs (median) | added to /ping vs none | /boom µs (median) | added to /boom vs none |")
    print("|---|---|---|---|---|")
    base = cpu.get("none")
    for variant in variants:
        ping, boom = cpu[variant]["ping"], cpu[variant]["boom"]
        if base:
            dping = statistics.median([a - b for a, b in zip(ping, base["ping"])])
            dboom = statistics.median([a - b for a, b in zip(boom, base["boom"])])
            deltas = (f"{dping:+.1f}", f"{dboom:+.0f}")
        else:
            deltas = ("", "")
        print(f"| {variant} | {statistics.median(ping):.1f} | {deltas[0]} | {statistics.median(boom):.0f} | {deltas[1]} |")
    print(
        f"\nLean mode's only per-request hook (the root logger's ERROR gate seeing the INFO access line): {hook_cost():.0f} ns per request."
    )
    print("\nDirect attribution per failing request (median over rounds): CPU of the capture in the request's thread")
    print("(event built, scrubbed twice, serialized, queued; or counted by the fast path) and of the writer thread.\n")
    print("| variant | capture µs (request thread) | writer µs per failure | total µs |")
    print("|---|---|---|---|")
    for variant in variants:
        if cpu[variant]["capture"]:
            capture, writer = statistics.median(cpu[variant]["capture"]), statistics.median(cpu[variant]["writer"])
            print(f"| {variant} | {capture:.0f} | {writer:.0f} | {capture + writer:.0f} |")


if __name__ == "__main__":
    main()
