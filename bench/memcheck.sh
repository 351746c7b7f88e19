#!/usr/bin/env bash
# Usage: ./memcheck.sh STACK        (STACK = bare | peers | observe | project-bare | project-observe)
#
# RSS growth of ONE gunicorn sync worker (-w 1): after a warm-up, after MEM_REQUESTS requests
# (/ping and /db alternating) and after an error storm of MEM_ERRORS requests to /boom.
# wrk runs in MEM_CHUNK slices (alternating paths) until the count is reached, so the counts
# are at least the target and exact in the output; the whole phase is bounded by MEM_TIMEOUT.
# The observe stack runs exactly as in the HTTP run (multiprocess metrics, gunicorn hooks).
# Prints a RESULT line (kind=mem) for summarize.py.
#
# Knobs (env): MEM_WARMUP=5000 MEM_REQUESTS=100000 MEM_ERRORS=10000 MEM_TIMEOUT=400 (s per phase) MEM_CHUNK=3s
#              MEM_CONNECTIONS=4 RESULTS_DIR BENCH_VENV BENCH_STATE_DIR OBSERVE_MULTIPROC=1
set -euo pipefail

STACK="${1:?usage: memcheck.sh STACK   (bare | peers | observe)}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${BENCH_VENV:-/tmp/obsbench-venv}"
STATE="${BENCH_STATE_DIR:-/tmp/obsbench}"
WARM="${MEM_WARMUP:-5000}"
REQS="${MEM_REQUESTS:-100000}"
ERRS="${MEM_ERRORS:-10000}"
TIMEOUT="${MEM_TIMEOUT:-400}"
CHUNK="${MEM_CHUNK:-3s}"
CONNS="${MEM_CONNECTIONS:-4}"
RESULTS_DIR="${RESULTS_DIR:-$STATE/last-run}"

export STACK BENCH_STATE_DIR="$STATE" PYTHONPYCACHEPREFIX="$STATE/pycache"
unset SENTRY_DSN SENTRY_SPOTLIGHT PROMETHEUS_MULTIPROC_DIR prometheus_multiproc_dir || true
mkdir -p "$STATE" "$RESULTS_DIR"
"$HERE/setup_venv.sh"
PY="$VENV/bin/python"

conf=()
if [[ "$STACK" == *observe && "${OBSERVE_MULTIPROC:-1}" == 1 ]]; then
    export PROMETHEUS_MULTIPROC_DIR="$STATE/prom-multiproc-$STACK-mem"
    rm -rf "$PROMETHEUS_MULTIPROC_DIR"; mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    conf=(--config "python:gunicorn_conf")
fi
# A fresh database per run (empty error tables), every stack with the same schema.
"$PY" "$HERE/dbprep.py"
LOG_FILE="$STATE/$STACK-app.jsonl"
[[ -f "$LOG_FILE" ]] && : >"$LOG_FILE"

PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
BASE="http://127.0.0.1:$PORT"
ERRLOG="$STATE/mem-$STACK.err"
: >"$ERRLOG"
PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}" "$VENV/bin/gunicorn" benchsite.wsgi:application "${conf[@]}" --chdir "$HERE/site" \
    --worker-class sync --workers 1 --bind "127.0.0.1:$PORT" \
    --error-logfile "$ERRLOG" --log-level warning >/dev/null 2>>"$ERRLOG" &
GPID=$!
stop_server() {
    if kill -0 "$GPID" 2>/dev/null; then
        kill -TERM "$GPID" 2>/dev/null || true
        for _ in $(seq 1 60); do kill -0 "$GPID" 2>/dev/null || break; sleep 0.5; done
        kill -0 "$GPID" 2>/dev/null && kill -KILL "$GPID" 2>/dev/null || true
    fi
    wait "$GPID" 2>/dev/null || true
}
trap stop_server EXIT
trap 'exit 130' INT TERM

ready=0
for _ in $(seq 1 120); do
    kill -0 "$GPID" 2>/dev/null || { echo "gunicorn exited during start-up" >&2; tail -20 "$ERRLOG" >&2; exit 1; }
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$BASE/ping" || true)" == 200 ]] && { ready=1; break; }
    sleep 0.25
