#!/usr/bin/env bash
# Usage: SERVER=gunicorn|uvicorn ./run_http.sh STACK
#        (STACK = bare | peers | observe | project-bare | project-observe)
#
# One HTTP run of one stack: a fresh database with the common schema (dbprep.py), start the server on 127.0.0.1 (free port), wait until
# /ping answers, smoke-check the endpoints, then per endpoint a short wrk warm-up and a timed
# wrk run; prints req/s, latency p50/p99, the server processes' CPU time per request and where
# the machine's CPU went, plus a RESULT line for summarize.py. Stops the server by its PID.
#
# SERVER=gunicorn: gunicorn sync workers (-w GUNICORN_WORKERS); the observe stacks run with
#   PROMETHEUS_MULTIPROC_DIR and the gunicorn hooks of gunicorn_conf.py (OBSERVE_MULTIPROC=1).
# SERVER=uvicorn: uvicorn --workers UVICORN_WORKERS on benchsite.asgi (Django's ASGI handler).
# Database: BENCH_DB=sqlite|postgresql, BENCH_CONN_MAX_AGE=0|60|... (settings.py), copied into
#   every RESULT line as db= and cma=.
#
# Knobs (env): DURATION=10s WARMUP=2s WRK_THREADS=2 WRK_CONNECTIONS=16 GUNICORN_WORKERS=2
#   UVICORN_WORKERS=2 ENDPOINTS="/ping /db" (uvicorn: "/ping /aping /db") EXTRA_ENDPOINTS="/health/ready /metrics" (measured
#   on stacks that serve them, EXTRA_DURATION=5s; "" = none) ROUND=1 RESULTS_DIR=...
#   BENCH_VENV BENCH_STATE_DIR OBSERVE_MULTIPROC=1 PEERS_MULTIPROC=0
set -euo pipefail

STACK="${1:?usage: run_http.sh STACK   (bare | peers | observe | project-bare | project-observe)}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${BENCH_VENV:-/tmp/obsbench-venv}"
STATE="${BENCH_STATE_DIR:-/tmp/obsbench}"
SERVER="${SERVER:-gunicorn}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-2s}"
EXTRA_DURATION="${EXTRA_DURATION:-5s}"
THREADS="${WRK_THREADS:-2}"
CONNS="${WRK_CONNECTIONS:-16}"
# /aping (async view) only under ASGI by default: under WSGI Django runs it with async_to_sync,
# a new event loop per request, which no one deploys on purpose.
if [[ "$SERVER" == uvicorn ]]; then ENDPOINTS="${ENDPOINTS:-/ping /aping /db}"; else ENDPOINTS="${ENDPOINTS:-/ping /db}"; fi
DB="${BENCH_DB:-sqlite}"
CMA="${BENCH_CONN_MAX_AGE:-0}"
EXTRA_ENDPOINTS="${EXTRA_ENDPOINTS-/health/ready /metrics}"
ROUND="${ROUND:-1}"
RESULTS_DIR="${RESULTS_DIR:-$STATE/last-run}"
METRICS_TOKEN="bench-metrics-token"
case "$SERVER" in
    gunicorn) WORKERS="${GUNICORN_WORKERS:-2}" ;;
    uvicorn) WORKERS="${UVICORN_WORKERS:-2}" ;;
    *) echo "SERVER must be gunicorn or uvicorn" >&2; exit 2 ;;
esac

export STACK BENCH_STATE_DIR="$STATE" BENCH_DB="$DB" BENCH_CONN_MAX_AGE="$CMA"
export PYTHONPYCACHEPREFIX="$STATE/pycache"   # keep __pycache__ out of the repo folder
unset SENTRY_DSN SENTRY_SPOTLIGHT PROMETHEUS_MULTIPROC_DIR prometheus_multiproc_dir || true
mkdir -p "$STATE" "$RESULTS_DIR"

"$HERE/setup_venv.sh"
PY="$VENV/bin/python"

multiproc=0
if [[ "$STACK" == *observe && "${OBSERVE_MULTIPROC:-1}" == 1 ]] || [[ "$STACK" == peers && "${PEERS_MULTIPROC:-0}" == 1 ]]; then
    multiproc=1
    export PROMETHEUS_MULTIPROC_DIR="$STATE/prom-multiproc-$STACK-$SERVER"
    rm -rf "$PROMETHEUS_MULTIPROC_DIR"
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
fi

# A fresh database per run (empty error tables), every stack with the same schema.
"$PY" "$HERE/dbprep.py"

LOG_FILE="$STATE/$STACK-app.jsonl"
[[ -f "$LOG_FILE" ]] && : >"$LOG_FILE"

PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
BASE="http://127.0.0.1:$PORT"
ERRLOG="$STATE/$SERVER-$STACK.err"
: >"$ERRLOG"

