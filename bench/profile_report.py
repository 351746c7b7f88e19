#!/usr/bin/env python
"""Summarise cProfile files: own time per package and the hottest functions (ours and overall).

    python profile_report.py --requests N [--cpu-us US] [--top 20] FILE.prof [FILE.prof ...]

Several files (e.g. one per gunicorn worker) are merged. Times are per request under the
profiler (cProfile inflates call-heavy Python code several times); with --cpu-us (the
unprofiled CPU us/req) each package's share is also turned into an estimated real us/req.
"""

from __future__ import annotations

import argparse
import pstats
from collections import defaultdict

PACKAGES = [
    ("django_observe", "/django_observe/"),
    ("structlog", "/structlog/"),
    ("django_structlog", "/django_structlog/"),
    ("prometheus_client", "/prometheus_client/"),
    ("sentry_sdk", "/sentry_sdk/"),
    ("django_prometheus", "/django_prometheus/"),
    ("django_guid", "/django_guid/"),
    ("ipware", "ipware"),
    ("health_check", "/health_check/"),
    ("gunicorn", "/gunicorn/"),
    ("django", "/django/"),
    ("asgiref", "/asgiref/"),
    ("stdlib logging", "/logging/"),
    ("stdlib json", "/json/"),
    ("stdlib uuid", "uuid.py"),
    ("bench site + harness", "/bench/"),
]


def package_of(filename: str) -> str:
    """The package a profiled function belongs to, by its file path."""
    for name, marker in PACKAGES:
        if marker in filename:
            return name
    if filename.startswith("~") or filename == "<built-in>":
        return "builtins (C)"
    return "other stdlib/python"


def report(stats: pstats.Stats, requests: int, cpu_us: float | None, top: int, title: str) -> str:
    """Markdown: per-package own time, then our functions by own and cumulative time, then all by own time."""
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())
    lines = [f"# {title}: {requests:,} requests, profile total {total / requests * 1e6:.1f} us/req under cProfile\n"]
    by_pkg: dict[str, float] = defaultdict(float)
    for (filename, _line, _func), (_cc, _nc, tt, _ct, _callers) in raw.items():
        by_pkg[package_of(filename)] += tt
    lines.append("| package | share of own time | profiled us/req |" + (" est. real us/req |" if cpu_us else ""))
    lines.append("|---|---|---|" + ("---|" if cpu_us else ""))
    for pkg, tt in sorted(by_pkg.items(), key=lambda kv: -kv[1]):
        extra = f" {tt / total * cpu_us:.1f} |" if cpu_us else ""
        lines.append(f"| {pkg} | {tt / total * 100:.1f}% | {tt / requests * 1e6:.1f} |{extra}")

    def label(key: tuple[str, int, str]) -> str:
        filename, line, func = key
        short = filename.split("/site-packages/")[-1].split("/work/main/")[-1].split("/lib/python3.11/")[-1]
        return f"{short}:{line}({func})" if line else func

    def table(heading: str, keys: list, index: int) -> None:
        lines.append(f"\n## {heading}\n")
        lines.append("| function | calls/req | own us/req (profiled) | cumulative us/req (profiled) | cumulative share |")
        lines.append("|---|---|---|---|---|")
        for key in sorted(keys, key=lambda k: -raw[k][index])[:top]:
            _cc, nc, tt, ct, _callers = raw[key]
            lines.append(
                f"| `{label(key)}` | {nc / requests:.2f} | {tt / requests * 1e6:.2f} | {ct / requests * 1e6:.2f} | {ct / total * 100:.1f}% |"
            )

    ours = [k for k in raw if "/django_observe/" in k[0]]
    table("Our code (django_observe/*) by own time", ours, 2)
    table("Our code (django_observe/*) by cumulative time (includes what it calls)", ours, 3)
    table("Everything, by own time", list(raw), 2)
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--requests", type=int, required=True)
    ap.add_argument("--cpu-us", type=float, default=None)
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--title", default="profile")
    args = ap.parse_args()
    stats = pstats.Stats(args.files[0])
    for extra in args.files[1:]:
        stats.add(extra)
    print(report(stats, max(args.requests, 1), args.cpu_us, args.top, args.title))


if __name__ == "__main__":
    main()