done
[[ $ready == 1 ]] || { echo "gunicorn not ready after 30s" >&2; exit 1; }
WPID="$(ps -o pid= --ppid "$GPID" | tr -d ' ' | head -1)"
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$WPID/status"; }

drive() {  # label "paths" target -> prints "requests non2xx"
    local raw="$RESULTS_DIR/mem-$STACK-$1.txt" total=0 bad=0 i=0 n b start=$SECONDS
    local -a paths=($2)
    : >"$raw"
    while (( total < $3 && SECONDS - start < TIMEOUT )); do
        wrk -t1 -c"$CONNS" -d"$CHUNK" "$BASE${paths[i % ${#paths[@]}]}" >>"$raw"
        read -r n b < <(tail -n 12 "$raw" | awk '/ requests in / { r = $1 } /Non-2xx or 3xx responses:/ { x = $NF } END { printf "%d %d\n", r, x }')
        total=$((total + n)); bad=$((bad + b)); i=$((i + 1))
    done
    echo "$total $bad"
}

read -r warm_n _ < <(drive warmup "/ping /db" "$WARM")
rss0="$(rss_kb)"
t0=$(date +%s)
read -r req_n req_bad < <(drive requests "/ping /db" "$REQS")
rss1="$(rss_kb)"
read -r err_n err_5xx < <(drive storm "/boom" "$ERRS")
rss2="$(rss_kb)"
sleep 3   # let a background error writer drain its queue, then look again
rss3="$(rss_kb)"
t1=$(date +%s)
same_worker=1
[[ "$(ps -o pid= --ppid "$GPID" | tr -d ' ' | head -1)" == "$WPID" ]] || same_worker=0

stored="-"
if [[ "$STACK" == *observe ]]; then
    # Rows in django-observe's own tables (the error tracker), as a sanity check of the storm.
    stored="$("$PY" - "$STATE/db-$STACK.sqlite3" <<'PYEOF'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
names = [r[0] for r in con.execute("select name from sqlite_master where type='table' and name like 'django_observe_%'")]
parts = [f"{n.removeprefix('django_observe_')}:{con.execute(f'select count(*) from {n}').fetchone()[0]}" for n in names]
if "django_observe_errorgroup" in names:  # the exact error count the tracker recorded
    cols = [r[1] for r in con.execute("pragma table_info(django_observe_errorgroup)")]
    if "count" in cols:
        parts.insert(0, f"errors_counted:{con.execute('select coalesce(sum(count), 0) from django_observe_errorgroup').fetchone()[0]}")
print(",".join(parts) or "-")
PYEOF
)"
fi
echo "== memcheck.sh STACK=$STACK  gunicorn sync -w 1, worker pid $WPID (unchanged: $same_worker), wrk -t1 -c$CONNS in $CHUNK slices, $((t1 - t0)) s"
printf '   RSS after warm-up (%d req): %.1f MB; after %d requests: %.1f MB (+%.1f); after %d errors: %.1f MB (+%.1f); 3 s later %.1f MB (+%.1f vs warm-up)\n' \
    "$warm_n" "$(echo "$rss0/1024" | bc -l)" "$req_n" "$(echo "$rss1/1024" | bc -l)" "$(echo "($rss1-$rss0)/1024" | bc -l)" \
    "$err_n" "$(echo "$rss2/1024" | bc -l)" "$(echo "($rss2-$rss1)/1024" | bc -l)" "$(echo "$rss3/1024" | bc -l)" "$(echo "($rss3-$rss0)/1024" | bc -l)"
echo "   non-2xx during the requests: $req_bad; 5xx during the storm: $err_5xx (expected: all); observe tables: $stored"
echo "RESULT kind=mem stack=$STACK rss_warm_kb=$rss0 rss_requests_kb=$rss1 rss_storm_kb=$rss2 rss_settled_kb=$rss3 requests=$req_n errors=$err_n non2xx_requests=$req_bad errors_5xx=$err_5xx same_worker=$same_worker stored=$stored"
