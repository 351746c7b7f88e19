"""docs/runbooks/: one page per generated alert, every runbook_url points at one, the index is current."""

from __future__ import annotations

import re

import pytest

from django_observe.monitoring import THRESHOLDS, render_index, slug

from .helpers import ROOT, alerts_by_name, rules_of

pytestmark = pytest.mark.django_db

RUNBOOKS = ROOT / "docs" / "runbooks"
GITHUB = "https://github.com/django-observe/django-observe/blob/main/docs/runbooks/"
SECTIONS = ("## What it means", "## Confirm", "## Common causes", "## Fix")


def test_every_runbook_url_points_to_an_existing_page() -> None:
    alerts = alerts_by_name(rules_of())
    assert len(alerts) >= 14
    for name, rule in alerts.items():
        url = rule["annotations"]["runbook_url"]
        assert url.startswith(GITHUB), url
        page = RUNBOOKS / url.removeprefix(GITHUB)
        assert page.is_file(), f"{name}: {url} has no page {page.relative_to(ROOT)}"
        assert page.read_text().startswith(f"# {name}\n"), page


def test_runbook_url_template_option() -> None:
    alerts = alerts_by_name(rules_of("--runbook-url", "https://wiki.example.com/ops/{slug}"))
    assert alerts["DjangoHighMemory"]["annotations"]["runbook_url"] == "https://wiki.example.com/ops/django-high-memory"


def test_every_page_says_what_it_means_how_to_confirm_and_fix() -> None:
    flags = {threshold.flag for threshold in THRESHOLDS} | {"--for"}
    for name in alerts_by_name(rules_of()):
        text = (RUNBOOKS / f"{slug(name)}.md").read_text()
        positions = [text.find(section) for section in SECTIONS]
        assert -1 not in positions and positions == sorted(positions), f"{name}: sections {SECTIONS} in order"
        header = text.splitlines()[2]
        assert header.startswith("**Severity:**") and name and ("critical" in header or "warning" in header), name
        for flag in re.findall(r"`(--[a-z0-9-]+)`", header):
            assert flag in flags, f"{name}: {flag} is not an observe_export option"
        confirm = text[positions[1] : positions[2]]
        assert re.search(r"`[^`]*(\{job=|job:|job_endpoint:|job_cache:)[^`]*`", confirm), f"{name}: the PromQL to confirm it"
    pages = {path.stem for path in RUNBOOKS.glob("*.md")} - {"index"}
    assert pages == {slug(name) for name in alerts_by_name(rules_of())}, "a page without an alert, or the reverse"


def test_pages_point_to_the_admin_and_to_logs_by_request_id() -> None:
    texts = {path.stem: path.read_text() for path in RUNBOOKS.glob("django-*.md")}
    assert sum("request_id" in text for text in texts.values()) >= 8
    assert sum("Observability →" in text for text in texts.values()) >= 6


def test_the_index_is_current() -> None:
    assert (RUNBOOKS / "index.md").read_text() == render_index(), (
        "docs/runbooks/index.md is stale: run `python -m django_observe.monitoring > docs/runbooks/index.md`"
    )
