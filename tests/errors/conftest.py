"""Fixtures for the error tracker tests: synchronous storage, a fresh Sentry setup per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from django_observe import sentry
from django_observe.errors import store


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
    store.store.flush(5)
    store.store.stats = store.Stats()
    store.store._kept.clear()
    store.store._spare_at.clear()
    store.store._failure_logged = False
    yield
    store.store.close()  # also closes the writer's connection, so test databases can be dropped
