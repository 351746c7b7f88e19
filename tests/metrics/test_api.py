"""Host-project metrics: declared at import time in several modules, registered once."""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from django_observe import metrics
from django_observe.metrics import api

from .helpers import samples, scrape_text, series_of, value

pytestmark = pytest.mark.django_db


@pytest.fixture
def name() -> Iterator[str]:
    unique = f"hostapp_{uuid.uuid4().hex[:8]}"
    yield unique
    with api._lock:
        for key in [key for key in api._made if key.startswith(unique)]:
            REGISTRY.unregister(api._made.pop(key)[2])


def test_second_call_returns_the_same_metric_and_every_call_site_counts_into_one_series(name: str) -> None:
    first = metrics.counter(f"{name}_orders_total", "Orders.", ["payment"])
    first.labels("card").inc()
    metrics.counter(f"{name}_orders_total", "Orders.", ["payment"]).labels("card").inc(2)
    metrics.counter(f"{name}_orders", "Orders.", ["payment"]).labels("card").inc(4)  # `_total` is implied
    metrics.counter(f"{name}_orders_total", "Orders.", ["payment"]).labels("cash").inc()
    found = samples(scrape_text())
    assert series_of(found, f"{name}_orders_total") == {frozenset({("payment", "card")}): 7.0, frozenset({("payment", "cash")}): 1.0}


def test_histogram_and_gauge_are_exported_with_their_buckets_and_values(name: str) -> None:
    metrics.histogram(f"{name}_seconds", "Duration.", buckets=(0.1, 1)).observe(0.5)
    metrics.histogram(f"{name}_seconds", "Duration.", buckets=(0.1, 1)).observe(3.0)
    metrics.gauge(f"{name}_queue", "Queue.", multiprocess_mode="livesum").set(4)
    metrics.gauge(f"{name}_queue", "Queue.", multiprocess_mode="livesum").inc()
    found = samples(scrape_text())
    buckets = {dict(labels)["le"]: count for labels, count in series_of(found, f"{name}_seconds_bucket").items()}
    assert buckets == {"0.1": 0.0, "1.0": 1.0, "+Inf": 2.0}
    assert (value(found, f"{name}_seconds_count"), value(found, f"{name}_seconds_sum")) == (2.0, 3.5)
    assert value(found, f"{name}_queue") == 5.0


def test_a_conflicting_declaration_is_refused_with_the_reason(name: str) -> None:
    metrics.counter(f"{name}_things_total", "Things.", ["kind"])
    with pytest.raises(ValueError, match="already registered as a counter with labels \\['kind'\\]"):
        metrics.gauge(f"{name}_things_total", "Things.", ["kind"])
    with pytest.raises(ValueError, match="asked for a counter with labels \\['colour'\\]"):
        metrics.counter(f"{name}_things_total", "Things.", ["colour"])


def test_declared_at_import_in_two_modules_and_exported(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("host_orders", "host_payments"):
        (tmp_path / f"{module}_{name}.py").write_text(
            f"from django_observe import metrics\nORDERS = metrics.counter('{name}_orders_total', 'Orders placed.', ['payment'])\n"
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
