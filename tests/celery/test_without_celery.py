"""Without Celery installed the app imports and works: a venv with the project but not its ``celery`` extra.

The venv is built once under the temp directory (pip install of the project: its runtime
dependencies only) and reused while pyproject.toml's dependencies stay the same; a fresh CI
machine builds it here. The testproject then runs from this checkout with that interpreter.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from tests.servers import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.once]

VENV = Path(tempfile.gettempdir()) / "django-observe-no-celery-venv"

SCRIPT = textwrap.dedent(
    """
    import importlib.util, io, django
    assert importlib.util.find_spec("celery") is None, "celery is importable"
    django.setup()
    from django.core.management import call_command
    from django.test import Client
    try:
        import django_observe.celery
    except ImportError:
        pass
    else:
        raise AssertionError("django_observe.celery imported without celery")
    call_command("check")
    client = Client()
    response = client.get("/fast/", HTTP_X_REQUEST_ID="no-celery-1")
    assert response.status_code == 200 and response["X-Request-ID"] == "no-celery-1", response
    metrics = client.get("/metrics", HTTP_AUTHORIZATION="Bearer no-celery-token")
    assert metrics.status_code == 200 and b'http_requests_total{endpoint="fast/"' in metrics.content, metrics.content[:300]
    assert client.get("/health/live").status_code == 200
    rules = io.StringIO()
    call_command("observe_export", "rules", stdout=rules)
    assert "CeleryTaskFailureRatio" in rules.getvalue()
    print("works without celery")
    """
)


def _requirements_key() -> str:
    """The runtime dependencies: the venv is rebuilt when they change, not on every edit of pyproject.toml."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return hashlib.sha256("\n".join(sorted(project["dependencies"])).encode()).hexdigest()


@pytest.fixture(scope="module")
def python_without_celery() -> Path:
    python = VENV / "bin" / "python"
    stamp = VENV / "observe-dependencies.sha256"
    if not python.exists() or not stamp.exists() or stamp.read_text() != _requirements_key():
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=120)
        # The project with its runtime dependencies and no extra: what `pip install django-observe` gives.
        result = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(ROOT)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        stamp.write_text(_requirements_key())
    return python


def test_the_app_imports_and_serves_without_celery(python_without_celery: Path, tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "DATABASE_URL", "PROMETHEUS_MULTIPROC"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),  # this checkout's code and testproject, with the venv's dependencies
            "DJANGO_SETTINGS_MODULE": "testproject.settings",
            "OBSERVE_STATE_DIR": str(tmp_path),
            "METRICS_TOKEN": "no-celery-token",
            "CELERY_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//",  # set, yet nothing may import celery
        }
    )
    result = subprocess.run([str(python_without_celery), "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "works without celery" in result.stdout, result.stdout[-3000:] + result.stderr[-3000:]
    assert "celery is not installed: the Celery health checks are off" in result.stderr


READY_SCRIPT = textwrap.dedent(
    """
    import importlib.util, io, json, django
    assert importlib.util.find_spec("redis") is None and importlib.util.find_spec("celery") is None
    django.setup()
    from django.core.management import call_command
    from django.test import Client
    out = io.StringIO()
    call_command("migrate", verbosity=0)
    call_command("check", stdout=out, stderr=out)
    print(out.getvalue())
    ready = Client().get("/health/ready")
    print("READY", ready.status_code, json.dumps(sorted(json.loads(ready.content)["checks"])))
    """
)


def test_settings_for_missing_extras_leave_their_checks_out_with_a_warning(python_without_celery: Path, tmp_path: Path) -> None:
    """REDIS_URL without the redis package (QA finding F5; CELERY_BROKER_URL without celery alike): W037 at `check`,
    and readiness does not fail on a check that cannot run (it used to answer 503 on every probe)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "DATABASE_URL", "PROMETHEUS_MULTIPROC", "OBSERVE_", "DJANGO_"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="tests.hardening.readme_site",
        SQLITE_PATH=str(tmp_path / "db.sqlite3"),
        REDIS_URL="redis://127.0.0.1:6379/0",  # the environment variable is enough for the redis check
    )
    result = subprocess.run(
        [str(python_without_celery), "-c", READY_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert output.count("django_observe.W037") == 1 and "REDIS_URL is set but the 'redis' package" in output, output[-3000:]
    ready = next(line for line in result.stdout.splitlines() if line.startswith("READY"))
    assert ready.startswith("READY 200") and '"redis"' not in ready, ready
