#!/usr/bin/env python
"""Scale figures of the observe stack (issue 17 part 4). Every loop is bounded in count and time.

    python bench/scale.py metrics [--series 1000,10000,50000] [--files 2,8,32] [--scrapes 3]
    python bench/scale.py errors  [--db sqlite|postgresql] [--rates 100,300,1000,3000,0] [--seconds 5]
    python bench/scale.py memory  [--requests 1000000] [--endpoints 5000] [--max-seconds 1500]

metrics  Cost of one /metrics scrape (the real view through the WSGI callable, bearer token,
         multiprocess mode) against the number of series and of multiprocess files. The files
         are written the way prometheus_client writes them (MmapedDict, mmap_key): one counter
         series and one histogram (len(buckets) + 3 samples) per endpoint, the same endpoints in
         every worker's file (the worst case for merging); each file belongs to a live process
         (a `sleep`), so the per-worker process metrics are read too. Also times the parts:
         MultiProcessCollector.collect(), the text encoder, and gzip. Prints µs per series-file.
errors   Sustained write throughput of the error store: events of DISTINCT groups (each one a new
         group: the writer's worst case) submitted at a fixed rate for --seconds, then flushed;
         reports submitted, stored, shed (queue full: ERRORS_QUEUE_SIZE groups pending), the
         writer's rate and the producer's cost per event. Rate 0 = as fast as the producer goes.
         Also one storm of a single group (one group, counts only).
memory   RSS and our structures after --requests requests through the WSGI callable with
         --endpoints distinct routes (a 3-level include tree, so each request resolves in ~40
         pattern checks), multiprocess mode; checkpoints at 1 %, 10 %, 25 %, 50 %, 100 %.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATE = Path(os.environ.get("BENCH_STATE_DIR", "/tmp/obsbench"))


def rss_kb() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def setup_django(stack: str = "observe", urlconf: str | None = None) -> None:
    os.environ["STACK"] = stack
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
    sys.path.insert(0, str(HERE / "site"))
    sys.path.insert(0, str(HERE))
    subprocess.run([sys.executable, str(HERE / "dbprep.py")], check=True, timeout=900)
    if urlconf:
        os.environ["BENCH_ROOT_URLCONF"] = urlconf


def wsgi_caller(application, headers: dict[str, str] | None = None):
    base = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        **(headers or {}),
    }
    box: list[str] = []

    def start_response(status, response_headers, exc_info=None):
        box.append(status)
        return lambda data: None

    def call(path: str) -> tuple[int, int]:
        environ = dict(base, PATH_INFO=path)
        environ["wsgi.input"] = io.BytesIO(b"")
        box.clear()
        result = application(environ, start_response)
        size = 0
        try:
            for chunk in result:
                size += len(chunk)
        finally:
            result.close()
        return int(box[0].split()[0]), size

    return call


# --- metrics -----------------------------------------------------------------------------------


def metrics_child(series: int, files: int, scrapes: int) -> dict:
    """One (series, files) point, in a fresh process with PROMETHEUS_MULTIPROC_DIR set by the parent."""
    setup_django()
    from benchsite.wsgi import application
    from prometheus_client import multiprocess
    from prometheus_client.exposition import generate_latest
    from prometheus_client.mmap_dict import MmapedDict, mmap_key

    from django_observe.conf import get_settings
    from django_observe.metrics import core

    call = wsgi_caller(application, {"HTTP_AUTHORIZATION": "Bearer bench-metrics-token", "HTTP_ACCEPT_ENCODING": ""})
    call("/ping")  # our own metrics exist
    metrics = core.get_metrics()
    buckets = list(metrics.duration._upper_bounds)
    per_endpoint = 1 + len(buckets) + 2  # counter + buckets (incl. +Inf) + sum + count
    endpoints = max(1, series // per_endpoint)
    namespace = metrics.namespace
    counter_name = f"{namespace}_http_requests_total" if namespace else "http_requests_total"
    hist_name = f"{namespace}_http_request_duration_seconds" if namespace else "http_request_duration_seconds"
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    sleepers = [subprocess.Popen(["sleep", "600"]) for _ in range(files)]
    try:
        started = time.perf_counter()
        for proc in sleepers:
            counters = MmapedDict(os.path.join(directory, f"counter_{proc.pid}.db"))
            hist = MmapedDict(os.path.join(directory, f"histogram_{proc.pid}.db"))
            for e in range(endpoints):
                route = f"api/v1/resource{e}/<int:pk>/"
                counters.write_value(
                    mmap_key(counter_name, counter_name, ["method", "endpoint", "status"], ["GET", route, "200"], "Requests."), 3.0, 0.0
                )
                for bound in buckets:
                    text = "+Inf" if bound == float("inf") else repr(float(bound))
                    hist.write_value(
                        mmap_key(hist_name, hist_name + "_bucket", ["method", "endpoint", "le"], ["GET", route, text], "Latency."), 1.0, 0.0
                    )
                hist.write_value(mmap_key(hist_name, hist_name + "_sum", ["method", "endpoint"], ["GET", route], "Latency."), 0.5, 0.0)
            counters.close()
            hist.close()
        write_seconds = time.perf_counter() - started
        timings, cpu, sizes = [], [], []
        for _ in range(scrapes):
            gc.collect()
            c0, t0 = time.process_time(), time.perf_counter()
            status, size = call("/metrics")
            timings.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            sizes.append(size)
            assert status == 200, status
        collector = multiprocess.MultiProcessCollector(None, path=directory)
        t0 = time.perf_counter()
        families = list(collector.collect())
        collect_s = time.perf_counter() - t0
        samples = sum(len(f.samples) for f in families)

        class _Fixed:
            def collect(self):
                return families

        t0 = time.perf_counter()
        body = generate_latest(_Fixed())
        encode_s = time.perf_counter() - t0
        import gzip

        t0 = time.perf_counter()
        gzip.compress(body, compresslevel=6)
        gzip_s = time.perf_counter() - t0
    finally:
        for proc in sleepers:
            proc.kill()
            proc.wait()
    return {
        "series_target": series,
        "files": files,
        "endpoints": endpoints,
        "samples": samples,
        "bytes": statistics.median(sizes),
        "scrape_ms": statistics.median(timings) * 1e3,
        "scrape_cpu_ms": statistics.median(cpu) * 1e3,
        "collect_ms": collect_s * 1e3,
        "encode_ms": encode_s * 1e3,
        "gzip_ms": gzip_s * 1e3,
        "write_files_s": write_seconds,
        "namespace": namespace,
        "settings_namespace": get_settings().METRICS_NAMESPACE,
        "max_rss_mb": __import__("resource").getrusage(__import__("resource").RUSAGE_SELF).ru_maxrss / 1024,
    }


def cmd_metrics(args) -> None:
    print(f"/metrics scrape cost vs series and multiprocess files; load average {os.getloadavg()[0]:.2f}\n")
    print(
        "| series (samples) | files | endpoints | scrape ms (median of %d) | CPU ms | collect ms | encode ms | gzip ms | body KB | µs per sample·file | peak RSS MB |"
        % args.scrapes
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for series in [int(x) for x in args.series.split(",")]:
        for files in [int(x) for x in args.files.split(",")]:
            directory = tempfile.mkdtemp(prefix="scale-mp-", dir=STATE)
            try:
                env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=directory)
                done = subprocess.run(
                    [sys.executable, __file__, "metrics-child", str(series), str(files), str(args.scrapes)],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=args.max_seconds,
                )
            finally:
                shutil.rmtree(directory, ignore_errors=True)
            if done.returncode != 0:
                print(f"| {series} | {files} | failed: {done.stderr[-400:]!r} |")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(r)
            per = r["scrape_cpu_ms"] * 1e3 / (r["samples"] * files)
            print(
                f"| {r['samples']:,} | {files} | {r['endpoints']:,} | {r['scrape_ms']:,.1f} | {r['scrape_cpu_ms']:,.1f} | {r['collect_ms']:,.1f} | "
                f"{r['encode_ms']:,.1f} | {r['gzip_ms']:,.1f} | {r['bytes'] / 1024:,.0f} | {per:.2f} | {r.get('max_rss_mb', 0):,.0f} |",
                flush=True,
            )
    print("\nGrowth (CPU ms per scrape): a factor per step of the series count at fixed files (linear = the series factor):")
    by = {(r["series_target"], r["files"]): r for r in rows}
    for files in sorted({r["files"] for r in rows}):
        points = sorted((s, r) for (s, f), r in by.items() if f == files)
        for (s0, r0), (s1, r1) in zip(points, points[1:]):
            print(f"- files={files}: series x{r1['samples'] / r0['samples']:.1f} -> CPU x{r1['scrape_cpu_ms'] / r0['scrape_cpu_ms']:.2f}")
    for series in sorted({r["series_target"] for r in rows}):
        points = sorted((f, r) for (s, f), r in by.items() if s == series)
        for (f0, r0), (f1, r1) in zip(points, points[1:]):
            print(f"- series={series:,}: files x{f1 / f0:.0f} -> CPU x{r1['scrape_cpu_ms'] / r0['scrape_cpu_ms']:.2f}")


# --- errors ------------------------------------------------------------------------------------


def errors_child(rate: float, seconds: float, distinct: bool, run_id: str) -> dict:
    setup_django()
    import benchsite.wsgi  # noqa: F401  (django.setup as under a server)
    from django.db import connection

    from django_observe.errors import intake

    buffer = intake.buffer
    frames = [
        {"filename": "app/views.py", "module": "app.views", "function": "handler", "lineno": 10, "in_app": True},
        {"filename": "app/services.py", "module": "app.services", "function": "place_order", "lineno": 42, "in_app": True},
    ]

    def event(i: int) -> dict:
        fn = f"step_{run_id}_{i}" if distinct else f"step_{run_id}"
        return {
            "event_id": os.urandom(16).hex(),
            "level": "error",
            "platform": "python",
            "logger": "django.request",
            "transaction": "/checkout",
            "server_name": "bench",
            "release": "bench-1",
            "environment": "production",
            "exception": {
                "values": [
                    {
                        "type": "RuntimeError",
                        "value": f"payment failed for order {i}",
                        "module": None,
                        "stacktrace": {"frames": [*frames, {**frames[-1], "function": fn, "lineno": 77}]},
                    }
                ]
            },
            "request": {"url": "http://127.0.0.1/checkout", "method": "POST"},
            "tags": {"request_id": f"{i:032x}"},
        }

    stats = buffer.stats
    before = (stats.submitted, stats.written, stats.dropped_queue_full, stats.dropped_db)
    produce_cpu = 0.0
    started = time.perf_counter()
    deadline = started + seconds
    sent = 0
    max_pending = 0
    interval = 1.0 / rate if rate > 0 else 0.0
    while True:
        now = time.perf_counter()
        if now >= deadline:
            break
        if interval and now < started + sent * interval:
            time.sleep(min(0.001, started + sent * interval - now))
            continue
        e = event(sent)
        c0 = time.thread_time()
        intake.submit(e, request_id=e["tags"]["request_id"])
        produce_cpu += time.thread_time() - c0
        sent += 1
        if sent % 200 == 0:
            max_pending = max(max_pending, len(buffer._pending))
    produced_s = time.perf_counter() - started
    flushed = intake.flush(timeout=300)
    total_s = time.perf_counter() - started
    after = (stats.submitted, stats.written, stats.dropped_queue_full, stats.dropped_db)
    writer = buffer.writer_thread
    writer_cpu = 0.0
    if writer is not None and writer.is_alive():
        writer_cpu = time.clock_gettime(time.pthread_getcpuclockid(writer.ident))
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM django_observe_errorgroup")
        groups = cursor.fetchone()[0]
    return {
        "rate": rate,
        "distinct": distinct,
        "sent": sent,
        "produced_s": produced_s,
        "total_s": total_s,
        "flushed": flushed,
        "submitted": after[0] - before[0],
        "written": after[1] - before[1],
        "shed": after[2] - before[2],
        "dropped_db": after[3] - before[3],
        "max_pending_groups": max_pending,
        "producer_us": produce_cpu / max(sent, 1) * 1e6,
        "groups_in_db": groups,
        "writer_alive": bool(writer and writer.is_alive()),
        "writer_cpu_s": writer_cpu,
    }


def cmd_errors(args) -> None:
    print(
        f"error store write throughput, {args.db}, {args.seconds:g} s per rate, ERRORS_QUEUE_SIZE default; load average {os.getloadavg()[0]:.2f}\n"
    )
    print(f"prototypes: {os.environ.get('BENCH_PROTOTYPES') or 'none'}\n")
    print(
        "| groups | target rate/s | submitted | produced in s | stored | shed (queue full) | dropped (db) | all stored after s | stored/s (sustained) | producer µs/event | writer CPU ms/group | max pending groups |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    plan = [(float(r), True) for r in args.rates.split(",")] + [(0.0, False)]
    for i, (rate, distinct) in enumerate(plan):
        env = dict(os.environ, BENCH_DB=args.db)
        done = subprocess.run(
            [sys.executable, __file__, "errors-child", str(rate), str(args.seconds), "1" if distinct else "0", f"r{os.getpid()}x{i}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=args.max_seconds,
        )
        if done.returncode != 0:
            print(f"| {'distinct' if distinct else 'one'} | {rate:g} | failed: {done.stderr[-400:]!r} |")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"| {'distinct' if distinct else 'one (storm)'} | {rate:g} | {r['submitted']:,} | {r['produced_s']:.1f} | {r['written']:,} | "
            f"{r['shed']:,} | {r['dropped_db']:,} | {r['total_s']:.1f} | {r['written'] / r['total_s']:,.0f} | {r['producer_us']:,.0f} | "
            f"{r['writer_cpu_s'] * 1e3 / max(r['groups_in_db'], 1):,.2f} | {r['max_pending_groups']:,} |",
            flush=True,
        )


# --- memory ------------------------------------------------------------------------------------


def memory_child(requests: int, endpoints: int, max_seconds: float) -> None:
    os.environ["BENCH_MANY_ROUTES"] = str(endpoints)
    setup_django()
    from benchsite.wsgi import application

    from django_observe.metrics import core

    call = wsgi_caller(application)
    from benchsite import many_routes

    paths = many_routes.paths(endpoints)
    assert call(paths[0])[0] == 200 and call(paths[-1])[0] == 200
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    checkpoints = sorted({max(1, int(requests * f)) for f in (0.01, 0.10, 0.25, 0.50, 1.0)})
    started = time.perf_counter()
    c0 = time.process_time()
    rss0 = rss_kb()
    print(json.dumps({"kind": "start", "rss_kb": rss0, "endpoints": len(paths)}), flush=True)
    done = 0
    for checkpoint in checkpoints:
        while done < checkpoint:
            call(paths[done % len(paths)])
            done += 1
            if done % 1000 == 0 and time.perf_counter() - started > max_seconds:
                break
        gc.collect()
        metrics = core.get_metrics()
        files = {p.name: p.stat().st_size for p in Path(directory).glob("*.db")}
        rss_before_scrape = rss_kb()
        t0 = time.process_time()
        status, size = wsgi_caller(application, {"HTTP_AUTHORIZATION": "Bearer bench-metrics-token"})("/metrics")
        scrape_ms = (time.process_time() - t0) * 1e3
        print(
            json.dumps(
                {
                    "kind": "checkpoint",
                    "requests": done,
                    "seconds": time.perf_counter() - started,
                    "cpu_us_per_request": (time.process_time() - c0) / done * 1e6,
                    "rss_kb": rss_kb(),
                    "rss_growth_kb": rss_kb() - rss0,
                    "rss_before_scrape_growth_kb": rss_before_scrape - rss0,
                    "http_children": len(metrics.http_children),
                    "mmap_bytes": sum(files.values()),
                    "files": len(files),
                    "scrape_cpu_ms": scrape_ms,
                    "scrape_bytes": size,
                    "gc_objects": len(gc.get_objects()),
                }
            ),
            flush=True,
        )
        if time.perf_counter() - started > max_seconds:
            print(json.dumps({"kind": "stopped", "reason": f"--max-seconds {max_seconds} reached"}), flush=True)
            break


def cmd_memory(args) -> None:
    directory = tempfile.mkdtemp(prefix="scale-mem-", dir=STATE)
    try:
        env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=directory)
        print(
            f"memory after {args.requests:,} requests over {args.endpoints:,} routes (observe, multiprocess, WSGI in-process); "
            f"load average {os.getloadavg()[0]:.2f}\n"
        )
        print(
            "| requests | s | CPU µs/req | RSS MB | RSS growth MB (before the checkpoint's scrape) | http label sets | mmap files MB | /metrics CPU ms | /metrics KB | gc objects |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        proc = subprocess.Popen(
            [sys.executable, __file__, "memory-child", str(args.requests), str(args.endpoints), str(args.max_seconds)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for line in proc.stdout:
            r = json.loads(line)
            if r["kind"] == "checkpoint":
                print(
                    f"| {r['requests']:,} | {r['seconds']:,.0f} | {r['cpu_us_per_request']:,.0f} | {(r['rss_kb']) / 1024:,.1f} | "
                    f"{r['rss_growth_kb'] / 1024:+,.1f} ({r['rss_before_scrape_growth_kb'] / 1024:+,.1f}) | {r['http_children']:,} | {r['mmap_bytes'] / 1048576:,.1f} | {r['scrape_cpu_ms']:,.0f} | "
                    f"{r['scrape_bytes'] / 1024:,.0f} | {r['gc_objects']:,} |",
                    flush=True,
                )
            elif r["kind"] == "start":
                print(f"(RSS after start-up and one request per route: {r['rss_kb'] / 1024:.1f} MB, {r['endpoints']:,} routes)\n")
            else:
                print(r)
        proc.wait(timeout=60)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("metrics")
    m.add_argument("--series", default="1000,10000,50000")
    m.add_argument("--files", default="2,8,32")
    m.add_argument("--scrapes", type=int, default=3)
    m.add_argument("--max-seconds", type=float, default=900)
    e = sub.add_parser("errors")
    e.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    e.add_argument("--rates", default="100,300,1000,3000,0")
    e.add_argument("--seconds", type=float, default=5)
    e.add_argument("--max-seconds", type=float, default=900)
    mem = sub.add_parser("memory")
    mem.add_argument("--requests", type=int, default=1_000_000)
    mem.add_argument("--endpoints", type=int, default=5000)
    mem.add_argument("--max-seconds", type=float, default=1500)
    for name in ("metrics-child", "errors-child", "memory-child"):
        c = sub.add_parser(name)
        c.add_argument("params", nargs="*")
    args = ap.parse_args()
    if args.cmd == "metrics":
        cmd_metrics(args)
    elif args.cmd == "errors":
        cmd_errors(args)
    elif args.cmd == "memory":
        cmd_memory(args)
    elif args.cmd == "metrics-child":
        s, f, n = args.params
        print(json.dumps(metrics_child(int(s), int(f), int(n))))
    elif args.cmd == "errors-child":
        rate, seconds, distinct, run_id = args.params
        print(json.dumps(errors_child(float(rate), float(seconds), distinct == "1", run_id)))
    elif args.cmd == "memory-child":
        n, endpoints, max_seconds = args.params
        memory_child(int(n), int(endpoints), float(max_seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
