"""Status changes (errors/lifecycle.py): by people (resolve, mute, reopen) and by new events (regressions, unmutes)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from django_observe.errors import lifecycle
from django_observe.errors.lifecycle import release_reopens
from django_observe.errors.signals import error_group_regressed
from django_observe.models import ErrorEvent, ErrorGroup, ErrorGroupChange
from tests.errors.support import capture_boom

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sync_errors")]


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
