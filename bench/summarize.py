#!/usr/bin/env python3
"""Summarise compare.sh results folders into Markdown (stdlib only).

    python3 summarize.py RESULTS_DIR [RESULTS_DIR ...] [--quiet-max 0.10]

Reads from each RESULTS_DIR: header.txt (run facts written by compare.sh), http.log (RESULT
lines of run_http.sh), interleave.txt (RESULT lines of interleave.py), inproc.jsonl (JSON lines
of inproc.py) and mem.log (RESULT lines of memcheck.sh). Prints: the goals with the measured
value (back-to-back rounds, then interleaved), then per part per-round values, medians over rounds, the spread between rounds ((max-min)/median), and the ratios
observe/bare, peers/bare and observe/peers computed per round (same round = back-to-back runs).
Several folders are pooled (their rounds are numbered folder.round).

HTTP results are grouped by server (gunicorn | uvicorn) and database (db=sqlite|postgresql,
cma=CONN_MAX_AGE); rows without db= are SQLite with CONN_MAX_AGE 0 (runs before these fields).

    python3 summarize.py RESULTS_DIR --goals-only     # just the goals table (README's head)

The machine may be shared: every timed run records how many cores OTHER processes used. A round
is "quiet" when that was below --quiet-max cores in both runs of a pair; ratio tables give the
quiet-round median next to the all-rounds median.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections import defaultdict
from pathlib import Path

NAN = float("nan")
PAIRS = [("observe", "bare"), ("peers", "bare"), ("observe", "peers"), ("project-observe", "project-bare")]
STACK_ORDER = ["bare", "peers", "observe", "project-bare", "project-observe"]

# Issue 17's goals (ratios and costs on the 2-core machine).
GOAL_HTTP_RATIO = 0.90
GOAL_SERVER_CPU_ADDED_US = 25.0
GOAL_INPROC_PING_ADDED_US = 20.0
GOAL_INPROC_DB_ADDED_US = 40.0
# Issue 8's goals, still checked.
GOAL_BOOM_US = 2000.0
GOAL_RSS_MB = 20.0


def med(xs):
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else NAN


def spread(xs):
    m = med(xs)
    return (max(xs) - min(xs)) / m * 100 if xs and m == m and m else NAN


def fmt(x, nd=1):
    return "n/a" if x != x else f"{x:,.{nd}f}"


def ordered(values, order=None):
    seen = []
    for v in values:
        if v not in seen:
            seen.append(v)
    if order:
        seen.sort(key=lambda v: order.index(v) if v in order else len(order))
    return seen


def quiet(r, key, limit):
    return r.get(key, NAN) == r.get(key, NAN) and r[key] < limit


def row(cells):
    return "| " + " | ".join(str(c) for c in cells) + " |"


# --- parsing ------------------------------------------------------------------------------


def parse_result_lines(path, tag):
    rows = []
    for line in path.read_text().splitlines():
        if not line.startswith("RESULT "):
            continue
        kv = dict(tok.split("=", 1) for tok in line.split()[1:] if "=" in tok)
        kv["round"] = f"{tag}{kv.get('round', '1')}"
        rows.append(kv)
    return rows


def parse_http(path, tag):
    rows = parse_result_lines(path, tag)
    for kv in rows:
        kv.setdefault("server", "gunicorn")
        kv.setdefault("db", "sqlite")
        kv.setdefault("cma", "0")
        for k in (
            "rps",
            "p50_ms",
            "p99_ms",
            "server_cpu_us",
            "server_user_us",
            "server_sys_us",
            "cores_server",
            "cores_wrk",
            "cores_softirq",
            "cores_other",
        ):
            kv[k] = float(kv.get(k, "nan"))
        for k in ("requests", "non2xx", "sock_errors"):
            kv[k] = int(kv[k])
    return rows


def parse_interleave(path, tag):
    rows = parse_result_lines(path, tag)
    for kv in rows:
        for k in ("cpu_us", "base_cpu_us", "added_us", "added_q1", "added_q3", "rps", "base_rps", "ratio", "ratio_q1", "ratio_q3"):
            kv[k] = float(kv[k])
        kv["slices"] = int(kv["slices"])
    return rows


def parse_inproc(path, tag):
    rows, other = [], []
    for line in path.read_text().splitlines():
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        r["round"] = f"{tag}{r['round']}"
        r.setdefault("other_cores", NAN)
        (rows if r.get("kind") == "inproc" else other).append(r)
    return rows, other


def parse_mem(path, tag):
    rows = parse_result_lines(path, tag)
    for kv in rows:
        for k in ("rss_warm_kb", "rss_requests_kb", "rss_storm_kb", "rss_settled_kb", "requests", "errors"):
            kv[k] = int(kv[k])
    return rows


# --- goals --------------------------------------------------------------------------------


def db_label(db, cma):
    return f"{'SQLite' if db == 'sqlite' else 'PostgreSQL'}, CONN_MAX_AGE {cma}"


def http_pick(rows, server, endpoint, stack, db="sqlite", cma="0"):
    """round -> row for one server, database, endpoint and stack."""
    return {
        r["round"]: r
        for r in rows
        if r["server"] == server and r["endpoint"] == endpoint and r["stack"] == stack and r["db"] == db and r["cma"] == cma
    }


def inproc_pick(rows, stack, mode, endpoint):
    return {r["round"]: r for r in rows if r["stack"] == stack and r["mode"] == mode and r["endpoint"] == endpoint}


def paired(cur, ref, key):
    """Per-round (stack, base) values of key for the rounds both have."""
    return [(cur[k][key], ref[k][key]) for k in cur if k in ref]


def interleave_table(rows, out, level="###"):
    """The HTTP goals measured interleaved: both servers up, wrk alternating between them in short slices."""
    if not rows:
        return
    out.append(f"{level} HTTP goals, interleaved (interleave.py)\n")
    out.append(
        "Both servers of a pair run at once and wrk drives them in turn, in slices of equal length (A B, B A, ...): "
        "each slice of one has a neighbour slice of the other within seconds, so the machine's drift, which moves "
        "back-to-back 10 s runs by ±30 % here, cancels. ratio = median over slice pairs of (requests observe / "
        "requests bare); added = median of the paired differences of server CPU per request; IQR in brackets.\n"
    )
    out.append("| measure | bare | observe | ratio (IQR) | goal | met? | added server CPU µs/req (IQR) | goal | met? | slice pairs |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    yes, no = "**yes**", "**NO**"

    def shown(ratio):  # truncated, not rounded: 0.8998 must not read as the goal's 0.900
        return f"{math.floor(ratio * 1000) / 1000:.3f}"

    def order(r):
        return (r["base"], r["endpoint"] != "/ping", r["db"] != "sqlite", int(r["cma"]), r["round"])

    for r in sorted(rows, key=order):
        what = "startproject site: " if r["stack"].startswith("project") else ""
        db = "" if r["endpoint"] == "/ping" else f" ({db_label(r['db'], r['cma'])})"
        cpu_goal = r["endpoint"] == "/ping"
        out.append(
            row(
                [
                    f"{what}gunicorn `{r['endpoint']}` req/s{db}",
                    fmt(r["base_rps"], 0),
                    fmt(r["rps"], 0),
                    f"**{shown(r['ratio'])}** ({shown(r['ratio_q1'])} .. {shown(r['ratio_q3'])})",
                    f"≥ {GOAL_HTTP_RATIO:.2f}",
                    yes if r["ratio"] >= GOAL_HTTP_RATIO else no,
                    f"{r['added_us']:+,.0f} ({r['added_q1']:+,.0f} .. {r['added_q3']:+,.0f}) of {r['base_cpu_us']:,.0f}",
                    f"≤ +{GOAL_SERVER_CPU_ADDED_US:.0f} µs" if cpu_goal else "-",
                    (yes if r["added_us"] <= GOAL_SERVER_CPU_ADDED_US else no) if cpu_goal else "-",
                    r["slices"],
                ]
            )
        )
    out.append("")


def goals_table(http, inproc, mem, headers, out, level="###"):
    """Issue 17's table: measure | bare | observe | ratio | goal | met?  (medians over rounds)."""
    out.append(f"{level} Goals (issue 17) against this run\n")
    out.append(
        "bare and observe = medians over rounds; ratio = median of the per-round ratios (req/s) or of the "
        "per-round differences (µs) of back-to-back runs. In-process µs are CPU time of the process "
        "(wall time inflates with the neighbours' load; both are in the tables below).\n"
    )
    out.append("| measure | bare | observe | ratio | goal | met? | rounds |")
    out.append("|---|---|---|---|---|---|---|")

    def verdict(ok):
        return "n/a" if ok is None else ("**yes**" if ok else "**NO**")

    def rps_row(label, server, ep, db="sqlite", cma="0", stack="observe", base="bare"):
        cur, ref = http_pick(http, server, ep, stack, db, cma), http_pick(http, server, ep, base, db, cma)
        if not cur or not ref:
            return
        pairs = paired(cur, ref, "rps")
        ratio = med([c / b for c, b in pairs if b])
        out.append(
            row(
                [
                    label,
                    fmt(med([r["rps"] for r in ref.values()]), 0),
                    fmt(med([r["rps"] for r in cur.values()]), 0),
                    f"**{fmt(ratio, 3)}**",
                    f"≥ {GOAL_HTTP_RATIO:.2f}",
                    verdict(None if ratio != ratio else ratio >= GOAL_HTTP_RATIO),
                    len(pairs),
                ]
            )
        )

    def added_row(label, cur, ref, key, goal, nd=1):
        if not cur or not ref:
            return
        pairs = paired(cur, ref, key)
        added = med([c - b for c, b in pairs])
        out.append(
            row(
                [
                    label,
                    fmt(med([r[key] for r in ref.values()]), nd),
                    fmt(med([r[key] for r in cur.values()]), nd),
                    f"**{added:+,.{nd}f} µs**" if added == added else "n/a",
                    f"≤ +{goal:.0f} µs" if goal else "-",
                    verdict(None if added != added or not goal else added <= goal),
                    len(pairs),
                ]
            )
        )

    rps_row("gunicorn `/ping` req/s", "gunicorn", "/ping")
    rps_row("gunicorn `/db` req/s (SQLite, CONN_MAX_AGE 0)", "gunicorn", "/db")
    for cma in ("0", "60"):
        rps_row(f"gunicorn `/db` req/s (PostgreSQL, CONN_MAX_AGE {cma})", "gunicorn", "/db", "postgresql", cma)
    added_row(
        "server CPU µs/req, `/ping`",
        http_pick(http, "gunicorn", "/ping", "observe"),
        http_pick(http, "gunicorn", "/ping", "bare"),
        "server_cpu_us",
        GOAL_SERVER_CPU_ADDED_US,
        0,
    )
    added_row(
        "in-process WSGI `/ping` µs (CPU)",
        inproc_pick(inproc, "observe", "wsgi", "/ping"),
        inproc_pick(inproc, "bare", "wsgi", "/ping"),
        "cpu_us_per_req",
        GOAL_INPROC_PING_ADDED_US,
    )
    added_row(
        "in-process WSGI `/db` µs (CPU)",
        inproc_pick(inproc, "observe", "wsgi", "/db"),
        inproc_pick(inproc, "bare", "wsgi", "/db"),
        "cpu_us_per_req",
        GOAL_INPROC_DB_ADDED_US,
    )
    rps_row("uvicorn `/ping` req/s", "uvicorn", "/ping")
    rps_row("uvicorn `/aping` (async view) req/s", "uvicorn", "/aping")
    added_row(
        "in-process ASGI `/aping` µs (CPU)",
        inproc_pick(inproc, "observe", "asgi", "/aping"),
        inproc_pick(inproc, "bare", "asgi", "/aping"),
        "cpu_us_per_req",
        None,
    )
    for ep in ("/ping", "/db"):
        rps_row(f"startproject site: gunicorn `{ep}` req/s", "gunicorn", ep, stack="project-observe", base="project-bare")
    for cma in ("0", "60"):
        rps_row(
            f"startproject site: gunicorn `/db` req/s (PostgreSQL, CONN_MAX_AGE {cma})",
            "gunicorn",
            "/db",
            "postgresql",
            cma,
            stack="project-observe",
            base="project-bare",
        )
    added_row(
        "startproject site: server CPU µs/req, `/ping`",
        http_pick(http, "gunicorn", "/ping", "project-observe"),
        http_pick(http, "gunicorn", "/ping", "project-bare"),
        "server_cpu_us",
        GOAL_SERVER_CPU_ADDED_US,
        0,
    )
    out.append("")
    loads = []
    for h in headers:
        text = h.read_text()
        for line in text.splitlines():
            if "load average" in line:
                loads.append(line.split("load average", 1)[1].strip(" :"))
    if loads:
        out.append(f"Load average (start / end of the run; 2 cores, shared machine): {' / '.join(loads)}.\n")

    other = []
    for mode in ("wsgi",):
        for key, what in (("us_per_req", "wall"), ("cpu_us_per_req", "CPU, all threads")):
            obs = [r[key] for r in inproc_pick(inproc, "observe", mode, "/boom").values()]
            m = med(obs)
            if obs:
                other.append(
                    row(
                        [
                            f"`/boom` in-process, error captured and stored ({mode} mode, {what})",
                            f"≤ {GOAL_BOOM_US:,.0f} µs/req",
                            f"{fmt(m, 0)} µs/req",
                            ", ".join(fmt(x, 0) for x in obs),
                            verdict(m <= GOAL_BOOM_US),
                        ]
                    )
                )
    for phase, key, label in (("requests", "rss_requests_kb", "after the requests"), ("storm", "rss_settled_kb", "after the error storm")):
        rs = [r for r in mem if r["stack"] == "observe"]
        if not rs:
            continue
        growth = [(r[key] - r["rss_warm_kb"]) / 1024 for r in rs]
        m = med(growth)
        n = rs[0]["requests"] if phase == "requests" else rs[0]["errors"]
        other.append(
            row(
                [
                    f"RSS growth of one observe worker {label} ({n:,} {'requests' if phase == 'requests' else 'errors'}; vs after warm-up)",
                    f"< {GOAL_RSS_MB:.0f} MB",
                    f"{fmt(m, 1)} MB",
                    ", ".join(fmt(x, 1) for x in growth),
                    verdict(m < GOAL_RSS_MB),
                ]
            )
        )
    if other:
        out.append("Earlier goals (issue 8), still checked:\n")
        out.append("| goal | target | measured (median over rounds) | per round | met? |")
        out.append("|---|---|---|---|---|")
        out.extend(other)
        out.append("")


