"""Helpers of the seed-parity tests: OBSERVE overrides and metric values read through /metrics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings

from tests.metrics.helpers import TOKEN, samples, scrape_text, total


def observe(**overrides: object) -> override_settings:
    """override_settings(OBSERVE=...) on top of the test project's OBSERVE, with the scrape token."""
    return override_settings(OBSERVE={**settings.OBSERVE, "METRICS_TOKENS": [TOKEN], **overrides})


@pytest.fixture(autouse=True)
def metrics_token() -> Iterator[None]:
    with observe():
        yield


def scraped(name: str, **labels: str) -> float:
    """Sum of ``name`` over its series with ``labels``, read through the protected /metrics view."""
    return total(samples(scrape_text(Client())), name, **labels)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Logins are the subject here, not PBKDF2's cost (about 0.3 s per login)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
