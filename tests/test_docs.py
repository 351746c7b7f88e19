"""Generated reference pages stay in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

from django_observe import check_ids

ROOT = Path(__file__).resolve().parent.parent


def test_checks_page_is_current() -> None:
    assert (ROOT / "docs" / "checks.md").read_text() == check_ids.render_reference(), (
        "docs/checks.md is stale: run `python -m django_observe.check_ids > docs/checks.md`"
    )


def test_every_check_id_used_in_the_code_is_documented() -> None:
    used = set()
    for path in (ROOT / "django_observe").rglob("*.py"):
        if path.name != "check_ids.py":
            used |= set(re.findall(r'"(django_observe\.[EW]\d{3})"', path.read_text()))
    assert used, "the scan found the check ids"
    assert used <= set(check_ids.CHECK_IDS), f"undocumented check ids: {sorted(used - set(check_ids.CHECK_IDS))}"
