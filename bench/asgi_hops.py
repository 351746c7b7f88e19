#!/usr/bin/env python
"""Why bare Django under uvicorn serves ~300 req/s on this machine: thread hops and their price.

    STACK=bare python bench/asgi_hops.py [--n 500]

1. The price of one thread hop here: asgiref's ThreadSensitiveContext (Django's ASGIHandler opens
   one per request; its first thread-sensitive call starts a thread, its exit joins it) and each
   sync_to_async call inside it, in CPU µs and context switches (getrusage, all threads).
2. How many hops Django makes per request, per endpoint, for this stack: SyncToAsync calls and
   new threads counted while the real ASGI application serves in-process requests (inproc.py's
   asgi mode), with CPU µs and context switches per request.

Sync middleware (every MiddlewareMixin: Security, Common, Session, Csrf, ...) costs two hops per
request each (process_request, process_response) under ASGI, a sync view one more, the
request_started/finished signals one each; ObserveMiddleware is async-native and adds none.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def usage() -> tuple[float, int]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime, r.ru_nvcsw + r.ru_nivcsw


def price_of_hops(n: int) -> list[dict]:
    from asgiref.sync import ThreadSensitiveContext, sync_to_async

    def f() -> int:
        return 1

    async def run(hops: int) -> None:
        for _ in range(n):
            async with ThreadSensitiveContext():
                for _ in range(hops):
                    await sync_to_async(f)()

    rows = []
    for hops in (0, 1, 2, 8):
        c0, s0 = usage()
        t0 = time.perf_counter()
        asyncio.run(run(hops))
        c1, s1 = usage()
        rows.append(
            {"hops": hops, "wall_us": (time.perf_counter() - t0) / n * 1e6, "cpu_us": (c1 - c0) / n * 1e6, "ctx_switches": (s1 - s0) / n}
        )
    return rows


def hops_per_request(n: int) -> list[dict]:
    os.environ["BENCH_SKIP_DBPREP"] = "1"
    import subprocess

    subprocess.run([sys.executable, str(HERE / "dbprep.py")], check=True, timeout=600)
    sys.path.insert(0, str(HERE))
    import inproc
    from asgiref import sync

    calls = {"sync_to_async": 0}
    original = sync.SyncToAsync.__call__

    async def counting(self, *args, **kwargs):
        calls["sync_to_async"] += 1
        return await original(self, *args, **kwargs)

    sync.SyncToAsync.__call__ = counting
    started = {"threads": 0}
    original_start = threading.Thread.start

    def counting_start(self, *args, **kwargs):
        started["threads"] += 1
        return original_start(self, *args, **kwargs)

    threading.Thread.start = counting_start
    call = inproc.make_asgi_call()
    rows = []
    for path in ("/ping", "/aping", "/db"):
        for _ in range(50):
            call(path)
        calls["sync_to_async"] = started["threads"] = 0
        c0, s0 = usage()
        t0 = time.perf_counter()
        for _ in range(n):
            call(path)
        c1, s1 = usage()
        rows.append(
            {
                "path": path,
                "sync_to_async_per_request": calls["sync_to_async"] / n,
                "threads_started_per_request": started["threads"] / n,
                "wall_us": (time.perf_counter() - t0) / n * 1e6,
                "cpu_us": (c1 - c0) / n * 1e6,
                "ctx_switches": (s1 - s0) / n,
            }
        )
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=500)
    args = ap.parse_args()
    stack = os.environ.get("STACK", "bare")
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores\n")
    print("| asgiref alone | wall µs | CPU µs | context switches |")
    print("|---|---|---|---|")
    for r in price_of_hops(args.n):
        print(
            f"| ThreadSensitiveContext + {r['hops']} sync_to_async | {r['wall_us']:,.0f} | {r['cpu_us']:,.0f} | {r['ctx_switches']:.1f} |"
        )
    print(
        f"\n| {stack}, Django ASGIHandler in-process | sync_to_async calls/request | threads started/request | wall µs | CPU µs | context switches/request |"
    )
    print("|---|---|---|---|---|---|")
    for r in hops_per_request(args.n):
        print(
            f"| {r['path']} | {r['sync_to_async_per_request']:.1f} | {r['threads_started_per_request']:.1f} | {r['wall_us']:,.0f} | "
            f"{r['cpu_us']:,.0f} | {r['ctx_switches']:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
