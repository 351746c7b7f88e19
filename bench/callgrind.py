#!/usr/bin/env python
"""CPU instructions per request, counted by valgrind's callgrind: in-process and inside a gunicorn worker.

    python bench/callgrind.py [--stacks bare,observe] [--paths /ping,/db] [--modes wsgi,http]
                              [--n 500] [--variant NAME=ENV_JSON ...]

Timings on this shared 2-core machine move by 2x between rounds; instruction counts do not move
with the load (±0.1 %), so this is how a few µs are found. Each process is started once under
valgrind; per path it warms up, then callgrind_control zeroes the counters, n requests run and
the counters are dumped: start-up and warm-up never count.

Modes
  wsgi  one process calls the WSGI callable (what inproc.py's wsgi mode does), under valgrind.
  http  gunicorn sync, ONE worker, under valgrind (fork is followed); the worker exits after
        --max-requests and its own count is used: two servers per path (50 and 50 + n requests),
        the difference is n requests. This script sends the requests from outside valgrind with
        http.client, one connection per request as wrk sees it with gunicorn's sync worker. The difference
        between http and wsgi is what serving over HTTP adds (gunicorn's parsing, the socket,
        response headers) and how much more of it a stack causes.
  asgi  one process awaits the ASGI callable (inproc.py's asgi mode), under valgrind. Thread hops
        are serialised by valgrind: this counts instructions, not the context switches.

Variants: NAME=ENV_JSON runs the observe stacks with extra environment, e.g.
  --variant 'no-access-log={"BENCH_OBSERVE_OVERRIDES": "{\\"ACCESS_LOG\\": false}"}'
  --variant 'proto={"BENCH_PROTOTYPES": "batched_access_log"}'   (bench/prototypes.py)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = Path(os.environ.get("BENCH_VENV", "/tmp/obsbench-venv"))
STATE = Path(os.environ.get("BENCH_STATE_DIR", "/tmp/obsbench"))
PY = str(VENV / "bin" / "python")


def base_env(stack: str, extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ, STACK=stack, BENCH_STATE_DIR=str(STATE), PYTHONPYCACHEPREFIX=str(STATE / "pycache"))
    for key in ("SENTRY_DSN", "SENTRY_SPOTLIGHT", "PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"):
        env.pop(key, None)
    env.update(extra)
    if stack.endswith("observe") and env.get("BENCH_MULTIPROC", "1") == "1":
        mp = Path(tempfile.mkdtemp(prefix="cg-mp-", dir=STATE))
        env["PROMETHEUS_MULTIPROC_DIR"] = str(mp)
    return env


def collected(text: str) -> int:
    for line in text.splitlines():
        if "Collected :" in line:
            return int(line.split(":")[-1].strip())
    raise RuntimeError("no 'Collected' line in valgrind output:\n" + text[-2000:])


# --- counting windows -----------------------------------------------------------------------
#
# A process under valgrind starts slowly (Django's imports: minutes on a loaded machine), so it
# is started once per stack and variant, and each path is counted in a window: callgrind_control
# zeroes the counters while the process waits (blocked in a syscall, where valgrind answers at
# once), the requests run, and callgrind_control dumps the counters of exactly those requests.


def callgrind_control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True, timeout=300)


def dumped_instructions(out_prefix: Path, pid: int, before: set[Path]) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        new = [p for p in out_prefix.parent.glob(f"{out_prefix.name}.{pid}.*") if p not in before]
        for path in new:
            text = path.read_text(errors="replace")
            for line in text.splitlines():
                if line.startswith("summary:") or line.startswith("totals:"):
                    return int(line.split()[1])
        time.sleep(0.2)
    raise RuntimeError(f"no callgrind dump for pid {pid}")


def count_window(out_prefix: Path, pid: int, run_requests) -> int:
    before = set(out_prefix.parent.glob(f"{out_prefix.name}.{pid}.*"))
    callgrind_control("-z", str(pid))
    run_requests()
    callgrind_control("-d", str(pid))
    return dumped_instructions(out_prefix, pid, before)


# --- in-process (wsgi / asgi) ----------------------------------------------------------------


def child(mode: str, warmup: int) -> None:
    """Runs under valgrind. Reads "PATH N" lines on stdin: warms PATH up, says "ready", waits for
    "go", serves N requests (and waits for the error writer), says "done"."""
    sys.path.insert(0, str(HERE))
    os.environ["BENCH_SKIP_DBPREP"] = "1"
    import inproc

    call = inproc.make_wsgi_call() if mode == "wsgi" else inproc.make_asgi_call()
    for line in sys.stdin:
        if line.startswith("apply "):  # a prototype on top of what is applied (bench/prototypes.py)
            import prototypes

            prototypes.apply(line.split()[1])
            print("applied", flush=True)
            continue
        path, n = line.split()
        for _ in range(warmup):
            call(path)
        inproc.drain()
        print("ready", flush=True)
        sys.stdin.readline()  # "go": the counters were zeroed while we waited here
        for _ in range(int(n)):
            call(path)
        inproc.drain()
        print("done", flush=True)
        sys.stdin.readline()  # "next": dumped while we waited


def inprocess_counts(mode: str, paths: list[str], n: int, env: dict[str, str], stages: list[str] | None = None) -> dict[str, float]:
    """Instructions per request per path; with ``stages``, per (stage, path): each stage applies one more prototype."""
    subprocess.run([PY, str(HERE / "dbprep.py")], env=env, check=True, timeout=600, capture_output=True)
    out_dir = Path(tempfile.mkdtemp(prefix="cg-inproc-", dir=STATE))
    prefix = out_dir / "cg"
    proc = subprocess.Popen(
        ["nice", "valgrind", "--tool=callgrind", f"--callgrind-out-file={prefix}.%p", PY, __file__, "--child", mode, "50"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=open(out_dir / "stderr.txt", "w"),
        text=True,
    )
    pid = proc.pid  # nice execs valgrind, valgrind keeps the pid
    result = {}
    try:
        for stage in stages or [""]:
            if stage and stage != "-":
                proc.stdin.write(f"apply {stage}\n")
                proc.stdin.flush()
                if proc.stdout.readline().strip() != "applied":
                    raise RuntimeError((out_dir / "stderr.txt").read_text()[-3000:])
            for path in paths:
                proc.stdin.write(f"{path} {n}\n")
                proc.stdin.flush()
                if proc.stdout.readline().strip() != "ready":
                    raise RuntimeError((out_dir / "stderr.txt").read_text()[-3000:])

                def run() -> None:
                    proc.stdin.write("go\n")
                    proc.stdin.flush()
                    if proc.stdout.readline().strip() != "done":
                        raise RuntimeError((out_dir / "stderr.txt").read_text()[-3000:])

                result[f"{stage}|{path}" if stages else path] = count_window(prefix, pid, run) / n
                proc.stdin.write("next\n")
                proc.stdin.flush()
    finally:
        proc.stdin.close()
        proc.wait(timeout=600)
        shutil.rmtree(out_dir, ignore_errors=True)
    return result


# --- gunicorn worker (http) ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    headers = {"User-Agent": "callgrind-bench", "Accept": "*/*"}
    if path == "/metrics":
        headers["Authorization"] = "Bearer bench-metrics-token"
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status


def http_counts(paths: list[str], n: int, env: dict[str, str], base_n: int = 50) -> dict[str, float]:
    """Per path: two servers under valgrind, each with ONE worker that exits after --max-requests
    (base_n, then base_n + n) and dumps its count; the difference is n requests, start-up, warm-up
    and exit cancel. (callgrind_control cannot reach a forked worker: no vgdb for fork children.)"""
    result = {}
    for path in paths:
        totals = []
        for count in (base_n, base_n + n):
            totals.append(_worker_lifetime_instructions(path, count, env))
        result[path] = (totals[1] - totals[0]) / n
    return result


def _worker_lifetime_instructions(path: str, count: int, env: dict[str, str]) -> int:
    subprocess.run([PY, str(HERE / "dbprep.py")], env=env, check=True, timeout=600, capture_output=True)
    if "PROMETHEUS_MULTIPROC_DIR" in env:
        for stale in Path(env["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
            stale.unlink()
    out_dir = Path(tempfile.mkdtemp(prefix="cg-http-", dir=STATE))
    port = free_port()
    conf = ["--config", "python:gunicorn_conf"] if "PROMETHEUS_MULTIPROC_DIR" in env else []
    env = dict(env, PYTHONPATH=f"{HERE}{':' + env['PYTHONPATH'] if env.get('PYTHONPATH') else ''}")
    server = subprocess.Popen(
        [
            "nice",
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out_dir}/cg.%p",
            str(VENV / "bin" / "gunicorn"),
            "benchsite.wsgi:application",
            *conf,
            "--chdir",
            str(HERE / "site"),
            "--worker-class",
            "sync",
            "--workers",
            "1",
            "--max-requests",
            str(count),
            "--max-requests-jitter",
            "0",
            "--timeout",
            "900",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(out_dir / "stderr.txt", "w"),
    )
    try:
        deadline = time.monotonic() + 900
        while True:  # wait for the port without sending a request (each one counts against max-requests)
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn under valgrind did not start: " + (out_dir / "stderr.txt").read_text()[-2000:])
            time.sleep(1)
        workers = []
        while not workers and time.monotonic() < deadline:
            workers = subprocess.run(["ps", "-o", "pid=", "--ppid", str(server.pid)], capture_output=True, text=True).stdout.split()
            time.sleep(0.5)
        worker = int(workers[0])
        for _ in range(count):
            status = get(port, path)
            if status >= 500 and path != "/boom":
                raise RuntimeError(f"{path} answered {status}")
        file = out_dir / f"cg.{worker}"
        while time.monotonic() < deadline:  # the worker exits after its last request and writes its file
            if not Path(f"/proc/{worker}").exists() and file.exists():
                text = file.read_text(errors="replace")
                for line in text.splitlines():
                    if line.startswith("summary:") or line.startswith("totals:"):
                        return int(line.split()[1])
            time.sleep(0.5)
        raise RuntimeError(f"no callgrind output of worker {worker}")
    finally:
        server.terminate()
        server.wait(timeout=600)
        shutil.rmtree(out_dir, ignore_errors=True)


def counts(mode: str, stack: str, paths: list[str], n: int, extra: dict[str, str], stages: list[str] | None = None) -> dict[str, float]:
    env = base_env(stack, extra)
    try:
        if mode == "http":
            return http_counts(paths, n, env)
        return inprocess_counts(mode, paths, n, env, stages)
    finally:
        if "PROMETHEUS_MULTIPROC_DIR" in env:
            shutil.rmtree(env["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stacks", default="bare,observe")
    ap.add_argument("--paths", default="/ping")
    ap.add_argument("--modes", default="wsgi,http")
    ap.add_argument("--n", type=int, default=500, help="requests counted per path")
    ap.add_argument("--variant", action="append", default=[], help="NAME=ENV_JSON, observe stacks only")
    ap.add_argument(
        "--stages",
        help="comma list of prototypes applied one after the other in ONE in-process run "
        "(first stage '-' = none); prints instructions per stage and what each stage saved",
    )
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return 0
    variants = [("", {})]
    for spec in args.variant:
        name, _, env_json = spec.partition("=")
        variants.append((name, json.loads(env_json)))
    paths = args.paths.split(",")
    if args.stages:
        stages = args.stages.split(",")
        for mode in args.modes.split(","):
            if mode == "http":
                continue
            for stack in args.stacks.split(","):
                if not stack.endswith("observe"):
                    continue
                values = counts(mode, stack, paths, args.n, {}, stages)
                print(
                    f"{mode}, {stack}: instructions per request after each stage (cumulative), saved by the stage; "
                    f"load average {os.getloadavg()[0]:.2f}"
                )
                print("| stage | " + " | ".join(f"{p} | saved" for p in paths) + " |")
                print("|---|" + "---|---|" * len(paths))
                previous = {}
                for stage in stages:
                    cells = []
                    for p in paths:
                        v = values[f"{stage}|{p}"]
                        cells.append(f"{v:,.0f} | {previous[p] - v:+,.0f}" if p in previous else f"{v:,.0f} | -")
                        previous[p] = v
                    print(f"| {stage} | " + " | ".join(cells) + " |", flush=True)
        return 0
    print(f"callgrind instructions per request, {args.n} requests per path after 50 warm-up ones; load average {os.getloadavg()[0]:.2f}")
    print("| mode | stack | variant | " + " | ".join(paths) + " |")
    print("|---|---|---|" + "---|" * len(paths))
    for mode in args.modes.split(","):
        for stack in args.stacks.split(","):
            for name, extra in variants:
                if name and not stack.endswith("observe"):
                    continue
                values = counts(mode, stack, paths, args.n, extra)
                print(f"| {mode} | {stack} | {name or '-'} | " + " | ".join(f"{values[p]:,.0f}" for p in paths) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
