"""Cache metrics on the project's real CACHES (Redis when REDIS_URL is set), no BACKEND change."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache, caches
from django.test import override_settings

from .helpers import samples, scrape_text

pytestmark = pytest.mark.django_db


def _ops(alias: str = "default") -> dict[tuple[str, str], float]:
    found = samples(scrape_text())
    return {
        (dict(labels)["operation"], dict(labels)["result"]): number
        for (name, labels), number in found.items()
        if name == "cache_operations_total" and dict(labels)["cache"] == alias
    }


def _delta(before: dict, after: dict) -> dict[tuple[str, str], float]:  # type: ignore[type-arg]
    return {key: after[key] - before.get(key, 0) for key in after if after[key] - before.get(key, 0)}


def test_hits_misses_sets_and_deletes_are_counted() -> None:
    key = f"observe-{uuid.uuid4().hex}"
    before = _ops()
    assert cache.get(key) is None
    assert cache.get(key, "fallback") == "fallback"
    cache.set(key, 0)
    assert cache.get(key, "fallback") == 0  # a cached falsy value is a hit
    assert cache.get_many([key, key + "-missing"]) == {key: 0}
    cache.set_many({key + "-a": 1, key + "-b": 2})
    assert cache.get_or_set(key + "-c", 3) == 3
    cache.delete(key)
    cache.delete_many([key + "-a", key + "-b", key + "-c"])
    assert _delta(before, _ops()) == {
        ("get", "miss"): 4,  # two gets, the get_many miss, get_or_set's first get
        ("get", "hit"): 3,  # the cached 0, the get_many hit, get_or_set's get after its add
        ("set", "ok"): 4,  # set, set_many of two, get_or_set's add
        ("delete", "ok"): 4,
    }


def test_a_backend_error_is_counted_and_raised() -> None:
    # A real Redis client against a closed port: the error the app sees is the real one.
    closed = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2},
    }
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, "down": closed}):
        before = _ops("down")
        with pytest.raises(Exception) as raised:
            caches["down"].get("anything")
        assert "Connection" in type(raised.value).__name__ or "onnect" in str(raised.value)
        assert _delta(before, _ops("down")) == {("get", "error"): 1}


def test_async_cache_calls_are_counted_once() -> None:
    import asyncio

    key = f"observe-async-{uuid.uuid4().hex}"
    before = _ops()

    async def run() -> None:
        await cache.aset(key, "v")
        assert await cache.aget(key) == "v"

    asyncio.run(run())
    assert _delta(before, _ops()) == {("set", "ok"): 1, ("get", "hit"): 1}