# --- HTTP ---------------------------------------------------------------------------------


def http_tables(rows, server, endpoints, limit, out, title, db="sqlite", cma="0"):
    rows = [r for r in rows if r["server"] == server and r["endpoint"] in endpoints and r["db"] == db and r["cma"] == cma]
    if not rows:
        return
    title = f"{title}, {db_label(db, cma)}"
    stacks = ordered((r["stack"] for r in rows), STACK_ORDER)
    eps = ordered(r["endpoint"] for r in rows)
    by = defaultdict(list)
    for r in rows:
        by[(r["stack"], r["endpoint"])].append(r)
    cfg = rows[0]
    durations = ", ".join(ordered(r["duration"] for r in rows))
    out.append(
        f"### {title}: {server} -w {cfg['workers']} + wrk -t{cfg['threads']} -c{cfg['conns']} -d{durations} "
        f"(rounds per stack: {max(len(v) for v in by.values())})\n"
    )
    out.append(
        "| stack | endpoint | req/s per round | req/s median | spread | p50 ms (median) | p99 ms (median) "
        "| server CPU us/req (median): user + sys | other processes' cores per round | non-2xx / socket errors |"
    )
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for ep in eps:
        for st in stacks:
            rs = by.get((st, ep), [])
            if not rs:
                continue
            rps = [r["rps"] for r in rs]
            extra = " (prom multiprocess)" if any(r.get("multiproc") == "1" for r in rs) else ""
            out.append(
                row(
                    [
                        f"{st}{extra}",
                        ep,
                        ", ".join(fmt(x, 0) for x in rps),
                        fmt(med(rps), 0),
                        f"{fmt(spread(rps))}%",
                        fmt(med([r["p50_ms"] for r in rs]), 2),
                        fmt(med([r["p99_ms"] for r in rs]), 2),
                        f"{fmt(med([r['server_cpu_us'] for r in rs]), 0)}: {fmt(med([r['server_user_us'] for r in rs]), 0)} + {fmt(med([r['server_sys_us'] for r in rs]), 0)}",
                        ", ".join(fmt(r["cores_other"], 2) for r in rs),
                        f"{sum(r['non2xx'] for r in rs)} / {sum(r['sock_errors'] for r in rs)}",
                    ]
                )
            )
    out.append("")
    ratio_rows = []
    for ep in eps:
        for st, base in PAIRS:
            cur = {r["round"]: r for r in by.get((st, ep), [])}
            ref = {r["round"]: r for r in by.get((base, ep), [])}
            common = [k for k in cur if k in ref]
            if not common:
                continue
            ratios = [cur[k]["rps"] / ref[k]["rps"] for k in common]
            qk = [k for k in common if quiet(cur[k], "cores_other", limit) and quiet(ref[k], "cores_other", limit)]
            q = [cur[k]["rps"] / ref[k]["rps"] for k in qk]
            ratio_rows.append(
                row(
                    [
                        f"{st}/{base}",
                        ep,
                        ", ".join(fmt(x, 3) for x in ratios),
                        f"**{fmt(med(ratios), 3)}**",
                        fmt(med([r["rps"] for r in cur.values()]) / med([r["rps"] for r in ref.values()]), 3),
                        fmt(max(r["rps"] for r in cur.values()) / max(r["rps"] for r in ref.values()), 3),
                        f"{fmt(med(q), 3)} ({len(q)})",
                        fmt(med([r["server_cpu_us"] for r in cur.values()]) / med([r["server_cpu_us"] for r in ref.values()]), 2),
                    ]
                )
            )
    if ratio_rows:
        out.append(
            f"Throughput ratios: per round = the stack's req/s / the other stack's req/s in the same round; "
            f"quiet = other processes < {limit:.2f} cores in both runs.\n"
        )
        out.append(
            "| ratio | endpoint | req/s ratio per round | median ratio | ratio of medians | ratio of best rounds "
            "| median ratio, quiet rounds (n) | server CPU us/req ratio (medians) |"
        )
        out.append("|---|---|---|---|---|---|---|---|")
        out.extend(ratio_rows)
        out.append("")


