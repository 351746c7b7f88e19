#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs system tools, starts the services,
# then runs the nox matrix (Python 3.11 + Django 5.2, Python 3.12 + Django 6.x; SQLite and PostgreSQL).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k request_id`.
set -euo pipefail
cd "$(dirname "$0")/.."

# 1. System tools the integration tests drive (RECIPES.md section 0); only when missing.
need=()
for tool in prometheus promtool wrk chromium; do command -v "$tool" >/dev/null 2>&1 || need+=("$tool"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
    prometheus prometheus-alertmanager wrk chromium >/dev/null
fi

# 2. Services: PostgreSQL, Redis, RabbitMQ (started only when down), and the test role/database.
bash scripts/services-up.sh
psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -q >/dev/null <<'SQL'
SELECT 'CREATE ROLE observe LOGIN PASSWORD ''observe'' CREATEDB'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'observe')\gexec
SELECT 'CREATE DATABASE observe OWNER observe'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'observe')\gexec
SELECT 'CREATE DATABASE observe_py312 OWNER observe'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'observe_py312')\gexec
SQL

export PG_URL="postgres://observe:observe@127.0.0.1:5432/observe"
export REDIS_URL="redis://127.0.0.1:6379/0"
export CELERY_BROKER_URL="amqp://guest:guest@127.0.0.1:5672//"

# 3. The interpreters of the matrix: pyenv's shims answer only for the active version, so put
#    the real 3.11 and 3.12 bin directories first on PATH (RECIPES.md section 2).
for version in 3.11 3.12; do
  bindir=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin 2>/dev/null | sort -V | tail -1)
  if [ -n "$bindir" ]; then PATH="$bindir:$PATH"; fi
done
export PATH
for version in 3.11 3.12; do
  command -v "python$version" >/dev/null || { echo "python$version is not installed; the matrix needs it" >&2; exit 1; }
done

# 4. nox in its own venv, then lint and the matrix.
python3 -m venv .venv-tools
.venv-tools/bin/pip install -q --disable-pip-version-check nox 2>&1 | grep -v "is ignored" || true
# Lint and types first (ruff, ruff format --check, mypy), then the matrix; extra arguments go to pytest.
nox=(.venv-tools/bin/nox --no-color)
"${nox[@]}" -s lint

# The two lines of the matrix run side by side: the suite waits on servers, workers and browsers
# more than it computes (about 0.8 of 2 cores busy when run one after the other). They share no
# state: Python 3.12 + Django 6.x (in-process tests only: no ports, no broker) gets its own
# PostgreSQL database and Redis database; its output is printed when it ends.
py311=("tests(database='sqlite', py311-dj52)" "tests(database='postgres', py311-dj52)")
py312=("tests(database='postgres', py312-dj6)" "tests(database='sqlite', py312-dj6)")
py312_log=$(mktemp "${TMPDIR:-/tmp}/observe-py312.XXXXXX.log")
PG_URL="${PG_URL}_py312" REDIS_URL="redis://127.0.0.1:6379/1" \
  "${nox[@]}" -s "${py312[@]}" -- "$@" >"$py312_log" 2>&1 &
py312_pid=$!
py311_status=0
"${nox[@]}" -s "${py311[@]}" -- "$@" || py311_status=$?
py312_status=0
wait "$py312_pid" || py312_status=$?
echo "===== Python 3.12 + Django 6.x (ran alongside the above) ====="
cat "$py312_log"
rm -f "$py312_log"
echo "Python 3.11 + Django 5.2: exit $py311_status; Python 3.12 + Django 6.x: exit $py312_status"
[ "$py311_status" = 0 ] && [ "$py312_status" = 0 ]
