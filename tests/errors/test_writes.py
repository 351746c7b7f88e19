"""SQL writes (errors/writes.py): exact counts, sampled events, signals, the size cap."""

from __future__ import annotations

import json
from typing import Any

import pytest

from django_observe.errors.events import cap_size
from django_observe.errors.signals import error_group_created
from django_observe.models import ErrorEvent, ErrorGroup, ErrorGroupChange, ErrorGroupHourly
from tests.errors.support import capture_boom

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sync_errors")]


def test_stored_events_are_sampled_per_hour_while_the_count_stays_exact(observe: Any) -> None:
    observe(ERRORS_EVENTS_PER_HOUR=3)
    for number in range(20):
        capture_boom(f"order {number} failed")
    group = ErrorGroup.objects.get()
    assert group.count == 20
    assert ErrorEvent.objects.count() == 3
    assert ErrorGroupHourly.objects.get().stored == 3


def test_new_groups_send_a_signal_once() -> None:
    created = []
    error_group_created.connect(lambda sender, group, **kw: created.append(group.pk), weak=False, dispatch_uid="t1")
    try:
        capture_boom()
        capture_boom()
    finally:
        error_group_created.disconnect(dispatch_uid="t1")
    assert created == [ErrorGroup.objects.get().pk]
    assert list(ErrorGroupChange.objects.values_list("kind", flat=True)) == ["created"]


def test_event_data_is_capped_in_size() -> None:
    frames = [{"function": f"f{n}", "vars": {"blob": "x" * 500}, "pre_context": ["y" * 200] * 5} for n in range(100)]
    event = {
        "exception": {"values": [{"type": "E", "value": "v", "stacktrace": {"frames": frames}}]},
        "breadcrumbs": {"values": [{"message": "z" * 1000}] * 50},
    }
    capped = cap_size(json.dumps(event), 8192)
    assert len(json.dumps(capped)) <= 8192
    assert capped["_observe_truncated"] is True
    assert capped["exception"]["values"][0]["type"] == "E"
