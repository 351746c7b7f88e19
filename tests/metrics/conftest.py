from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import override_settings

from .helpers import TOKEN


@pytest.fixture(autouse=True)
def metrics_token() -> Iterator[None]:
    """Every metrics test may scrape with TOKEN; access-control tests override OBSERVE themselves."""
    with override_settings(OBSERVE={**settings.OBSERVE, "METRICS_TOKENS": [TOKEN]}):
        yield


def observe(**overrides: object) -> override_settings:
    """override_settings(OBSERVE=...) on top of the test project's OBSERVE and the scrape token."""
    return override_settings(OBSERVE={**settings.OBSERVE, "METRICS_TOKENS": [TOKEN], **overrides})
