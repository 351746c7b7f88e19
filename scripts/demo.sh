#!/usr/bin/env bash
# The demo on a fresh clone: a venv, the package, the testproject on SQLite, an admin user
# (credentials printed), some demo data, then http://127.0.0.1:8000/. No services needed.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e . 2>&1 | grep -v "is ignored" || true
.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py observe_demo --traffic / /fast/ /db/ /slow/ /boom/ "/log-error/?order=42" "/log-error/?order=43" /items/3/ /items/4/ /items/999/ /missing/ /health/live /health/ready /health
exec .venv/bin/python manage.py runserver 127.0.0.1:8000
