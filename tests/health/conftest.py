"""Fixtures of the health tests: OBSERVE overrides with only the checks a test names."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import override_settings

from django_observe.health import runner as health_runner
from tests.health import probes

BUILTINS = ["database", "migrations", "cache", "redis", "celery_broker", "celery_workers", "celery_beat", "storage", "disk", "memory"]


@pytest.fixture
def observe() -> Iterator[Callable[..., None]]:
    """observe(checks={...}, keep=["database"], **keys): only the named built-ins plus ``checks``."""
    overrides: list[Any] = []

    def apply(checks: dict[str, Any] | None = None, keep: tuple[str, ...] = (), **keys: Any) -> None:
        disabled = [name for name in BUILTINS if name not in keep]
        value = {"HEALTH_DISABLED_CHECKS": disabled, "HEALTH_CHECKS": checks or {}, **keys}
        override = override_settings(OBSERVE=value)
        override.enable()
        overrides.append(override)

    probes.COUNTS.clear()
    yield apply
    for override in reversed(overrides):
        override.disable()
    health_runner.runner.reset()
