#!/usr/bin/env python3
"""What each part of the observe stack costs per request: switch one part off at a time.

    python3 bench/ablate.py [--rounds 3] [--n 5000] [--endpoints /ping,/db] [--mode wsgi]
                            [--variants full,no-access-log,...] [--out FILE.md]

Runs inproc.py (one process per run, STACK=observe with BENCH_OBSERVE_OVERRIDES, and STACK=bare
as the floor) for every variant, alternating variants within each round (order reversed every
other round), and prints a Markdown table: median us/req (wall and CPU), added vs bare, and
what switching the part off saves vs the full stack. Uses the bench venv (setup_venv.sh).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = Path(os.environ.get("BENCH_VENV", "/tmp/obsbench-venv"))
STATE = Path(os.environ.get("BENCH_STATE_DIR", "/tmp/obsbench"))

# name -> (stack, OBSERVE overrides, prometheus multiprocess?)
VARIANTS: dict[str, tuple[str, dict, bool]] = {
    "bare": ("bare", {}, False),
    # bare Django on a SQLite file that also holds observe's tables: with CONN_MAX_AGE=0 every
    # request opens a connection and SQLite parses the whole schema on its first query.
    # Since dbprep.py gives every stack observe's tables, this equals "bare" (kept for old results).
    "bare-observe-schema": ("bare", {}, False),
    "full": ("observe", {}, True),
    "full-single-process-metrics": ("observe", {}, False),
    "no-access-log": ("observe", {"ACCESS_LOG": False}, True),
    "no-db-metrics": ("observe", {"METRICS_DATABASE": False}, True),
    "no-metrics": ("observe", {"METRICS_ENABLED": False}, True),
    "no-sentry": ("observe", {"SENTRY_ENABLED": False}, True),
    "no-errors": ("observe", {"ERRORS_ENABLED": False}, True),
    "ids-only": (
        "observe",
        {"ACCESS_LOG": False, "METRICS_ENABLED": False, "SENTRY_ENABLED": False, "ERRORS_ENABLED": False},
        False,
    ),
}


def schema_db() -> Path:
    """A SQLite file with the bench tables AND observe's (observe's migrations), made once per run."""
    path = STATE / "db-observe-schema.sqlite3"
    if not path.exists():
        env = dict(os.environ, STACK="observe", BENCH_STATE_DIR=str(STATE), BENCH_DB_FILE=str(path))
        subprocess.run(
            [str(VENV / "bin/python"), str(HERE / "site/manage.py"), "migrate", "--noinput", "--skip-checks", "-v0"],
            env=env,
            check=True,
            timeout=300,
        )
    return path


def run_one(name: str, args: argparse.Namespace, round_no: int) -> list[dict]:
    stack, overrides, multiproc = VARIANTS[name]
    env = {k: v for k, v in os.environ.items() if k not in ("SENTRY_DSN", "SENTRY_SPOTLIGHT", "PROMETHEUS_MULTIPROC_DIR")}
    env.update(
        STACK=stack, BENCH_STATE_DIR=str(STATE), PYTHONPYCACHEPREFIX=str(STATE / "pycache"), BENCH_OBSERVE_OVERRIDES=json.dumps(overrides)
    )
    if name == "bare-observe-schema":
        env["BENCH_DB_FILE"] = str(schema_db())
    with tempfile.TemporaryDirectory(dir=STATE) as mp_dir:
        if multiproc:
            env["PROMETHEUS_MULTIPROC_DIR"] = mp_dir
        proc = subprocess.run(
            [
                str(VENV / "bin/python"),
                str(HERE / "inproc.py"),
                "--n",
                str(args.n),
                "--boom-n",
                str(args.boom_n),
                "--modes",
                args.mode,
                "--round",
                str(round_no),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
    if proc.returncode != 0:
        print(f"!! {name}: inproc.py failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return []
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return [dict(r, variant=name) for r in rows if r.get("kind") == "inproc"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--boom-n", type=int, default=0)
    ap.add_argument("--mode", default="wsgi")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        ap.error(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    subprocess.run(["bash", str(HERE / "setup_venv.sh")], check=True)
    (STATE / "db-observe-schema.sqlite3").unlink(missing_ok=True)
    rows: list[dict] = []
    for r in range(1, args.rounds + 1):
        for name in names if r % 2 else list(reversed(names)):
            print(f"== ablate round {r}: {name}", file=sys.stderr, flush=True)
            rows += run_one(name, args, r)

    def median_of(variant: str, endpoint: str, key: str) -> float:
        xs = [x[key] for x in rows if x["variant"] == variant and x["endpoint"] == endpoint]
        return statistics.median(xs) if xs else float("nan")

    out = [
        f"Ablation: {args.mode} mode, N={args.n} per endpoint, {args.rounds} rounds, variants alternating; medians over rounds. "
        "'added' = variant minus bare; 'saves' = full minus variant (what switching the part off would save).\n",
        "| endpoint | variant | OBSERVE overrides | us/req wall | us/req CPU | added vs bare, wall / CPU | saves vs full, wall / CPU | other cores (max) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    endpoints = []
    for x in rows:
        if x["endpoint"] not in endpoints:
            endpoints.append(x["endpoint"])
    for ep in endpoints:
        bw, bc = median_of("bare", ep, "us_per_req"), median_of("bare", ep, "cpu_us_per_req")
        fw, fc = median_of("full", ep, "us_per_req"), median_of("full", ep, "cpu_us_per_req")
        for name in names:
            w, c = median_of(name, ep, "us_per_req"), median_of(name, ep, "cpu_us_per_req")
            other = max((x["other_cores"] for x in rows if x["variant"] == name and x["endpoint"] == ep), default=float("nan"))
            stack, overrides, multiproc = VARIANTS[name]
            desc = ("(bare Django)" if stack == "bare" else json.dumps(overrides) if overrides else "-") + (
                "" if stack == "bare" else (", multiprocess metrics" if multiproc else ", single-process metrics")
            )
            out.append(
                f"| {ep} | {name} | {desc} | {w:,.1f} | {c:,.1f} | {w - bw:+,.1f} / {c - bc:+,.1f} | "
                f"{fw - w:+,.1f} / {fc - c:+,.1f} | {other:.2f} |"
            )
    text = "\n".join(out)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
