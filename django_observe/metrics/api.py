"""Metrics of the host project: register once, get the same object back on every later call."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram

from ..conf import get_settings

_lock = threading.Lock()
_made: dict[str, tuple[type, tuple[str, ...], Any]] = {}


def _get_or_create(kind: type, name: str, documentation: str, labels: Sequence[str], **kwargs: Any) -> Any:
    key = f"{kwargs.get('namespace') or ''}:{_base_name(kind, name)}"
    wanted = tuple(labels)
    with _lock:
        existing = _made.get(key)
        if existing is not None:
            made_kind, made_labels, metric = existing
            if made_kind is not kind or made_labels != wanted:
                raise ValueError(
                    f"Metric {name!r} is already registered as a {made_kind.__name__.lower()} with labels "
                    f"{list(made_labels)}; asked for a {kind.__name__.lower()} with labels {list(wanted)}. "
                    "Give the new metric another name."
                )
            return metric
        metric = kind(name, documentation, wanted, **kwargs)
        _made[key] = (kind, wanted, metric)
        return metric


def _base_name(kind: type, name: str) -> str:
    # Counter("x_total") and Counter("x") are the same metric for prometheus_client, and
    # a gauge "x_total" would clash with both.
    if name.endswith("_total"):
        return name[: -len("_total")]
    return name


def _namespace(namespaced: bool, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``namespaced=True``: the name gets OBSERVE's METRICS_NAMESPACE prefix, like the app's own metrics."""
    if namespaced and "namespace" not in kwargs:
        kwargs["namespace"] = get_settings().METRICS_NAMESPACE
    return kwargs


def counter(name: str, documentation: str, labels: Sequence[str] = (), namespaced: bool = False, **kwargs: Any) -> Counter:
    """A prometheus_client ``Counter``, created on the first call and returned again on later ones."""
    return _get_or_create(Counter, name, documentation, labels, **_namespace(namespaced, kwargs))


def histogram(
    name: str,
    documentation: str,
    labels: Sequence[str] = (),
    buckets: Sequence[float] = Histogram.DEFAULT_BUCKETS,
    namespaced: bool = False,
    **kwargs: Any,
) -> Histogram:
    """A prometheus_client ``Histogram`` (seconds by convention), created once."""
    return _get_or_create(Histogram, name, documentation, labels, buckets=tuple(buckets), **_namespace(namespaced, kwargs))


def gauge(
    name: str, documentation: str, labels: Sequence[str] = (), multiprocess_mode: str = "all", namespaced: bool = False, **kwargs: Any
) -> Gauge:
    """A prometheus_client ``Gauge``, created once; ``multiprocess_mode`` matters under PROMETHEUS_MULTIPROC_DIR."""
    return _get_or_create(Gauge, name, documentation, labels, multiprocess_mode=multiprocess_mode, **_namespace(namespaced, kwargs))


def unregister_all() -> None:
    """Forget every metric made here (tests)."""
    with _lock:
        for _kind, _labels, metric in _made.values():
            try:
                REGISTRY.unregister(metric)
            except KeyError:
                pass
        _made.clear()
