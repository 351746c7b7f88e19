"""Host-project metrics: declared at import time in several modules, registered once."""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, Counter, Gauge, Histogram

from django_observe import metrics
from django_observe.metrics import api

from .helpers import samples, scrape_text, value

pytestmark = pytest.mark.django_db


@pytest.fixture
def name() -> Iterator[str]:
    unique = f"hostapp_{uuid.uuid4().hex[:8]}"
    yield unique
    with api._lock:
        for key in [key for key in api._made if key.startswith(unique)]:
            REGISTRY.unregister(api._made.pop(key)[2])


def test_second_call_returns_the_same_metric(name: str) -> None:
    first = metrics.counter(f"{name}_orders_total", "Orders.", ["payment"])
    assert isinstance(first, Counter)
    assert metrics.counter(f"{name}_orders_total", "Orders.", ["payment"]) is first
    assert metrics.counter(f"{name}_orders", "Orders.", ["payment"]) is first  # `_total` is implied
    assert isinstance(metrics.histogram(f"{name}_seconds", "Duration.", buckets=(0.1, 1)), Histogram)
    assert isinstance(metrics.gauge(f"{name}_queue", "Queue.", multiprocess_mode="livesum"), Gauge)


def test_a_conflicting_declaration_is_refused_with_the_reason(name: str) -> None:
    metrics.counter(f"{name}_things_total", "Things.", ["kind"])
    with pytest.raises(ValueError, match="already registered as a counter with labels \\['kind'\\]"):
        metrics.gauge(f"{name}_things_total", "Things.", ["kind"])
    with pytest.raises(ValueError, match="asked for a counter with labels \\['colour'\\]"):
        metrics.counter(f"{name}_things_total", "Things.", ["colour"])


def test_declared_at_import_in_two_modules_and_exported(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("host_orders", "host_payments"):
        (tmp_path / f"{module}_{name}.py").write_text(
            "from django_observe import metrics\n"
            f"ORDERS = metrics.counter('{name}_orders_total', 'Orders placed.', ['payment'])\n"
        )
    monkeypatch.syspath_prepend(str(tmp_path))
    orders = importlib.import_module(f"host_orders_{name}")
    payments = importlib.import_module(f"host_payments_{name}")
    try:
        assert orders.ORDERS is payments.ORDERS
        orders.ORDERS.labels("card").inc()
        payments.ORDERS.labels("card").inc(2)
        # Re-importing (autoreload, tests) does not raise "Duplicated timeseries".
        importlib.reload(orders)
        found = samples(scrape_text())
        assert value(found, f"{name}_orders_total", payment="card") == 3
    finally:
        sys.modules.pop(f"host_orders_{name}", None)
        sys.modules.pop(f"host_payments_{name}", None)
