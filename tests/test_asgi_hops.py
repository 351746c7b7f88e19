"""Under ASGI, ObserveMiddleware adds no sync_to_async hop (research: django-prometheus adds 5, django-structlog 2)."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import SyncToAsync
from django.core.handlers.asgi import ASGIHandler
from django.test import override_settings

from tests.asgi import call_asgi

pytestmark = pytest.mark.django_db(transaction=True)

BASE = ["django.middleware.common.CommonMiddleware"]


def _hops_for_one_request(monkeypatch: pytest.MonkeyPatch, path: str) -> tuple[int, int]:
    application = ASGIHandler()
    calls = 0
    original = SyncToAsync.__call__

    async def counting(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counting)
    status, _, _ = asyncio.run(call_asgi(application, path))
    monkeypatch.setattr(SyncToAsync, "__call__", original)
    return calls, status


@pytest.mark.parametrize("path", ["/async/", "/health/live"])
def test_observe_middleware_adds_no_thread_hop(monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    with override_settings(MIDDLEWARE=BASE):
        bare, bare_status = _hops_for_one_request(monkeypatch, path)
    with override_settings(MIDDLEWARE=["django_observe.middleware.ObserveMiddleware", *BASE]):
        observed, status = _hops_for_one_request(monkeypatch, path)
    assert (status, bare_status) == (200, 200)
    assert observed <= bare, f"bare Django: {bare} sync_to_async hops, with ObserveMiddleware: {observed}"
