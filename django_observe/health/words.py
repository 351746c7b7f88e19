"""Per-dependency words for ``/health`` (``HEALTH_DEPENDENCY_WORDS``): ``"database": "connected"``, as uptime checks expect.

Guides' uptime monitors read ``{"status": "healthy", "database": "connected", "redis":
"connected", "storage": "accessible", "celery": "connected"}``. The words come from the
checks that ran for the summary: pass and warn give the positive word, fail and timeout the
negative one. Only dependencies that have a configured check are named; nothing is added
for a dependency the site does not use.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .runner import FAILING

#: check name -> (key on /health, word when up, word when down)
WORDS: dict[str, tuple[str, str, str]] = {
    "database": ("database", "connected", "disconnected"),
    "redis": ("redis", "connected", "disconnected"),
    "cache": ("cache", "connected", "disconnected"),
    "storage": ("storage", "accessible", "inaccessible"),
    "celery_broker": ("celery", "connected", "disconnected"),
}


def dependency_words(results: Iterable[Any]) -> dict[str, str]:
    """``{"database": "connected", ...}`` for the results of the checks that name a dependency."""
    words: dict[str, str] = {}
    for result in results:
        entry = WORDS.get(result.name)
        if entry is not None:
            key, up, down = entry
            words[key] = down if result.status in FAILING else up
    return words
