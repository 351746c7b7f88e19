"""Fixtures of the hardening tests (append yours; shared by several engineers)."""

from __future__ import annotations

# observe(checks={...}, keep=[...], **OBSERVE keys): only the health checks a test names.
from tests.health.conftest import observe  # noqa: F401