hooks="-"
if [[ "$SERVER" == gunicorn ]]; then
    conf=()
    if [[ "$multiproc" == 1 ]]; then
        conf=(--config "python:gunicorn_conf")
        hooks="$(cd "$HERE" && "$PY" -c 'import gunicorn_conf; print(gunicorn_conf.BENCH_HOOKS)' 2>/dev/null | tr ' ' '_' || echo unknown)"
    fi
    # --chdir puts site/ on sys.path; PYTHONPATH makes gunicorn_conf importable as python:gunicorn_conf.
    PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}" "$VENV/bin/gunicorn" benchsite.wsgi:application "${conf[@]}" \
        --chdir "$HERE/site" \
        --worker-class sync --workers "$WORKERS" \
        --bind "127.0.0.1:$PORT" \
        --error-logfile "$ERRLOG" --log-level warning \
        >/dev/null 2>>"$ERRLOG" &
else
    "$VENV/bin/uvicorn" benchsite.asgi:application --app-dir "$HERE/site" \
        --workers "$WORKERS" --host 127.0.0.1 --port "$PORT" \
        --no-access-log --log-level warning \
        >/dev/null 2>>"$ERRLOG" &
fi
GPID=$!

stop_server() {
    if kill -0 "$GPID" 2>/dev/null; then
        kill -TERM "$GPID" 2>/dev/null || true
        for _ in $(seq 1 60); do
            kill -0 "$GPID" 2>/dev/null || break
            sleep 0.5
        done
        kill -0 "$GPID" 2>/dev/null && kill -KILL "$GPID" 2>/dev/null || true
    fi
    wait "$GPID" 2>/dev/null || true
}
trap stop_server EXIT
trap 'exit 130' INT TERM

