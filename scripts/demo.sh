#!/usr/bin/env bash
# The demo on a fresh clone: a venv with the package, the testproject on SQLite (no services), an admin
# user, 30 days of demo history, some live traffic, then the styled admin at http://127.0.0.1:8000/admin/
# until Ctrl-C. DEBUG is on for the demo only (runserver then serves the admin's CSS); the testproject
# itself defaults to DEBUG off.
#
# Knobs (environment): PORT (8000), OBSERVE_STATE_DIR (.state: database, password), DEMO_PYTHON (an
# interpreter that already has the package and its dependencies: skips the venv, used by the tests).
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-8000}"
URL="http://127.0.0.1:${PORT}"
export OBSERVE_STATE_DIR="${OBSERVE_STATE_DIR:-$PWD/.state}"
export DJANGO_SETTINGS_MODULE=testproject.settings
export DJANGO_DEBUG=1                       # the demo only: static files served, observe_demo allowed
export LOG_FORMAT="${LOG_FORMAT:-console}"  # readable log lines in the terminal
mkdir -p "$OBSERVE_STATE_DIR"

if [ -n "${DEMO_PYTHON:-}" ]; then
    PY="$DEMO_PYTHON"
else
    if [ ! -x .venv/bin/python ]; then
        echo "==> Creating .venv and installing django-observe (first run only)"
        python3 -m venv .venv
    fi
    .venv/bin/pip install -q --disable-pip-version-check -e . 2>&1 | grep -v "is ignored" || true
    PY=.venv/bin/python
fi

echo "==> Database: $OBSERVE_STATE_DIR/db.sqlite3"
"$PY" manage.py migrate --noinput -v0

# One password per state dir, made on the first run: observe_demo never changes an existing user's password.
PASSWORD_FILE="$OBSERVE_STATE_DIR/demo-admin-password"
if [ ! -s "$PASSWORD_FILE" ]; then
    (umask 077 && "$PY" -c "import secrets; print(secrets.token_urlsafe(12))" > "$PASSWORD_FILE")
fi
PASSWORD="$(cat "$PASSWORD_FILE")"

echo "==> Demo data (30 days of health history and errors)"
"$PY" manage.py observe_demo --username admin --password "$PASSWORD"
"$PY" manage.py observe_check --record > /dev/null || true   # one real run too (exit 1 when something is unhealthy)

echo "==> Starting the server on $URL"
"$PY" manage.py runserver "127.0.0.1:${PORT}" --noreload &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; echo; echo "Demo stopped."' EXIT
trap 'exit 0' INT TERM

for _ in $(seq 1 150); do
    if ! kill -0 "$SERVER" 2>/dev/null; then
        echo "The server did not start (is port $PORT taken? try PORT=8001 bash scripts/demo.sh)." >&2
        exit 1
    fi
    if "$PY" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" "$URL/health/live" 2>/dev/null; then
        break
    fi
    sleep 0.2
done

echo "==> Live traffic, so /metrics and the overview's last hour have data"
"$PY" manage.py observe_demo --no-user --no-history --url "$URL" --repeat 3 --traffic \
    / /fast/ /db/ /slow/ /boom/ "/log-error/?order=42" /items/1/ /items/999/ /missing/ \
    /health/live /health/ready /health /metrics /admin/login/

cat <<EOF

  django-observe demo is running.

    Admin (Observability overview):  $URL/admin/django_observe/
    username: admin
    password: $PASSWORD

    Also: $URL/health  $URL/health/ready  $URL/metrics (log in to the admin first)

  Press Ctrl-C to stop.

EOF
wait "$SERVER"
