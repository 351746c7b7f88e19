#!/usr/bin/env python
"""Why the HTTP gap is larger than the in-process gap: each request of a server starts cold.

    STACK=observe python bench/coldcache.py [--n 3000] [--modes hot,switch,sweep] [--path /ping]

In-process benchmarks call the WSGI callable back to back: the code and data of the request
stay in the CPU caches and the TLB. A gunicorn worker sleeps in accept() between requests while
the kernel's TCP stack, wrk and the other worker run on the same core: every request then
pays a miss for each cache line and page it touches, and on this VM (nested virtualisation)
a TLB miss is a two-dimensional page walk. Code that is cheap in instructions but touches
many modules and objects (logging, json, io, the prometheus mmap values) costs more there.

Modes (the CPU time of the request call only is measured, time.thread_time around it):
  hot     back to back, as inproc.py.
  switch  before each request, one round trip through a pipe with a child process (two context
          switches, as a server's wake-up from accept: the core ran someone else meanwhile).
  sweep   before each request, touch one byte per 4 KiB page of a 64 MiB buffer (evicts the TLB
          and much of the caches; an upper bound).
Prints one JSON line per mode: CPU µs per request.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--modes", default="hot,switch,sweep")
    ap.add_argument("--path", default="/ping")
    ap.add_argument("--round", type=int, default=1)
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    import inproc  # prepares the database and sets Django up (benchsite.wsgi)

    call = inproc.make_wsgi_call()
    for _ in range(300):
        call(args.path)
    buffer = bytearray(64 * 1024 * 1024)
    read_fd, write_fd = os.pipe()
    back_read, back_write = os.pipe()
    child = os.fork()
    if child == 0:  # echo every byte back
        os.close(write_fd)
        os.close(back_read)
        while True:
            data = os.read(read_fd, 1)
            if not data:
                os._exit(0)
            os.write(back_write, data)
    os.close(read_fd)
    os.close(back_write)

    def switch() -> None:
        os.write(write_fd, b"x")
        os.read(back_read, 1)

    def sweep() -> None:
        for offset in range(0, len(buffer), 4096):
            buffer[offset] = 1

    before = {"hot": None, "switch": switch, "sweep": sweep}
    for mode in args.modes.split(","):
        prepare = before[mode]
        n = args.n if mode != "sweep" else max(300, args.n // 5)
        total = 0.0
        for _ in range(n):
            if prepare is not None:
                prepare()
            t0 = time.thread_time()
            call(args.path)
            total += time.thread_time() - t0
        print(
            json.dumps(
                {
                    "stack": os.environ.get("STACK"),
                    "variant": os.environ.get("BENCH_VARIANT", ""),
                    "mode": mode,
                    "path": args.path,
                    "round": args.round,
                    "n": n,
                    "cpu_us": round(total / n * 1e6, 1),
                }
            ),
            flush=True,
        )
    os.close(write_fd)
    os.waitpid(child, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