http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "${@:2}" "$BASE$1" || true; }
auth_for() {
    case "$1" in
        /metrics) echo "Authorization: Bearer $METRICS_TOKEN" ;;
        /health/*) echo "Accept: application/json" ;;
        *) echo "X-Bench: 1" ;;
    esac
}

ready=0
for _ in $(seq 1 120); do
    if ! kill -0 "$GPID" 2>/dev/null; then
        echo "$SERVER exited during start-up; last lines of $ERRLOG:" >&2
        tail -20 "$ERRLOG" >&2
        exit 1
    fi
    if [[ "$(http_code /ping)" == 200 ]]; then ready=1; break; fi
    sleep 0.25
done
[[ $ready == 1 ]] || { echo "$SERVER not ready after 30s" >&2; tail -20 "$ERRLOG" >&2; exit 1; }

# CPU ticks (utime+stime) of the server's master process and its workers.
clk_tck="$(getconf CLK_TCK)"
server_ticks() {  # "user+sys user sys"
    local user=0 sys=0 p u s
    for p in "$GPID" $(ps -o pid= --ppid "$GPID"); do
        read -r u s < <(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12, $13}') || { u=0; s=0; }
        user=$((user + ${u:-0})); sys=$((sys + ${s:-0}))
    done
    echo "$((user + sys)) $user $sys"
}
# Machine-wide ticks: "user+nice+system+irq+steal softirq total ncpu" from /proc/stat.
machine_ticks() {
    awk -v n="$(nproc)" '/^cpu / { print $2 + $3 + $4 + $7 + $9, $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, n }' /proc/stat
}
# CPU seconds (user+sys) of this shell's finished children, from the output of bash's `times`.
child_cpu_seconds() {
    sed -n 2p "$1" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, p, "m"); sub(/s$/, "", p[2]); t += p[1] * 60 + p[2] } print t }'
}

smoke="/ping=$(http_code /ping) /aping=$(http_code /aping) /db=$(http_code /db) /boom=$(http_code /boom)"
measure_extra=""
for ep in $EXTRA_ENDPOINTS; do
    code="$(http_code "$ep" -H "$(auth_for "$ep")")"
    smoke="$smoke $ep=$code"
    [[ "$code" == 200 ]] && measure_extra="$measure_extra $ep"
done
echo "== run_http.sh STACK=$STACK SERVER=$SERVER db=$DB cma=$CMA round=$ROUND  -w $WORKERS pid $GPID on 127.0.0.1:$PORT  wrk -t$THREADS -c$CONNS -d$DURATION (warm-up $WARMUP)  prometheus multiprocess=$multiproc hooks=$hooks"
echo "   smoke: $smoke   (expected: 200 200 200 500; extras measured only where 200)"
case "$smoke" in *"/ping=200 /aping=200 /db=200 /boom=500"*) ;; *) echo "smoke check failed" >&2; tail -20 "$ERRLOG" >&2; exit 1 ;; esac

total_requests=0
run_wrk() {  # endpoint duration
    local ep="$1" dur="$2" header
    header="$(auth_for "$ep")"
    wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -H "$header" "$BASE$ep" >/dev/null
    raw="$RESULTS_DIR/wrk-$SERVER-$STACK-r$ROUND-${ep//\//_}.txt"
    times >"$STATE/.times0"; m0="$(machine_ticks)"; read -r t0 u0 s0 < <(server_ticks)
    wrk -t"$THREADS" -c"$CONNS" -d"$dur" --latency -H "$header" "$BASE$ep" >"$raw"
    read -r t1 u1 s1 < <(server_ticks); m1="$(machine_ticks)"; times >"$STATE/.times1"
    # Where the machine's CPU went during the timed run, in cores: server, wrk (+ this
    # script's other children), softirq (kernel networking), other = everything else.
    read -r cores_server cores_wrk cores_softirq cores_other cores_busy < <(
        awk -v s="$((t1 - t0))" -v hz="$clk_tck" -v m0="$m0" -v m1="$m1" \
            -v c0="$(child_cpu_seconds "$STATE/.times0")" -v c1="$(child_cpu_seconds "$STATE/.times1")" 'BEGIN {
            split(m0, a, " "); split(m1, b, " ")
            tot = b[3] - a[3]; ncpu = b[4]; wall = tot / ncpu / hz
            srv = s / hz; wrk = c1 - c0; usr = (b[1] - a[1]) / hz; sirq = (b[2] - a[2]) / hz
            other = usr - srv - wrk; if (other < 0) other = 0
            printf "%.2f %.2f %.2f %.2f %.2f\n", srv / wall, wrk / wall, sirq / wall, other / wall, (usr + sirq) / wall }')
    read -r rps p50 p99 reqs non2xx sockerr < <(awk '
        function ms(v) {
            if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
            if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
            if (v ~ /m$/)  { sub(/m$/,  "", v); return v * 60000 }
            if (v ~ /s$/)  { sub(/s$/,  "", v); return v * 1000 }
            return v
        }
        /^Requests\/sec:/              { rps = $2 }
        /^ +50% /                      { p50 = ms($2) }
        /^ +99% /                      { p99 = ms($2) }
        / requests in /                { reqs = $1 }
        /Non-2xx or 3xx responses:/    { non2xx = $NF }
        /Socket errors:/               { gsub(/,/, ""); sockerr = $4 + $6 + $8 + $10 }
        END { printf "%s %.3f %.3f %s %d %d\n", rps, p50, p99, reqs, non2xx, sockerr }' "$raw")
    cpu_us="$(awk -v d="$((t1 - t0))" -v hz="$clk_tck" -v n="$reqs" 'BEGIN { printf "%.0f", (n > 0) ? d / hz * 1e6 / n : 0 }')"
    user_us="$(awk -v d="$((u1 - u0))" -v hz="$clk_tck" -v n="$reqs" 'BEGIN { printf "%.0f", (n > 0) ? d / hz * 1e6 / n : 0 }')"
    sys_us="$(awk -v d="$((s1 - s0))" -v hz="$clk_tck" -v n="$reqs" 'BEGIN { printf "%.0f", (n > 0) ? d / hz * 1e6 / n : 0 }')"
    total_requests=$((total_requests + reqs))
    printf '   %-14s %9.1f req/s   p50 %7.2f ms   p99 %7.2f ms   requests %7d   non2xx %d   socket-errors %d   server CPU %5d us/req (user %d + sys %d)\n' \
        "$ep" "$rps" "$p50" "$p99" "$reqs" "$non2xx" "$sockerr" "$cpu_us" "$user_us" "$sys_us"
    printf '                  CPU in cores during the run: busy %s = server %s + wrk %s + softirq %s + other processes %s\n' \
        "$cores_busy" "$cores_server" "$cores_wrk" "$cores_softirq" "$cores_other"
    echo "RESULT server=$SERVER db=$DB cma=$CMA stack=$STACK round=$ROUND endpoint=$ep rps=$rps p50_ms=$p50 p99_ms=$p99 requests=$reqs non2xx=$non2xx sock_errors=$sockerr server_cpu_us=$cpu_us server_user_us=$user_us server_sys_us=$sys_us cores_server=$cores_server cores_wrk=$cores_wrk cores_softirq=$cores_softirq cores_other=$cores_other duration=$dur threads=$THREADS conns=$CONNS workers=$WORKERS multiproc=$multiproc"
}

for ep in $ENDPOINTS; do run_wrk "$ep" "$DURATION"; done
for ep in $measure_extra; do run_wrk "$ep" "$EXTRA_DURATION"; done

if [[ -f "$LOG_FILE" ]]; then
    echo "   structured log: $(wc -l <"$LOG_FILE") lines, $(stat -c %s "$LOG_FILE") bytes in $LOG_FILE (timed requests: $total_requests, plus warm-up/smoke)"
fi
if [[ -s "$ERRLOG" ]] && grep -q -E "Traceback|Error" "$ERRLOG"; then
    echo "   server stderr has errors (first lines of $ERRLOG):"; grep -m5 -E "Traceback|Error" "$ERRLOG" | sed 's/^/     /'
fi
