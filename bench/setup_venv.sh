#!/usr/bin/env bash
# Create/refresh the benchmark venv under /tmp and check that wrk is present.
# Idempotent: reinstalls only when requirements.txt (or the Python) changed. django-observe is
# installed editable from this repository, so the venv always runs the working tree's code.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
VENV="${BENCH_VENV:-/tmp/obsbench-venv}"
STATE="${BENCH_STATE_DIR:-/tmp/obsbench}"
PYTHON="${BENCH_PYTHON:-python3}"
mkdir -p "$STATE"

want="$( (cat "$HERE/requirements.txt"; echo "$REPO"; "$PYTHON" -VV) | sha256sum | cut -d' ' -f1)"
have="$(cat "$VENV/.bench-stamp" 2>/dev/null || true)"
if [[ "$want" != "$have" ]]; then
    echo "setup: installing requirements into $VENV (log: $STATE/pip.log)" >&2
    [[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
    if ! { "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$HERE/requirements.txt" &&
           "$VENV/bin/python" -m pip install --disable-pip-version-check -q --no-deps -e "$REPO"; } >"$STATE/pip.log" 2>&1; then
        tail -20 "$STATE/pip.log" >&2
        echo "setup: pip install failed" >&2
        exit 1
    fi
    echo "$want" >"$VENV/.bench-stamp"
fi

if ! command -v wrk >/dev/null 2>&1; then
    echo "setup: wrk not found; install it (Debian: apt-get install wrk)" >&2
    exit 1
fi
