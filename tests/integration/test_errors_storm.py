"""A storm: 10,000 errors of one kind in a burst. Counts stay exact; stored events and memory stay bounded."""

from __future__ import annotations

import logging
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from django_observe import sentry
from django_observe.errors import capture, intake
from django_observe.models import ErrorEvent, ErrorGroup, ErrorGroupHourly
from tests.errors.conftest import _fresh_store, observe  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module", autouse=True)
def _async_unsafe_after_playwright() -> Iterator[None]:
    """When a Playwright test ran earlier in the session, its event loop still runs in the main
    thread and Django's async-safety guard refuses the ORM calls made here (and the table flush
    after a transactional test, which comes after function fixtures are undone: hence module scope)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


STORM = 10_000
PER_HOUR = 5


def test_a_storm_is_counted_exactly_with_bounded_samples_and_memory(observe: Any) -> None:  # noqa: F811  (the pytest fixture imported above)
    # The writer thread (the production path) with its own connection: hence a transactional test.
    ErrorGroup.objects.all().delete()  # errors other tests logged earlier in this session (PostgreSQL keeps them)
    observe(ERRORS_SYNC=False, ERRORS_EVENTS_PER_HOUR=PER_HOUR, ERRORS_QUEUE_SIZE=1000)
    sentry.init_sentry()
    # Only our capture handler on this logger: pytest's log capture would keep 10,000 records
    # in memory and blur the measurement (the root-logger wiring is tested in tests/errors).
    log = logging.getLogger("shop.storm")
    log.handlers, log.propagate = [capture.log_handler()], False  # type: ignore[list-item]
    tracemalloc.start()
    try:
        began = time.monotonic()
        for number in range(STORM):
            log.error("upstream %s timed out after %d ms", "payments", number)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        log.handlers, log.propagate = [], True
    assert intake.flush(60)
    elapsed = time.monotonic() - began
    group = ErrorGroup.objects.get()
    assert group.count == STORM
    assert sum(ErrorGroupHourly.objects.values_list("count", flat=True)) == STORM
    assert 1 <= ErrorEvent.objects.count() <= PER_HOUR * 2  # an hour boundary during the run allows a second budget
    assert intake.buffer.stats.dropped_queue_full == 0 and intake.buffer.stats.dropped_db == 0
    # 10,000 full events would be tens of MB; buffered tallies and a few samples stay small.
    assert peak < 4 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    assert elapsed < 120
