#!/usr/bin/env bash
# Usage: ./profile_http.sh STACK [ENDPOINT]     profile the gunicorn workers while wrk drives ENDPOINT
#
# gunicorn sync -w 2 (observe stacks: multiprocess metrics as in run_http.sh), wrk -t2 -c16 -d$DURATION.
#   PROFILER=cprofile (default): cProfile in each worker (gunicorn_profile_conf.py), merged and
#     summarised per package (profile_report.py). cProfile inflates call-heavy code ~2x.
#   PROFILER=py-spy: py-spy samples both workers from outside at PYSPY_RATE Hz (no slow-down of
#     the Python code), summarised by pyspy_report.py in µs per request per part of the request.
# Knobs: DURATION=8s PYSPY_RATE=250 BENCH_DB BENCH_CONN_MAX_AGE BENCH_VENV BENCH_STATE_DIR
set -euo pipefail
STACK="${1:?usage: profile_http.sh STACK [ENDPOINT]}"
EP="${2:-/ping}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${BENCH_VENV:-/tmp/obsbench-venv}"
STATE="${BENCH_STATE_DIR:-/tmp/obsbench}"
PROFILER="${PROFILER:-cprofile}"
RATE="${PYSPY_RATE:-250}"
DUR="${DURATION:-8s}"
export STACK BENCH_STATE_DIR="$STATE" PYTHONPYCACHEPREFIX="$STATE/pycache"
unset SENTRY_DSN SENTRY_SPOTLIGHT PROMETHEUS_MULTIPROC_DIR || true
"$HERE/setup_venv.sh"
export BENCH_PROFILE_DIR="$STATE/http-profile-$STACK"
rm -rf "$BENCH_PROFILE_DIR"; mkdir -p "$BENCH_PROFILE_DIR"
conf=()
if [[ "$STACK" == *observe ]]; then
    export PROMETHEUS_MULTIPROC_DIR="$STATE/prom-multiproc-profile"
    rm -rf "$PROMETHEUS_MULTIPROC_DIR"; mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    conf=(--config python:gunicorn_conf)
fi
[[ "$PROFILER" == cprofile ]] && conf=(--config python:gunicorn_profile_conf)
"$VENV/bin/python" "$HERE/dbprep.py"
PORT="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}" "$VENV/bin/gunicorn" benchsite.wsgi:application "${conf[@]}" \
    --chdir "$HERE/site" --worker-class sync --workers 2 --bind "127.0.0.1:$PORT" \
    --error-logfile "$STATE/profile-http.err" --log-level warning >/dev/null 2>&1 &
GPID=$!
trap 'kill -TERM $GPID 2>/dev/null || true; wait $GPID 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/ping" || true)" == 200 ]] && break
    sleep 0.25
done
header="X-Bench: 1"
[[ "$EP" == /metrics ]] && header="Authorization: Bearer bench-metrics-token"
wrk -t2 -c16 -d2s -H "$header" "http://127.0.0.1:$PORT$EP" >/dev/null   # warm-up
if [[ "$PROFILER" == py-spy ]]; then
    secs="${DUR%s}"
    "$VENV/bin/py-spy" record --pid "$GPID" --subprocesses --rate "$RATE" --duration "$((secs + 1))" --format raw \
        --output "$BENCH_PROFILE_DIR/pyspy.txt" --nonblocking >/dev/null 2>"$BENCH_PROFILE_DIR/pyspy.err" &
    SPY=$!
    sleep 1
fi
out="$(wrk -t2 -c16 -d"$DUR" -H "$header" "http://127.0.0.1:$PORT$EP")"
reqs="$(echo "$out" | awk '/ requests in / { print $1 }')"
echo "$out" | grep -E "Requests/sec|requests in"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ "$PROFILER" == py-spy ]]; then
    wait "$SPY" || { cat "$BENCH_PROFILE_DIR/pyspy.err" >&2; exit 1; }
    kill -TERM "$GPID"; wait "$GPID" 2>/dev/null || true
    trap - EXIT
    # --nonblocking samples without stopping the workers; the request count is wrk's.
    "$VENV/bin/python" "$HERE/pyspy_report.py" --requests "$reqs" --rate "$RATE" "$BENCH_PROFILE_DIR/pyspy.txt"
    exit 0
fi
kill -TERM "$GPID"; wait "$GPID" 2>/dev/null || true
trap - EXIT
"$VENV/bin/python" "$HERE/profile_report.py" --requests "$reqs" --title "$STACK $EP under gunicorn sync -w 2 (cProfile in the workers)" "$BENCH_PROFILE_DIR"/worker-*.prof
