#!/usr/bin/env python
"""Summarise py-spy raw samples (``py-spy record -f raw``) of server workers: where their time goes.

    python pyspy_report.py [--requests N] [--rate HZ] [--top 25] FILE.txt [FILE.txt ...]

A sample is one stack of one thread at one instant (py-spy without --idle only keeps threads
that were running). Prints: samples per group of work (gunicorn's request cycle, Django, our
middleware, access line, metrics, ...; a sample counts for the innermost group it is in), own
samples per package, our functions by cumulative samples, and, with --requests and --rate,
each group as µs per request (samples / rate / requests).
"""

from __future__ import annotations

import argparse
from collections import Counter

PACKAGES = [
    ("django_observe", "/django_observe/"),
    ("prometheus_client", "/prometheus_client/"),
    ("sentry_sdk", "/sentry_sdk/"),
    ("structlog", "/structlog/"),
    ("gunicorn", "/gunicorn/"),
    ("uvicorn", "/uvicorn/"),
    ("h11", "/h11/"),
    ("django", "/django/"),
    ("asgiref", "/asgiref/"),
    ("stdlib logging", "/logging/"),
    ("json", "/json/"),
    ("asyncio", "/asyncio/"),
    ("concurrent", "/concurrent/"),
    ("threading", "threading.py"),
    ("socket/selectors", "socket.py"),
    ("socket/selectors", "selectors.py"),
]

# (group, substring of a frame "function (file:line)"), innermost match wins; order = report order.
GROUPS = [
    ("observe: access line (render + write)", "log_access (django_observe/"),
    ("observe: access line (render + write)", "_log_access (django_observe/"),
    ("observe: request metrics", "request_finished (django_observe/metrics"),
    ("observe: request metrics", "request_started (django_observe/metrics"),
    ("observe: DB metrics (execute_wrapper)", "execute_wrapper (django_observe/"),
    ("observe: DB connection gauges", "refresh_connection_gauges"),
    ("observe: DB connection gauges", "_on_request_finished (django_observe/"),
    ("observe: DB instrument on connect", "_on_connection_created (django_observe/"),
    ("observe: middleware _begin", "_begin (django_observe/"),
    ("observe: middleware _end (header, user id)", "_end (django_observe/"),
    ("observe: context clear", "clear (django_observe/context"),
    ("observe: exception signal", "_remember_exception (django_observe/"),
    ("observe: error capture", "django_observe/errors/"),
    ("observe: other", "django_observe/"),
    ("sentry-sdk", "sentry_sdk/"),
    ("django: view", "core/views.py"),
    ("django: DB connect / close", "connect (django/db/backends/base/base.py"),
    ("django: DB connect / close", "close (django/db/backends/base/base.py"),
    ("django: DB connect / close", "close_old_connections"),
    ("django: signals", "Signal.send (django/dispatch"),
    ("django: handler", "django/core/handlers/"),
    ("gunicorn: request cycle", "handle_request (gunicorn/workers/sync.py"),
    ("gunicorn: parse request", "gunicorn/http/parser.py"),
    ("gunicorn: parse request", "gunicorn/http/message.py"),
    ("gunicorn: write response", "gunicorn/http/wsgi.py"),
    ("gunicorn: accept / loop", "gunicorn/workers/"),
]


GENERIC = {"observe: other", "django: handler", "gunicorn: accept / loop"}
FAMILY = {"observe": "django_observe/", "django": "django/", "gunicorn": "gunicorn/", "sentry-sdk": "sentry_sdk/"}


def _match(frame: str) -> str | None:
    for name, marker in GROUPS:
        if marker in frame:
            return name
    return None


def group_of(frames: list[str]) -> str:
    """The innermost group of the stack; inside one package's run of frames, a specific group
    (the access line) beats the package's catch-all (observe: other), wherever it is in the run."""
    for i in range(len(frames) - 1, -1, -1):
        name = _match(frames[i])
        if name is None:
            continue
        if name not in GENERIC:
            return name
        family = FAMILY.get(name.split(":")[0], "")
        j = i - 1
        while j >= 0 and family and family in frames[j]:
            outer = _match(frames[j])
            if outer is not None and outer not in GENERIC:
                return outer
            j -= 1
        return name
    return "rest (outside every group)"


def package_of(frame: str) -> str:
    for name, marker in PACKAGES:
        if marker in frame:
            return name
    return "other"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--requests", type=int, default=0)
    ap.add_argument("--rate", type=float, default=0.0, help="py-spy --rate (samples per second)")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    total = 0
    groups: Counter[str] = Counter()
    own_pkg: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    own_fn: Counter[str] = Counter()
    for path in args.files:
        for line in open(path, errors="replace"):
            stack, _, n = line.rstrip("\n").rpartition(" ")
            if not stack or not n.isdigit():
                continue
            count = int(n)
            frames = stack.split(";")
            total += count
            own_pkg[package_of(frames[-1])] += count
            own_fn[frames[-1]] += count
            groups[group_of(frames)] += count
            seen = set()
            for frame in frames:
                if "django_observe/" in frame:
                    key = frame.split(" (")[0] + " (" + frame.split(" (", 1)[1].split(":")[0] + ")"
                    if key not in seen:
                        seen.add(key)
                        ours[key] += count
    per_req = args.requests and args.rate

    def us(count: int) -> str:
        return f"{count / args.rate / args.requests * 1e6:,.1f}" if per_req else "-"

    print(f"{total:,} samples" + (f", {args.requests:,} requests, {args.rate:g} Hz" if per_req else ""))
    print("\n| where (innermost group of the stack) | samples | share | µs/request |")
    print("|---|---|---|---|")
    order = {name: i for i, (name, _) in enumerate(GROUPS)}
    for name, count in sorted(groups.items(), key=lambda kv: order.get(kv[0], 99)):
        print(f"| {name} | {count:,} | {count / total:.1%} | {us(count)} |")
    print("\n| package (own samples) | samples | share | µs/request |")
    print("|---|---|---|---|")
    for name, count in own_pkg.most_common():
        print(f"| {name} | {count:,} | {count / total:.1%} | {us(count)} |")
    print("\n| django_observe function (cumulative) | samples | share | µs/request |")
    print("|---|---|---|---|")
    for name, count in ours.most_common(args.top):
        print(f"| `{name}` | {count:,} | {count / total:.1%} | {us(count)} |")
    print("\n| function (own samples) | samples | share |")
    print("|---|---|---|")
    for name, count in own_fn.most_common(args.top):
        print(f"| `{name[:110]}` | {count:,} | {count / total:.1%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
