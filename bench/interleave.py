#!/usr/bin/env python
"""Fine-grained alternation over HTTP: all servers up at once, wrk drives them in turn, 1-2 s slices.

    python bench/interleave.py [--path /ping] [--slices 30] [--slice 1] \\
        bare=bare observe=observe 'proto=observe:{"BENCH_PROTOTYPES": "preformatted_line"}'

On a shared machine a 10 s run of one stack and then of another lands in different weather:
±30 % between runs hides a 25 µs difference. Here every server (gunicorn sync -w 2, the same
settings as run_http.sh; observe stacks in multiprocess mode with the gunicorn hooks) stays up,
and the slices alternate A B C, C B A, ... so each slice of one server has a neighbour slice of
every other within a few seconds. Per slice: requests (wrk), the server's CPU time (utime, stime
of master + workers from /proc) → CPU µs per request. Reports per server the median over slices
and, against the first server, the median of the per-slice-pair differences with its
interquartile range. Idle servers use no CPU (sync workers sleep in select).

Specs: NAME=STACK or NAME=STACK:ENV_JSON (extra environment for that server).

Database: BENCH_DB / BENCH_CONN_MAX_AGE as for run_http.sh (on PostgreSQL every stack uses its
database obsbench_<stack>: give each server a different stack). ``--results FILE`` appends one
RESULT line per server after the first (compare.sh reads them): median CPU µs per request of both,
the median and IQR of the paired differences, and the median of the paired req/s ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = Path(os.environ.get("BENCH_VENV", "/tmp/obsbench-venv"))
STATE = Path(os.environ.get("BENCH_STATE_DIR", "/tmp/obsbench"))
HZ = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ticks(pid: int) -> tuple[int, int]:
    """utime, stime of pid and its children that are alive (gunicorn master + workers)."""
    pids = [pid] + [int(p) for p in subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout.split()]
    user = system = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        user += int(fields[11])
        system += int(fields[12])
    return user, system


class Server:
    def __init__(self, name: str, stack: str, extra: dict[str, str], workers: int) -> None:
        self.name, self.stack = name, stack
        self.dir = Path(tempfile.mkdtemp(prefix=f"il-{name}-", dir=STATE))
        # Each server gets its own database file and log file (BENCH_DB_FILE / state dir) so
        # two servers of one stack do not share them.
        env = dict(os.environ, STACK=stack, BENCH_STATE_DIR=str(self.dir), PYTHONPYCACHEPREFIX=str(STATE / "pycache"))
        for key in ("SENTRY_DSN", "SENTRY_SPOTLIGHT", "PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"):
            env.pop(key, None)
        env.update(extra)
        conf: list[str] = []
        if stack.endswith("observe") and env.get("OBSERVE_MULTIPROC", "1") == "1":
            (self.dir / "mp").mkdir()
            env["PROMETHEUS_MULTIPROC_DIR"] = str(self.dir / "mp")
            conf = ["--config", "python:gunicorn_conf"]
        env["PYTHONPATH"] = f"{HERE}{':' + env['PYTHONPATH'] if env.get('PYTHONPATH') else ''}"
        subprocess.run([str(VENV / "bin" / "python"), str(HERE / "dbprep.py")], env=env, check=True, timeout=600, capture_output=True)
        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                str(VENV / "bin" / "gunicorn"),
                "benchsite.wsgi:application",
                *conf,
                "--chdir",
                str(HERE / "site"),
                "--worker-class",
                "sync",
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "stderr.txt", "w"),
        )
        self.slices: list[tuple[float, float, float, int]] = []  # (cpu µs/req, user, sys, requests)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ping", timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not start: {(self.dir / 'stderr.txt').read_text()[-1500:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def run_slice(server: Server, path: str, seconds: float, threads: int, conns: int) -> None:
    u0, s0 = cpu_ticks(server.proc.pid)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds:g}s", f"http://127.0.0.1:{server.port}{path}"],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
    ).stdout
    u1, s1 = cpu_ticks(server.proc.pid)
    m = re.search(r"(\d+) requests in", out)
    requests = int(m.group(1)) if m else 0
    if not requests:
        print(f"{server.name}: no requests counted: {out[-300:]!r}", file=sys.stderr)
        return
    if requests:
        user = (u1 - u0) / HZ * 1e6 / requests
        system = (s1 - s0) / HZ * 1e6 / requests
        server.slices.append((user + system, user, system, requests))


def q(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("specs", nargs="+")
    ap.add_argument("--path", default="/ping")
    ap.add_argument("--slices", type=int, default=30, help="slices per server")
    ap.add_argument("--slice", type=float, default=1.0, help="seconds per slice (wrk -d)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--results", help="append RESULT lines (one per server after the first) to this file")
    ap.add_argument("--round", default="1", help="copied into the RESULT lines")
    args = ap.parse_args()
    servers = []
    try:
        for spec in args.specs:
            name, _, rest = spec.partition("=")
            stack, _, env_json = rest.partition(":")
            servers.append(Server(name, stack, json.loads(env_json) if env_json else {}, args.workers))
        for server in servers:
            server.wait_ready()
            subprocess.run(["wrk", "-t2", "-c16", "-d2s", f"http://127.0.0.1:{server.port}{args.path}"], capture_output=True, timeout=60)
        load0 = os.getloadavg()
        for i in range(args.slices):
            for server in servers if i % 2 == 0 else reversed(servers):
                run_slice(server, args.path, args.slice, args.threads, args.connections)
        load1 = os.getloadavg()
    finally:
        for server in servers:
            server.stop()
    print(
        f"interleaved HTTP, {args.path}, gunicorn sync -w {args.workers}, wrk -t{args.threads} -c{args.connections}, "
        f"{args.slices} slices of {args.slice:g} s per server; load average {load0[0]:.2f} -> {load1[0]:.2f}\n"
    )
    base = servers[0]
    print(
        f"| server | stack | slices | server CPU µs/req (median) | user | sys | added vs {base.name} (median of paired slices) | IQR of the differences | req per slice (median) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    results = []
    for server in servers:
        cpu = [s[0] for s in server.slices]
        pairs = [a[0] - b[0] for a, b in zip(server.slices, base.slices)]
        if server is not base and pairs:
            # Requests per slice of equal length: their ratio is the req/s ratio of the two neighbours.
            ratios = [a[3] / b[3] for a, b in zip(server.slices, base.slices) if b[3]]
            results.append(
                f"RESULT kind=interleave server=gunicorn endpoint={args.path} db={os.environ.get('BENCH_DB', 'sqlite')} "
                f"cma={os.environ.get('BENCH_CONN_MAX_AGE', '0')} stack={server.stack} base={base.stack} round={args.round} "
                f"slices={len(pairs)} slice_s={args.slice:g} cpu_us={statistics.median(cpu):.1f} "
                f"base_cpu_us={statistics.median([b[0] for b in base.slices]):.1f} added_us={statistics.median(pairs):.1f} "
                f"added_q1={q(pairs, 0.25):.1f} added_q3={q(pairs, 0.75):.1f} "
                f"rps={statistics.median([a[3] for a in server.slices]) / args.slice:.1f} "
                f"base_rps={statistics.median([b[3] for b in base.slices]) / args.slice:.1f} ratio={statistics.median(ratios):.4f} "
                f"ratio_q1={q(ratios, 0.25):.4f} ratio_q3={q(ratios, 0.75):.4f} load0={load0[0]:.2f} load1={load1[0]:.2f}"
            )
        added = f"{statistics.median(pairs):+,.0f} µs" if server is not base and pairs else "-"
        iqr = f"{q(pairs, 0.25):+,.0f} .. {q(pairs, 0.75):+,.0f}" if server is not base and pairs else "-"
        print(
            f"| {server.name} | {server.stack} | {len(cpu)} | {statistics.median(cpu):,.0f} | {statistics.median([s[1] for s in server.slices]):,.0f} | "
            f"{statistics.median([s[2] for s in server.slices]):,.0f} | {added} | {iqr} | {statistics.median([s[3] for s in server.slices]):,.0f} |"
        )
    if args.results and results:
        with open(args.results, "a") as file:
            file.write("\n".join(results) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
