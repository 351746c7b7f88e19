#!/usr/bin/env bash
# Usage: bash bench/compare.sh                 (full run, ~55 min on a quiet 2-core machine)
#        PRESET=quick bash bench/compare.sh    (~20 min: 1 round, shorter runs, 10 interleaved slices, smaller memory check)
#
# The whole comparison in one run, stacks alternating: bare vs peers vs observe (minimal site),
# project-bare vs project-observe (a `startproject` site: contrib apps, default middleware):
#   1. HTTP, WSGI: run_http.sh (gunicorn sync -w 2, wrk) for every stack, ROUNDS rounds, SQLite;
#      also /health/ready and /metrics on the stacks that serve them; then /db on each DB_CONFIGS
#      entry (PostgreSQL, CONN_MAX_AGE 0 and 60) for DB_STACKS, in the same round.
#   1b. HTTP, interleaved: interleave.py per INTERLEAVE_CONFIGS entry (endpoint:db:CONN_MAX_AGE) and per
#      INTERLEAVE_PAIRS pair: both servers up, wrk alternating between them in 1 s slices (the
#      drift-proof ratios; back-to-back 10 s runs move by ±30 % on this machine).
#   2. HTTP, ASGI: run_http.sh with SERVER=uvicorn for ASGI_STACKS (bare, observe), ASGI_ROUNDS rounds,
#      /ping /aping /db.
#   3. In-process: inproc.py (test client, the raw WSGI callable; ASGI callable for ASGI_STACKS),
#      INPROC_ROUNDS rounds.
#   4. Memory: memcheck.sh (one gunicorn worker, MEM_REQUESTS requests, then MEM_ERRORS errors).
#   5. summarize.py -> RESULTS_DIR/summary.md, copied to bench/LATEST.md and into bench/README.md
#      (the goals table at the top between the "goals" markers, everything between the "figures"
#      markers) unless UPDATE_README=0 or a part was skipped (SKIP_*).
# Every stack's database has the same schema (dbprep.py). Load average at start and end is recorded.
# The stack order is reversed every other round so that drift of the machine does not favour one.
# Before each HTTP run it waits (at most QUIET_WAIT s) until other processes use < QUIET_CORES cores.
#
# Knobs (env; defaults of the full preset, quick in brackets):
#   STACKS="bare peers observe project-bare project-observe"  ASGI_STACKS="bare observe"  ROUNDS=3 [1]
#   ASGI_ROUNDS=$ROUNDS  DB_CONFIGS="postgresql:0 postgresql:60"  DB_STACKS="bare observe project-bare project-observe"
#   BENCH_PG_URL=postgres://observe:observe@127.0.0.1:5432/observe (databases obsbench_* are made there)
#   INPROC_ASGI_N=2000 [600] (ASGI in-process is ~10x slower per request: thread hops)
#   INPROC_ROUNDS=3 [2]  INPROC_N=10000 [3000]  INPROC_BOOM_N=1000 [300]  INPROC_EXTRA_N=1000 [300]
#   INPROC_MODES=client,wsgi  INPROC_OBSERVE_MULTIPROC=1 (observe in-process with multiprocess metrics)
#   DURATION=10s [5s]  WARMUP=2s [1s]  EXTRA_DURATION=5s [3s]  WRK_THREADS=2  WRK_CONNECTIONS=16
#   GUNICORN_WORKERS=2  UVICORN_WORKERS=2  ENDPOINTS="/ping /db"  ASGI_ENDPOINTS="/ping /aping /db"
#   EXTRA_ENDPOINTS="/health/ready /metrics"
#   MEM_STACKS="bare observe"  MEM_REQUESTS=100000 [20000]  MEM_ERRORS=10000 [2000]
#   INTERLEAVE_CONFIGS="/ping:sqlite:0 /db:sqlite:0 /db:postgresql:0 /db:postgresql:60"
#   INTERLEAVE_PAIRS="bare:observe project-bare:project-observe"  INTERLEAVE_SLICES=30 [10]
#   SKIP_HTTP SKIP_INTERLEAVE SKIP_ASGI SKIP_INPROC SKIP_MEM (1 = skip that part)  QUIET_CORES=0.5  QUIET_WAIT=60
#   RESULTS_DIR=/tmp/obsbench/results-<UTC time>  UPDATE_README=1  BENCH_VENV  BENCH_STATE_DIR
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${BENCH_VENV:-/tmp/obsbench-venv}"
STATE="${BENCH_STATE_DIR:-/tmp/obsbench}"
PRESET="${PRESET:-full}"
case "$PRESET" in
    quick) d_slices=10 d_rounds=1 d_inproc_rounds=2 d_n=3000 d_asgi_n=600 d_boom=300 d_extra=300 d_dur=5s d_warm=1s d_xdur=3s d_mreq=20000 d_merr=2000 ;;
    full) d_slices=30 d_rounds=3 d_inproc_rounds=3 d_n=10000 d_asgi_n=2000 d_boom=1000 d_extra=1000 d_dur=10s d_warm=2s d_xdur=5s d_mreq=100000 d_merr=10000 ;;
    *) echo "PRESET must be quick or full" >&2; exit 2 ;;
