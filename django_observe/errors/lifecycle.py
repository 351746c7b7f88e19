"""Every status change of an error group, with a history row per change.

By people (the admin actions; callable from your own code too, e.g. resolve everything
fixed by a deploy): ``resolve``, ``mute``, ``reopen``, each taking the acting user's name.
By new events (the writer, inside the group's transaction): ``apply_new_events`` reopens a
resolved group (a regression) or unmutes a group whose mute condition was reached, and
``record_created`` notes a group's first event.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from ..models import ErrorGroup, ErrorGroupChange


def _record(groups: Iterable[ErrorGroup], kind: str, actor: str, note: str, now: datetime) -> None:
    ErrorGroupChange.objects.bulk_create(
        [ErrorGroupChange(group=group, kind=kind, actor=actor[:150], at=now, note=note) for group in groups]
    )


def resolve(groups: Iterable[ErrorGroup], actor: str = "", release: str = "") -> int:
    """Mark groups resolved (``release``: fixed in that release; older releases' events do not reopen)."""
    now = timezone.now()
    targets = [group for group in groups if group.status != ErrorGroup.Status.RESOLVED or group.resolved_in_release != release]
    with transaction.atomic():
        ErrorGroup.objects.filter(pk__in=[g.pk for g in targets]).update(
            status=ErrorGroup.Status.RESOLVED,
            resolved_at=now,
            resolved_in_release=release[:200],
            muted_until=None,
            muted_until_count=None,
        )
        _record(targets, ErrorGroupChange.Kind.RESOLVED, actor, f"in release {release}" if release else "", now)
    return len(targets)


def mute(groups: Iterable[ErrorGroup], actor: str = "", until: datetime | None = None, more_events: int | None = None) -> int:
    """Mute groups: forever, until a time, or until ``more_events`` further events arrive.

    Muted groups keep counting; when the condition is reached the writer unmutes them
    (history: "unmuted").
    """
    now = timezone.now()
    targets = [group for group in groups if group.status != ErrorGroup.Status.MUTED]
    notes = []
    if until is not None:
        notes.append(f"until {until:%Y-%m-%d %H:%M} UTC")
    if more_events:
        notes.append(f"until {more_events} more events")
    with transaction.atomic():
        for group in targets:
            ErrorGroup.objects.filter(pk=group.pk).update(
                status=ErrorGroup.Status.MUTED,
                muted_until=until,
                muted_until_count=(group.count + more_events) if more_events else None,
                resolved_at=None,
                resolved_in_release="",
            )
        _record(targets, ErrorGroupChange.Kind.MUTED, actor, ", ".join(notes), now)
    return len(targets)


def reopen(groups: Iterable[ErrorGroup], actor: str = "") -> int:
    """Back to unresolved (from resolved or muted)."""
    now = timezone.now()
    targets = [group for group in groups if group.status != ErrorGroup.Status.UNRESOLVED]
    with transaction.atomic():
        ErrorGroup.objects.filter(pk__in=[g.pk for g in targets]).update(
            status=ErrorGroup.Status.UNRESOLVED,
            resolved_at=None,
            resolved_in_release="",
            muted_until=None,
            muted_until_count=None,
        )
        _record(targets, ErrorGroupChange.Kind.REOPENED, actor, "", now)
    return len(targets)


# --- by new events: the writer, inside the group's transaction ---------------------------

_RELEASE_VERSION = re.compile(r"\d+(?:\.\d+)+")


def release_reopens(resolved_in_release: str, event_release: str) -> bool:
    """Does an event from ``event_release`` reopen a group resolved in ``resolved_in_release``?

    Resolved without a release: any new event. Resolved in X: events from X or a later
    version (dotted numbers compared as numbers, so 1.10 > 1.9, ``shop@2.0.1`` works too); events still coming from older
    deployments are counted but do not reopen. Releases that are not version-like reopen
    only when equal to X.
    """
    if not resolved_in_release:
        return True
    if event_release == resolved_in_release:
        return True
    ours, fixed = _RELEASE_VERSION.search(event_release or ""), _RELEASE_VERSION.search(resolved_in_release)
    if ours is None or fixed is None:  # commit hashes and other names: no order to compare
        return False
    return [int(n) for n in ours.group().split(".")] > [int(n) for n in fixed.group().split(".")]


def record_created(group: ErrorGroup, alias: str, now: datetime) -> None:
    """History: the group's first event."""
    ErrorGroupChange.objects.using(alias).create(group=group, kind=ErrorGroupChange.Kind.CREATED, at=now)


def apply_new_events(group: ErrorGroup, release: str, alias: str, now: datetime) -> bool:
    """What new events (from ``release``) do to ``group``'s status; True when they reopened it (a regression).

    Resolved: reopened when ``release_reopens`` says so. Muted: unmuted once its time passed or
    its event count was reached. Both are conditional UPDATEs: among concurrent writers, even
    across processes, exactly one sees rowcount 1, records the change and (regression) reports it.
    """
    groups = ErrorGroup.objects.using(alias)
    changes = ErrorGroupChange.objects.using(alias)
    if group.status == ErrorGroup.Status.RESOLVED and release_reopens(group.resolved_in_release, release):
        if groups.filter(pk=group.pk, status=ErrorGroup.Status.RESOLVED).update(
            status=ErrorGroup.Status.UNRESOLVED, regressed_at=now, resolved_at=None
        ):
            note = f"new event in release {release}" if release else "new event"
            changes.create(group=group, kind=ErrorGroupChange.Kind.REGRESSED, at=now, note=note)
            return True
    elif group.status == ErrorGroup.Status.MUTED and _mute_over(group, now):
        if groups.filter(pk=group.pk, status=ErrorGroup.Status.MUTED).update(
            status=ErrorGroup.Status.UNRESOLVED, muted_until=None, muted_until_count=None
        ):
            changes.create(group=group, kind=ErrorGroupChange.Kind.UNMUTED, at=now, note="mute condition reached")
    return False


def _mute_over(group: ErrorGroup, now: datetime) -> bool:
    return (group.muted_until is not None and group.muted_until <= now) or (
        group.muted_until_count is not None and group.count >= group.muted_until_count
    )
