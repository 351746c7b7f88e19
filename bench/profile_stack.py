#!/usr/bin/env python
"""cProfile one endpoint of one stack in-process and say where the time goes.

    STACK=observe python profile_stack.py [--path /ping] [--mode wsgi|client] [--n 5000]
                                          [--top 25] [--out /tmp/obsbench/profile-observe-ping.prof]

Times N requests without the profiler first (us/req, wall and CPU), then profiles N more and
prints: own time per package (django_observe, structlog, logging, prometheus_client, sentry_sdk,
django, ...) as a share of the profile and as an estimated us/req (share x the unprofiled CPU
us/req, since cProfile's own overhead inflates every call), the top functions of OUR code
(django_observe/*) by own time and by cumulative time, and the hottest functions overall.
Set PROMETHEUS_MULTIPROC_DIR to profile multiprocess metrics (as under gunicorn).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import inproc  # noqa: E402  (sets up Django exactly like the benchmark, once)
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from profile_report import report  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--path", default="/ping")
    ap.add_argument("--mode", default="wsgi", choices=["wsgi", "client"])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--out", default="")
    args = ap.parse_args()

    call_command("migrate", interactive=False, verbosity=0)
    call = {"wsgi": inproc.make_wsgi_call, "client": inproc.make_client_call}[args.mode]()
    wall_us, cpu_us, other = inproc.bench(call, args.path, args.n, max(200, args.n // 10))

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.n):
        call(args.path)
    profiler.disable()
    out = (
        args.out
        or f"{os.environ.get('BENCH_STATE_DIR', '/tmp/obsbench')}/profile-{settings.STACK}-{args.mode}-{args.path.strip('/') or 'root'}.prof"
    )
    profiler.dump_stats(out)
    print(f"unprofiled: {wall_us:.1f} us/req wall, {cpu_us:.1f} us/req CPU (other processes {other:.2f} cores); raw profile {out}\n")
    title = f"{settings.STACK} {args.mode} {args.path}, N={args.n}"
    print(report(pstats.Stats(profiler), args.n, cpu_us, args.top, title))


if __name__ == "__main__":
    main()
