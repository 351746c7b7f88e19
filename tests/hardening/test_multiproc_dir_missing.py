"""PROMETHEUS_MULTIPROC_DIR that is missing or a file: the metrics switch off, the site starts and serves.

Fails on the old main (QA finding F11): registering the active_users collector asked it for its name,
which built our metrics inside prometheus_client's registry lock; building them registers under the
same lock, so `django.setup()` (and uvicorn) hung forever.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.servers import ROOT

pytestmark = pytest.mark.once

SCRIPT = textwrap.dedent(
    """
    import django
    django.setup()
    from django.core.management import call_command
    from django.test import Client
    call_command("migrate", verbosity=0)
    client = Client()
    assert client.get("/health/live").status_code == 200
    assert client.get("/health/ready").status_code in (200, 503)
    print("served")
    """
)


@pytest.mark.parametrize("kind", ["missing", "a file"])
def test_a_bad_multiprocess_dir_never_stops_the_site(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "prometheus"
    if kind == "a file":
        target.write_text("not a directory")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "OBSERVE_", "DJANGO_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="tests.hardening.readme_site",
        SQLITE_PATH=str(tmp_path / "db.sqlite3"),
        PROMETHEUS_MULTIPROC_DIR=str(target),
    )
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "served" in result.stdout, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Prometheus metrics could not be set up" in result.stderr  # one line says why metrics are off