esac
STACKS="${STACKS:-bare peers observe project-bare project-observe}"
ASGI_STACKS="${ASGI_STACKS:-bare observe}"
ASGI_ENDPOINTS="${ASGI_ENDPOINTS:-/ping /aping /db}"
DB_CONFIGS="${DB_CONFIGS-postgresql:0 postgresql:60}"
DB_STACKS="${DB_STACKS:-bare observe project-bare project-observe}"
MEM_STACKS="${MEM_STACKS:-bare observe}"
INTERLEAVE_CONFIGS="${INTERLEAVE_CONFIGS-/ping:sqlite:0 /db:sqlite:0 /db:postgresql:0 /db:postgresql:60}"
INTERLEAVE_PAIRS="${INTERLEAVE_PAIRS-bare:observe project-bare:project-observe}"
INTERLEAVE_SLICES="${INTERLEAVE_SLICES:-$d_slices}"
ROUNDS="${ROUNDS:-$d_rounds}"
ASGI_ROUNDS="${ASGI_ROUNDS:-$ROUNDS}"
INPROC_ROUNDS="${INPROC_ROUNDS:-$d_inproc_rounds}"
INPROC_N="${INPROC_N:-$d_n}"
INPROC_ASGI_N="${INPROC_ASGI_N:-$d_asgi_n}"
INPROC_BOOM_N="${INPROC_BOOM_N:-$d_boom}"
INPROC_EXTRA_N="${INPROC_EXTRA_N:-$d_extra}"
INPROC_MODES="${INPROC_MODES:-client,wsgi}"
QUIET_CORES="${QUIET_CORES:-0.5}"
QUIET_WAIT="${QUIET_WAIT:-60}"
export DURATION="${DURATION:-$d_dur}" WARMUP="${WARMUP:-$d_warm}" EXTRA_DURATION="${EXTRA_DURATION:-$d_xdur}"
export MEM_REQUESTS="${MEM_REQUESTS:-$d_mreq}" MEM_ERRORS="${MEM_ERRORS:-$d_merr}"
OUT="${RESULTS_DIR:-$STATE/results-$(date -u +%Y%m%dT%H%M%SZ)}"

export BENCH_STATE_DIR="$STATE" PYTHONPYCACHEPREFIX="$STATE/pycache"
unset SENTRY_DSN SENTRY_SPOTLIGHT PROMETHEUS_MULTIPROC_DIR prometheus_multiproc_dir || true
mkdir -p "$OUT"

"$HERE/setup_venv.sh"
PY="$VENV/bin/python"

# Stacks of round $1 in alternating order: as given in odd rounds, reversed in even rounds.
order() {
    local r="$1"; shift
    if (( r % 2 )); then echo "$@"; else echo "$@" | tr ' ' '\n' | tac | tr '\n' ' '; fi
}

# Cores used by all processes over a 2 s sample (this script is idle meanwhile).
busy_cores() {
    local a b
    a="$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)"
    sleep 2
    b="$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)"
    awk -v a="$a" -v b="$b" -v n="$(nproc)" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[2] - x[2]; printf "%.2f\n", t ? (y[1] - x[1]) / t * n : 0 }'
}
wait_quiet() {
    local start=$SECONDS c
    while :; do
        c="$(busy_cores)"
        if awk -v c="$c" -v q="$QUIET_CORES" 'BEGIN { exit !(c < q) }' || (( SECONDS - start >= QUIET_WAIT )); then
            echo "   (machine busy before the run: $c cores from other processes; waited $((SECONDS - start)) s)" >&2
            return
        fi
    done
}

