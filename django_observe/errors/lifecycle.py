"""Resolve, mute and reopen error groups, with a history row per change.

Used by the admin actions; callable from your own code too (e.g. resolve everything
fixed by a deploy). Every function takes the acting user's name for the history.
"""

from __future__ import annotations

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