# --- in-process ---------------------------------------------------------------------------


def inproc_tables(rows, others, limit, out):
    stacks = ordered((r["stack"] for r in rows), STACK_ORDER)
    modes = ordered(r["mode"] for r in rows)
    eps = ordered(r["endpoint"] for r in rows)
    by = defaultdict(list)
    for r in rows:
        by[(r["stack"], r["mode"], r["endpoint"])].append(r)
    out.append(f"### In-process: one process, time.perf_counter (rounds per stack: {max(len(v) for v in by.values())})\n")
    out.append(
        "| mode | endpoint | N | stack | us/req per round | us/req median | spread | CPU us/req (median) "
        "| other processes' cores per round |"
    )
    out.append("|---|---|---|---|---|---|---|---|---|")
    for mode in modes:
        for ep in eps:
            for st in stacks:
                rs = by.get((st, mode, ep), [])
                if not rs:
                    continue
                us = [r["us_per_req"] for r in rs]
                out.append(
                    row(
                        [
                            mode,
                            ep,
                            rs[0]["n"],
                            st,
                            ", ".join(fmt(x, 1) for x in us),
                            fmt(med(us), 1),
                            f"{fmt(spread(us))}%",
                            fmt(med([r["cpu_us_per_req"] for r in rs]), 1),
                            ", ".join(fmt(r["other_cores"], 2) for r in rs),
                        ]
                    )
                )
    out.append("")
    ratio_rows = []
    for mode in modes:
        for ep in eps:
            for st, base in PAIRS:
                cur = {r["round"]: r for r in by.get((st, mode, ep), [])}
                ref = {r["round"]: r for r in by.get((base, mode, ep), [])}
                common = [k for k in cur if k in ref]
                if not common:
                    continue
                per_round = [cur[k]["us_per_req"] / ref[k]["us_per_req"] for k in common]
                added = [cur[k]["us_per_req"] - ref[k]["us_per_req"] for k in common]
                qk = [k for k in common if quiet(cur[k], "other_cores", limit) and quiet(ref[k], "other_cores", limit)]
                q = [cur[k]["us_per_req"] / ref[k]["us_per_req"] for k in qk]
                c = med([r["us_per_req"] for r in cur.values()])
                b = med([r["us_per_req"] for r in ref.values()])
                ratio_rows.append(
                    row(
                        [
                            mode,
                            ep,
                            f"{st}/{base}",
                            f"**{fmt(c / b, 2)}**",
                            f"**{fmt(c - b, 1)}**",
                            ", ".join(fmt(x, 2) for x in per_round),
                            ", ".join(fmt(x, 0) for x in added),
                            fmt(min(r["us_per_req"] for r in cur.values()) / min(r["us_per_req"] for r in ref.values()), 2),
                            f"{fmt(med(q), 2)} ({len(q)})",
                        ]
                    )
                )
    if ratio_rows:
        out.append(
            f"Per-request cost ratios (medians over rounds; added = difference of the medians, "
            f"negative = cheaper; quiet = other processes < {limit:.2f} cores in both runs):\n"
        )
        out.append(
            "| mode | endpoint | ratio | us/req ratio (medians) | added us/req (medians) | ratio per round "
            "| added us/req per round | ratio of best rounds | median ratio, quiet rounds (n) |"
        )
        out.append("|---|---|---|---|---|---|---|---|---|")
        out.extend(ratio_rows)
        out.append("")
    logs = [x for x in others if x.get("kind") == "inproc-log"]
    if logs:
        out.append("Structured-log check (lines each stack wrote during its last in-process run):\n")
        for st in stacks:
            ls = [x for x in logs if x["stack"] == st]
            if ls:
                x = ls[-1]
                per = x["log_lines"] / x["requests"] if x["requests"] else 0
                out.append(
                    f"- {st}: {x['log_lines']:,} lines / {x['requests']:,} requests = {per:.2f} lines per request, {x['log_bytes']:,} bytes"
                )
        out.append("")
    missing = sorted({(x["stack"], x["endpoint"]) for x in others if x.get("kind") == "inproc-missing"})
    if missing:
        out.append(
            "Endpoints not served (404) by the installed version, so not measured: " + ", ".join(f"{s} {e}" for s, e in missing) + "\n"
        )
    caps = [x for x in others if x.get("kind") == "observe-capabilities"]
    if caps:
        c = caps[-1]
        parts = [f"`{k}`: {v}" for k, v in c.items() if k not in ("kind", "round", "routes", "other_cores")]
        out.append("django-observe in the observe stack (last in-process round): " + ", ".join(parts) + "\n")