{
    echo "django-observe bench/compare.sh, PRESET=$PRESET, started $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "git: $(git -C "$HERE/.." rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$HERE/.." status --porcelain -- django_observe 2>/dev/null | grep -q . && echo ' + uncommitted changes in django_observe/')"
    src="$(cd /tmp && "$PY" -c 'import django_observe, os; print(os.path.dirname(django_observe.__file__))' 2>&1 | tail -1)"
    echo "django_observe imported from: $src$( [[ -f "$src/../COMMIT" ]] && echo " (snapshot of commit $(cat "$src/../COMMIT"))")"
    echo "stacks: $STACKS (ASGI: $ASGI_STACKS, memory: $MEM_STACKS, other databases: $DB_STACKS on ${DB_CONFIGS:-none})"
    echo "database: every stack migrated with the same schema (its apps + django-observe's tables), fresh per run (dbprep.py)"
    echo "HTTP interleaved: ${INTERLEAVE_CONFIGS:-none} for ${INTERLEAVE_PAIRS:-no pairs}, $INTERLEAVE_SLICES slices of 1 s per server"
    echo "HTTP: $ROUNDS rounds, wrk -t${WRK_THREADS:-2} -c${WRK_CONNECTIONS:-16} -d$DURATION (warm-up $WARMUP; probe/scrape endpoints -d$EXTRA_DURATION), gunicorn sync -w ${GUNICORN_WORKERS:-2}; ASGI: $ASGI_ROUNDS rounds, uvicorn --workers ${UVICORN_WORKERS:-2}"
    echo "in-process: $INPROC_ROUNDS rounds, N=$INPROC_N (ASGI N=$INPROC_ASGI_N, /boom N=$INPROC_BOOM_N, /health/ready and /metrics N=$INPROC_EXTRA_N), modes $INPROC_MODES (+asgi for $ASGI_STACKS), observe with multiprocess metrics: ${INPROC_OBSERVE_MULTIPROC:-1}"
    if [[ "${SKIP_MEM:-0}" == 1 ]]; then echo "memory: skipped"; else echo "memory: one gunicorn sync worker, $MEM_REQUESTS requests then $MEM_ERRORS errors"; fi
    echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr), $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "python: $("$PY" -V 2>&1), wrk: $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2), SQLite $("$PY" -c 'import sqlite3; print(sqlite3.sqlite_version)')"
    echo "packages: $("$PY" -m pip freeze --disable-pip-version-check 2>/dev/null | grep -v '^#' | sed 's/^-e .*/django-observe (editable, this repo)/' | tr '\n' ' ')"
} | tee "$OUT/header.txt"

if [[ "${SKIP_HTTP:-0}" != 1 ]]; then
    for r in $(seq 1 "$ROUNDS"); do
        for s in $(order "$r" $STACKS); do
            wait_quiet
            SERVER=gunicorn ROUND="$r" RESULTS_DIR="$OUT/wrk" "$HERE/run_http.sh" "$s" 2>&1 | tee -a "$OUT/http.log" ||
                echo "!! run_http.sh $s (gunicorn) round $r failed" | tee -a "$OUT/failures.txt"
        done
        for cfg in $DB_CONFIGS; do
            for s in $(order "$r" $DB_STACKS); do
                wait_quiet
                SERVER=gunicorn BENCH_DB="${cfg%%:*}" BENCH_CONN_MAX_AGE="${cfg##*:}" ENDPOINTS=/db EXTRA_ENDPOINTS="" ROUND="$r" \
                    RESULTS_DIR="$OUT/wrk" "$HERE/run_http.sh" "$s" 2>&1 | tee -a "$OUT/http.log" ||
                    echo "!! run_http.sh $s (gunicorn, $cfg) round $r failed" | tee -a "$OUT/failures.txt"
            done
        done
    done
fi

if [[ "${SKIP_INTERLEAVE:-0}" != 1 ]]; then
    for cfg in $INTERLEAVE_CONFIGS; do
        IFS=: read -r ep db cma <<<"$cfg"
        for pair in $INTERLEAVE_PAIRS; do
            wait_quiet
            echo "== interleave.py $ep ($db, CONN_MAX_AGE $cma): ${pair%%:*} vs ${pair##*:}" | tee -a "$OUT/interleave.log"
            BENCH_DB="$db" BENCH_CONN_MAX_AGE="$cma" "$PY" "$HERE/interleave.py" --path "$ep" --slices "$INTERLEAVE_SLICES" \
                --results "$OUT/interleave.txt" "${pair%%:*}=${pair%%:*}" "${pair##*:}=${pair##*:}" 2>&1 | tee -a "$OUT/interleave.log" ||
                echo "!! interleave.py $ep $cfg $pair failed" | tee -a "$OUT/failures.txt"
        done
    done
