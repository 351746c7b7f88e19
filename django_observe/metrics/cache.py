"""Cache metrics without changing CACHES' BACKEND: every cache object Django creates is instrumented.

``django.core.cache.caches`` creates one cache object per alias and thread (or async
context); we wrap its ``create_connection`` so each new object gets counting
``get``/``get_many`` (operation ``get``), ``set``/``add``/``set_many`` (``set``) and
``delete``/``delete_many`` (``delete``). A hit is told from a miss with a
private sentinel default, so a cached ``0`` or ``None`` is a hit (django-prometheus's
wrappers count those as misses). Nested calls (``get_many`` implemented with ``get`` or
the reverse) count once, at the outermost call.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.core.cache import BaseCache, caches

from .._compat import existing_cache
from ..conf import get_settings, on_change
from ..guard import report
from . import core

logger = logging.getLogger(__name__)

_MISSING = object()
_enabled = [True]


@on_change()
def _update_enabled() -> None:
    conf = get_settings()
    _enabled[0] = conf.METRICS_ENABLED and conf.METRICS_CACHE


def _count(alias: str, operation: str, result: str, amount: int = 1) -> None:
    try:
        metrics = core.current()
        key = (alias, operation, result)
        child = metrics.cache_children.get(key)
        if child is None:
            child = metrics.cache_children[key] = metrics.cache_ops.labels(*key)
        if amount:
            child.inc(amount)
    except Exception:  # counting never changes what the cache call returns or raises
        report("cache_metrics", message="Cache metrics are unavailable")


def instrument(cache: BaseCache, alias: str) -> BaseCache:
    """Replace the cache object's public methods by counting ones (idempotent)."""
    if cache.__dict__.get("_observe_alias") is not None:
        return cache
    cache.__dict__["_observe_alias"] = alias
    depth = [0]  # >0 while one of our wrappers runs: inner calls are not counted again
    originals: dict[str, Callable[..., Any]] = {
        name: getattr(cache, name) for name in ("get", "get_many", "set", "add", "set_many", "delete", "delete_many")
    }

    def counted(
        name: str, operation: str, outcome: Callable[[Any, tuple[Any, ...], dict[str, Any]], tuple[str, int, Any]]
    ) -> Callable[..., Any]:
        original = originals[name]

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if depth[0] or not _enabled[0]:
                return original(*args, **kwargs)
            depth[0] += 1
            try:
                result, amount, value = outcome(original, args, kwargs)
            except Exception:
                _count(alias, operation, "error")
                raise
            finally:
                depth[0] -= 1
            if result == "hit/miss":
                _count(alias, operation, "hit", amount)
                _count(alias, operation, "miss", value[1])
                return value[0]
            _count(alias, operation, result, amount)
            return value

        return wrapper

    def get(original: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, int, Any]:
        key, default, version = _get_args(args, kwargs)
        value = original(key, _MISSING, version=version)
        if value is _MISSING:
            return "miss", 1, default
        return "hit", 1, value

    def get_many(original: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, int, Any]:
        keys = list(args[0] if args else kwargs.pop("keys"))
        found = original(keys, *args[1:], **kwargs)
        return "hit/miss", len(found), (found, max(len(keys) - len(found), 0))

    def plain(result_of: Callable[[tuple[Any, ...], dict[str, Any]], int]) -> Callable[..., tuple[str, int, Any]]:
        def outcome(original: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, int, Any]:
            return "ok", result_of(args, kwargs), original(*args, **kwargs)

        return outcome

    def one(args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
        return 1

    def many(args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
        items = args[0] if args else next(iter(kwargs.values()), ())
        return len(items)

    cache.get = counted("get", "get", get)  # type: ignore[method-assign]
    cache.get_many = counted("get_many", "get", get_many)  # type: ignore[method-assign]
    cache.set = counted("set", "set", plain(one))  # type: ignore[method-assign]
    cache.add = counted("add", "set", plain(one))  # type: ignore[method-assign]
    cache.set_many = counted("set_many", "set", plain(many))  # type: ignore[method-assign]
    cache.delete = counted("delete", "delete", plain(one))  # type: ignore[method-assign]
    cache.delete_many = counted("delete_many", "delete", plain(many))  # type: ignore[method-assign]
    return cache


def _get_args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any, Any]:
    key = args[0] if args else kwargs["key"]
    default = args[1] if len(args) > 1 else kwargs.get("default")
    version = args[2] if len(args) > 2 else kwargs.get("version")
    return key, default, version


def install() -> None:
    """Instrument every cache object created from now on, and those this thread already has."""
    _update_enabled()
    if getattr(caches, "_observe_installed", False):
        return
    original = caches.create_connection

    def create_connection(alias: str) -> BaseCache:
        cache = original(alias)
        try:
            instrument(cache, alias)
        except Exception:
            report("cache_metrics", message=f"Could not instrument cache {alias!r}")
        return cache

    caches.create_connection = create_connection  # type: ignore[method-assign]
    caches._observe_installed = True  # type: ignore[attr-defined]
    for alias in caches.settings:
        existing = existing_cache(caches, alias)
        if existing is not None:
            instrument(existing, alias)
