"""Fixtures for the error tracker tests: synchronous storage, a fresh Sentry setup per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from django_observe import guard, sentry
from django_observe.errors import intake
from django_observe.errors.tally import Stats


@pytest.fixture
def observe(settings: Any) -> Any:
    """Change OBSERVE keys for one test: ``observe(ERRORS_SYNC=True)``."""

    def update(**keys: Any) -> None:
        settings.OBSERVE = {**settings.OBSERVE, **keys}

    return update


@pytest.fixture
def sync_errors(observe: Any) -> Iterator[None]:
    """Errors are stored inline, inside the test's transaction (ERRORS_SYNC), with Sentry re-initialised."""
    observe(ERRORS_SYNC=True)
    sentry.init_sentry()
    yield
    sentry.init_sentry()


@pytest.fixture
def client500() -> Client:
    """A test client that returns Django's 500 page instead of re-raising the view's exception."""
    return Client(raise_request_exception=False)


@pytest.fixture(autouse=True)
def _fresh_store() -> Iterator[None]:
    intake.buffer.flush(5)
    intake.buffer.stats = Stats()
    intake.buffer.forget_groups()
    guard.forget_logged()  # "logged once per process": each test sees its first failure logged
    yield
    intake.buffer.close()  # also closes the writer's connection, so test databases can be dropped
