"""The wheel a user installs carries the templates, static files and migrations."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.integration
def test_wheel_contains_templates_static_and_migrations(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--disable-pip-version-check", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("django_observe-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "django_observe/migrations/0001_initial.py" in names
    assert "django_observe/static/django_observe/observe.css" in names
    assert "django_observe/py.typed" in names
    assert any(name.startswith("django_observe/templates/admin/django_observe/") and name.endswith(".html") for name in names)
    assert not any(name.startswith(("tests/", "testproject/", "bench/")) for name in names)
    metadata = next(name for name in names if name.endswith("METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    for requirement in ("django-structlog", "prometheus-client", "django-health-check", "sentry-sdk"):
        assert f"Requires-Dist: {requirement}" in text
    # Nothing imports django-prometheus: the migration guide maps its names instead (docs/upgrading.md).
    assert "Requires-Dist: django-prometheus" not in text
    assert "Provides-Extra: celery" in text and "Provides-Extra: postgres" in text
