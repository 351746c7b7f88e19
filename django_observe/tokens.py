"""Shared-secret tokens for /metrics (``METRICS_TOKENS``) and /health/detailed (``HEALTH_TOKENS``).

One rule for both: an empty or blank token never matches anything, on either side. A token list
built as ``[os.environ.get("HEALTH_TOKEN", "")]`` is ``[""]`` when the variable is unset, and
that must open nothing (a deploy check, W024/W036, warns about empty and short tokens).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence


def accepted(tokens: Iterable[str]) -> tuple[bytes, ...]:
    """The configured tokens that can match: stripped, blank ones dropped, as bytes."""
    return tuple(stripped.encode("utf-8", "surrogateescape") for token in tokens if (stripped := token.strip()))


def matches(candidate: str | None, tokens: Sequence[bytes]) -> bool:
    """Whether ``candidate`` is one of ``tokens``; compared with EVERY token in constant time
    (the timing tells neither the token nor which one matched). Blank candidates never match."""
    if candidate is None or not candidate.strip():
        return False
    given = candidate.strip().encode("utf-8", "surrogateescape")
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(given, token)
    return matched