fi

if [[ "${SKIP_ASGI:-0}" != 1 ]]; then
    for r in $(seq 1 "$ASGI_ROUNDS"); do
        for s in $(order "$r" $ASGI_STACKS); do
            wait_quiet
            SERVER=uvicorn ENDPOINTS="$ASGI_ENDPOINTS" EXTRA_ENDPOINTS="" ROUND="$r" RESULTS_DIR="$OUT/wrk" "$HERE/run_http.sh" "$s" 2>&1 | tee -a "$OUT/http.log" ||
                echo "!! run_http.sh $s (uvicorn) round $r failed" | tee -a "$OUT/failures.txt"
        done
    done
fi

if [[ "${SKIP_INPROC:-0}" != 1 ]]; then
    for r in $(seq 1 "$INPROC_ROUNDS"); do
        for s in $(order "$r" $STACKS); do
            echo "== inproc.py STACK=$s round=$r" >&2
            mp=()
            if [[ "$s" == *observe && "${INPROC_OBSERVE_MULTIPROC:-1}" == 1 ]]; then
                rm -rf "$STATE/prom-multiproc-inproc"; mkdir -p "$STATE/prom-multiproc-inproc"
                mp=(PROMETHEUS_MULTIPROC_DIR="$STATE/prom-multiproc-inproc")
            fi
            modes="$INPROC_MODES"
            [[ " $ASGI_STACKS " == *" $s "* && ",$modes," != *",asgi,"* ]] && modes="$modes,asgi"
            env "${mp[@]}" STACK="$s" "$PY" "$HERE/inproc.py" --n "$INPROC_N" --asgi-n "$INPROC_ASGI_N" --boom-n "$INPROC_BOOM_N" \
                --extra-n "$INPROC_EXTRA_N" --modes "$modes" --round "$r" 2>>"$OUT/inproc.err" | tee -a "$OUT/inproc.jsonl" ||
                echo "!! inproc.py $s round $r failed (see inproc.err)" | tee -a "$OUT/failures.txt"
        done
    done
fi

if [[ "${SKIP_MEM:-0}" != 1 ]]; then
    for s in $MEM_STACKS; do
        RESULTS_DIR="$OUT/mem" "$HERE/memcheck.sh" "$s" 2>&1 | tee -a "$OUT/mem.log" ||
            echo "!! memcheck.sh $s failed" | tee -a "$OUT/failures.txt"
    done
fi

[[ -s "$OUT/failures.txt" ]] && cat "$OUT/failures.txt" >>"$OUT/header.txt"
echo "finished $(date -u +%Y-%m-%dT%H:%M:%SZ), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/header.txt"
echo
python3 "$HERE/summarize.py" "$OUT" | tee "$OUT/summary.md"
python3 "$HERE/summarize.py" --goals-only "$OUT" >"$OUT/goals.md"

# A partial run (a part skipped) leaves README.md alone: its goals table would lose rows.
partial=0
for part in SKIP_HTTP SKIP_INTERLEAVE SKIP_ASGI SKIP_INPROC SKIP_MEM; do [[ "${!part:-0}" == 1 ]] && partial=1; done
if [[ "${UPDATE_README:-1}" == 1 && "$partial" == 1 ]]; then
    echo "a part was skipped: bench/LATEST.md and bench/README.md left alone (results in $OUT)"
elif [[ "${UPDATE_README:-1}" == 1 ]]; then
    cp "$OUT/summary.md" "$HERE/LATEST.md"
    python3 - "$HERE/README.md" "$OUT/summary.md" "$OUT/goals.md" "$OUT" <<'PYEOF'
import sys
readme, summary, goals, out = sys.argv[1:5]
text = open(readme).read()
for marker, path in (("figures", summary), ("goals", goals)):
    if f"<!-- {marker}:begin -->" not in text:
        continue
    head, rest = text.split(f"<!-- {marker}:begin -->", 1)
    _, tail = rest.split(f"<!-- {marker}:end -->", 1)
    body = open(path).read().rstrip()
    note = f"<!-- written by compare.sh from {path.rsplit('/', 1)[-1]} ({out}); do not edit by hand -->"
    text = f"{head}<!-- {marker}:begin -->\n{note}\n\n{body}\n\n<!-- {marker}:end -->{tail}"
open(readme, "w").write(text)
PYEOF
    echo "bench/LATEST.md and bench/README.md updated"
fi
echo "results: $OUT"
