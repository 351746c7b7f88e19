"""The documentation site (MkDocs + Material) builds with --strict: a broken link, a missing page or anchor fails here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


@pytest.mark.once
def test_docs_site_builds_strictly(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output, output
    for page in (
        "quickstart",
        "deployment",
        "comparison",
        "admin",
        "migrating/django-prometheus",
        "migrating/django-db-logger",
        "settings",
    ):
        assert (site / page / "index.html").is_file(), page
    for image in DOCS.glob("img/*.png"):
        assert (site / "img" / image.name).is_file(), image.name
    # No CDN: the theme's web fonts are off, so a built page loads nothing from another host.
    assert "fonts.googleapis.com" not in (site / "index.html").read_text()


def test_every_screenshot_is_shown_and_every_migration_guide_is_listed() -> None:
    used = set(re.findall(r"\(img/([\w-]+\.png)\)", "".join(path.read_text() for path in DOCS.glob("*.md"))))
    assert used == {image.name for image in DOCS.glob("img/*.png")}, "docs/img holds exactly the screenshots the pages show"
    nav = (ROOT / "mkdocs.yml").read_text()
    for guide in DOCS.glob("migrating/*.md"):
        assert f"migrating/{guide.name}" in nav, guide.name
