"""The code blocks of docs/seeds.md that the tests run: what the page shows is what is tested."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

SEEDS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "seeds.md"


def block(marker: str) -> str:
    """The fenced block right after ``<!-- marker -->`` in docs/seeds.md."""
    text = SEEDS_PAGE.read_text()
    match = re.search(rf"<!-- {re.escape(marker)} -->\n```\w*\n(.*?)\n```", text, re.S)
    assert match, f"docs/seeds.md has no block after <!-- {marker} -->"
    return match.group(1) + "\n"


def business_metrics_module() -> ModuleType:
    """The page's business-metrics example, run as a module."""
    module = ModuleType("seeds_business_metrics")
    exec(compile(block("example: business-metrics"), str(SEEDS_PAGE), "exec"), module.__dict__)
    return module


def promql(after_heading: str) -> list[str]:
    """The queries of the first ```promql block after a heading starting with ``after_heading``."""
    text = SEEDS_PAGE.read_text()
    start = text.index(f"## {after_heading}")
    match = re.search(r"```promql\n(.*?)\n```", text[start:], re.S)
    assert match, after_heading
    return [line.strip() for line in match.group(1).splitlines() if line.strip()]
