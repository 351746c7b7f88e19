#!/usr/bin/env bash
# Usage: ./profile_http.sh STACK [ENDPOINT]     cProfile the gunicorn workers while wrk drives ENDPOINT
#
# gunicorn sync -w 2 (observe: multiprocess metrics as in run_http.sh), wrk -t2 -c16 -d$DURATION,
# then the workers' profiles are merged and summarised per package (profile_report.py).
# Knobs: DURATION=8s BENCH_VENV BENCH_STATE_DIR
set -euo pipefail
STACK="${1:?usage: profile_http.sh STACK [ENDPOINT]}"
EP="${2:-/ping}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${BENCH_VENV:-/tmp/obsbench-venv}"
STATE="${BENCH_STATE_DIR:-/tmp/obsbench}"
export STACK BENCH_STATE_DIR="$STATE" PYTHONPYCACHEPREFIX="$STATE/pycache"
unset SENTRY_DSN SENTRY_SPOTLIGHT PROMETHEUS_MULTIPROC_DIR || true
"$HERE/setup_venv.sh"
export BENCH_PROFILE_DIR="$STATE/http-profile-$STACK"
rm -rf "$BENCH_PROFILE_DIR"; mkdir -p "$BENCH_PROFILE_DIR"
if [[ "$STACK" == observe ]]; then
    export PROMETHEUS_MULTIPROC_DIR="$STATE/prom-multiproc-profile"
    rm -rf "$PROMETHEUS_MULTIPROC_DIR"; mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
fi
rm -f "$STATE/db-$STACK.sqlite3"
"$VENV/bin/python" "$HERE/site/manage.py" migrate --noinput --skip-checks -v0
PORT="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}" "$VENV/bin/gunicorn" benchsite.wsgi:application --config python:gunicorn_profile_conf \
    --chdir "$HERE/site" --worker-class sync --workers 2 --bind "127.0.0.1:$PORT" \
    --error-logfile "$STATE/profile-http.err" --log-level warning >/dev/null 2>&1 &
GPID=$!
trap 'kill -TERM $GPID 2>/dev/null || true; wait $GPID 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/ping" || true)" == 200 ]] && break
    sleep 0.25
done
out="$(wrk -t2 -c16 -d"${DURATION:-8s}" "http://127.0.0.1:$PORT$EP")"
reqs="$(echo "$out" | awk '/ requests in / { print $1 }')"
echo "$out" | grep -E "Requests/sec|requests in"
kill -TERM "$GPID"; wait "$GPID" 2>/dev/null || true
trap - EXIT
"$VENV/bin/python" "$HERE/profile_report.py" --requests "$reqs" --title "$STACK $EP under gunicorn sync -w 2 (cProfile in the workers)" "$BENCH_PROFILE_DIR"/worker-*.prof
