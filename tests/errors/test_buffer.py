"""The in-memory buffer, without a database: bounded, and overflow counted."""

from __future__ import annotations

from typing import Any

from django_observe.errors.store import ErrorStore


def test_a_full_buffer_drops_new_groups_and_counts_them(observe: Any) -> None:
    observe(ERRORS_SYNC=False, ERRORS_QUEUE_SIZE=2)
    buffer = ErrorStore()
    buffer._ensure_thread = lambda: None  # type: ignore[method-assign]  # hold everything in memory
    for number in range(5):
        buffer.submit({"message": f"distinct problem {'abcde'[number]}", "event_id": None})
    for _ in range(100):
        buffer.submit({"message": "distinct problem a"})  # an already-buffered group keeps counting
    assert buffer.stats.dropped_queue_full == 3
    assert buffer.pending_count() == 102
    assert sum(len(t.samples) for t in buffer._pending.values()) <= 2
