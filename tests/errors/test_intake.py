"""The intake (errors/intake.py): a bounded buffer, overflow counted; nothing it is given makes it raise."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY

from django_observe.errors import intake
from django_observe.errors.intake import ErrorBuffer


def internal_errors(component: str) -> float:
    return REGISTRY.get_sample_value("observe_internal_errors_total", {"component": component}) or 0.0


def test_a_full_buffer_drops_new_groups_and_counts_them(observe: Any) -> None:
    observe(ERRORS_SYNC=False, ERRORS_QUEUE_SIZE=2)
    buffer = ErrorBuffer()
    buffer._ensure_thread = lambda: None  # type: ignore[method-assign]  # hold everything in memory
    before = internal_errors("errors_queue_full")
    for number in range(5):
        buffer.submit({"message": f"distinct problem {'abcde'[number]}", "event_id": None})
    for _ in range(100):
        buffer.submit({"message": "distinct problem a"})  # an already-buffered group keeps counting
    assert buffer.stats.dropped_queue_full == 3
    assert internal_errors("errors_queue_full") - before == 3
    assert buffer.pending_count() == 102
    assert sum(len(t.samples) for t in buffer._pending.values()) <= 2
    buffer.close(timeout=0)  # its writer never ran: what it holds is counted as dropped now, not at exit
    assert buffer.stats.dropped_db == 102


@pytest.mark.django_db
@pytest.mark.usefixtures("sync_errors")
def test_submit_never_raises_on_garbage_and_counts_the_drops(caplog: pytest.LogCaptureFixture) -> None:
    before = internal_errors("errors_dropped")
    intake.submit({"exception": "not a dict"})  # type: ignore[dict-item]
    intake.submit(None)  # type: ignore[arg-type]
    assert intake.buffer.stats.dropped_db == 2
    assert internal_errors("errors_dropped") - before == 2
    logged = [record for record in caplog.records if "Could not queue a captured error" in record.getMessage()]
    assert len(logged) == 1  # once per process, however many follow
