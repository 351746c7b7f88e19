"""The store: exact counts, sampled events, regressions, mutes, bounds."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from django_observe import sentry
from django_observe.errors import lifecycle, store
from django_observe.errors.signals import error_group_created, error_group_regressed
from django_observe.errors.store import cap_size, release_reopens
from django_observe.models import ErrorEvent, ErrorGroup, ErrorGroupChange, ErrorGroupHourly

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sync_errors")]


def boom(message: str = "order 1 failed") -> None:
    raise ValueError(message)


def capture_boom(message: str = "order 1 failed") -> None:
    try:
        boom(message)
    except ValueError as error:
        sentry.capture_exception(error)


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


def test_an_event_on_a_resolved_group_reopens_it_once_with_history_and_signal(observe: Any) -> None:
    observe(ERRORS_EVENTS_PER_HOUR=1)
    capture_boom()
    capture_boom()  # uses up the hourly sample budget
    group = ErrorGroup.objects.get()
    lifecycle.resolve([group], actor="alice")
    regressed = []
    error_group_regressed.connect(lambda sender, group, release, **kw: regressed.append(group.status), weak=False, dispatch_uid="t2")
    try:
        capture_boom()
        capture_boom()
    finally:
        error_group_regressed.disconnect(dispatch_uid="t2")
    group.refresh_from_db()
    assert (group.status, group.count, group.regressed_at is not None) == ("unresolved", 4, True)
    assert regressed == ["unresolved"]
    kinds = list(ErrorGroupChange.objects.order_by("pk").values_list("kind", "actor"))
    assert kinds == [("created", ""), ("resolved", "alice"), ("regressed", "")]
    # The first event after the regression is stored even though the hour's budget was spent.
    assert ErrorEvent.objects.count() == 2


def test_resolved_in_a_release_ignores_events_from_older_releases() -> None:
    assert release_reopens("", "1.0")
    assert release_reopens("1.4", "1.4")
    assert release_reopens("1.4", "1.10")
    assert not release_reopens("1.4", "1.3.9")
    assert not release_reopens("abc123", "def456")


def test_mute_until_n_more_events_unmutes_by_itself() -> None:
    capture_boom()
    group = ErrorGroup.objects.get()
    lifecycle.mute([group], actor="bob", more_events=2)
    capture_boom()
    assert ErrorGroup.objects.get().status == "muted"
    capture_boom()
    group.refresh_from_db()
    assert (group.status, group.count) == ("unresolved", 3)
    assert ErrorGroupChange.objects.filter(kind="unmuted").count() == 1


def test_mute_for_a_time_unmutes_after_it() -> None:
    capture_boom()
    group = ErrorGroup.objects.get()
    lifecycle.mute([group], until=timezone.now() - timedelta(seconds=1))
    capture_boom()
    assert ErrorGroup.objects.get().status == "unresolved"


def test_reopen_and_history_record_the_actor() -> None:
    capture_boom()
    group = ErrorGroup.objects.get()
    assert lifecycle.resolve([group], actor="carol", release="2.0") == 1
    group.refresh_from_db()
    assert (group.status, group.resolved_in_release) == ("resolved", "2.0")
    assert lifecycle.reopen([group], actor="dave") == 1
    assert ErrorGroup.objects.get().status == "unresolved"
    assert list(ErrorGroupChange.objects.order_by("pk").values_list("kind", "actor", "note"))[1:] == [
        ("resolved", "carol", "in release 2.0"),
        ("reopened", "dave", ""),
    ]


def test_event_data_is_capped_in_size() -> None:
    frames = [{"function": f"f{n}", "vars": {"blob": "x" * 500}, "pre_context": ["y" * 200] * 5} for n in range(100)]
    event = {"exception": {"values": [{"type": "E", "value": "v", "stacktrace": {"frames": frames}}]}, "breadcrumbs": {"values": [{"message": "z" * 1000}] * 50}}
    capped = cap_size(json.dumps(event), 8192)
    assert len(json.dumps(capped)) <= 8192
    assert capped["_observe_truncated"] is True
    assert capped["exception"]["values"][0]["type"] == "E"


def test_submit_never_raises_on_garbage() -> None:
    store.submit({"exception": "not a dict"})  # type: ignore[dict-item]
    store.submit(None)  # type: ignore[arg-type]