# --- memory -------------------------------------------------------------------------------


def mem_table(rows, out):
    if not rows:
        return
    out.append("### Memory: RSS of one gunicorn sync worker (-w 1)\n")
    out.append(
        "| stack | round | RSS after warm-up MB | after N requests MB (growth) | N requests | after the error storm MB (growth) "
        "| errors (5xx) | 3 s later MB (growth vs warm-up) | same worker | observe tables after the storm |"
    )
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: (STACK_ORDER.index(r["stack"]) if r["stack"] in STACK_ORDER else 9, r["round"])):
        w, a, s, z = (r[k] / 1024 for k in ("rss_warm_kb", "rss_requests_kb", "rss_storm_kb", "rss_settled_kb"))
        out.append(
            row(
                [
                    r["stack"],
                    r["round"],
                    fmt(w, 1),
                    f"{fmt(a, 1)} ({a - w:+.1f})",
                    f"{r['requests']:,}",
                    f"{fmt(s, 1)} ({s - a:+.1f})",
                    f"{r['errors']:,} ({r.get('errors_5xx', '?')})",
                    f"{fmt(z, 1)} ({z - w:+.1f})",
                    r.get("same_worker", "?"),
                    r.get("stored", "-").replace(",", ", "),
                ]
            )
        )
    out.append("")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results_dirs", nargs="+")
    ap.add_argument("--quiet-max", type=float, default=0.10, help="max cores used by other processes for a 'quiet' round")
    ap.add_argument("--goals-only", action="store_true", help="print only the goals table")
    args = ap.parse_args()
    http, interleaved, inproc, others, mem, headers = [], [], [], [], [], []
    for i, d in enumerate(Path(p) for p in args.results_dirs):
        tag = f"{i + 1}." if len(args.results_dirs) > 1 else ""
        if (d / "header.txt").exists():
            headers.append(d / "header.txt")
        if (d / "http.log").exists():
            http += parse_http(d / "http.log", tag)
        if (d / "interleave.txt").exists():
            interleaved += parse_interleave(d / "interleave.txt", tag)
        if (d / "inproc.jsonl").exists():
            r, o = parse_inproc(d / "inproc.jsonl", tag)
            inproc += r
            others += o
        if (d / "mem.log").exists():
            mem += parse_mem(d / "mem.log", tag)
    if not (http or interleaved or inproc or mem):
        print(f"no results found in {' '.join(args.results_dirs)}", file=sys.stderr)
        return 1
    out = []
    for h in headers:
        out.append("```text")
        out.append(h.read_text().rstrip())
        out.append("```\n")
    if args.goals_only:
        out = []
        goals_table(http, inproc, mem, headers, out, level="##")
        interleave_table(interleaved, out, level="##")
        print("\n".join(out))
        return 0
    goals_table(http, inproc, mem, headers, out)
    interleave_table(interleaved, out)
    main_eps = ("/ping", "/aping", "/db", "/boom")
    for db, cma in ordered((r["db"], r["cma"]) for r in http):
        http_tables(http, "gunicorn", main_eps, args.quiet_max, out, "HTTP (WSGI)", db, cma)
    http_tables(http, "gunicorn", ("/health/ready", "/metrics"), args.quiet_max, out, "HTTP (WSGI), probe and scrape endpoints")
    for db, cma in ordered((r["db"], r["cma"]) for r in http):
        http_tables(http, "uvicorn", main_eps, args.quiet_max, out, "HTTP (ASGI)", db, cma)
    if inproc:
        inproc_tables(inproc, others, args.quiet_max, out)
    mem_table(mem, out)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
