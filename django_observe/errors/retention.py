"""Retention of the local error store: delete by age and by total, in batches (``manage.py observe_prune``)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from ..conf import get_settings
from ..models import ErrorEvent, ErrorGroup, ErrorGroupHourly

#: Rows deleted per statement unless told otherwise.
DEFAULT_BATCH_SIZE = 1000


@dataclasses.dataclass(frozen=True)
class Pruned:
    """What one pruning deleted (or, in a dry run, would delete)."""

    old_events: int
    excess_events: int
    hourly_counts: int
    inactive_groups: int


def prune(
    *,
    days: int,
    max_events: int,
    inactive_days: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    now: datetime | None = None,
) -> Pruned:
    """Delete events older than ``days``, the oldest events beyond ``max_events``, hourly counts older
    than ``days``, and groups not seen for ``inactive_days`` (default ``days``) that have no stored
    event left; ``batch_size`` rows per statement. ``dry_run`` only counts. Raises ValueError for
    ``days`` or ``inactive_days`` below 1 or ``max_events`` below 0.
    """
    inactive_days = inactive_days if inactive_days is not None else days
    if days < 1 or max_events < 0 or inactive_days < 1:
        raise ValueError("days and inactive_days must be at least 1, max_events at least 0")
    alias = get_settings().ERRORS_DATABASE
    now = now or timezone.now()
    batch = max(1, batch_size)
    events = ErrorEvent.objects.using(alias)
    old = events.filter(timestamp__lt=now - timedelta(days=days))
    removed_old = delete_in_batches(old, batch, dry_run)
    remaining = events.count() - (removed_old if dry_run else 0)
    excess = max(0, remaining - max_events)
    removed_excess = 0
    if excess:
        # The oldest first; the newest events of every group survive longest.
        survivors = events.exclude(pk__in=old.values("pk")) if dry_run else events
        cutoff_ids = survivors.order_by("timestamp", "pk").values_list("pk", flat=True)[:excess]
        removed_excess = delete_in_batches(events.filter(pk__in=list(cutoff_ids)), batch, dry_run)
    hourly = ErrorGroupHourly.objects.using(alias).filter(hour__lt=now - timedelta(days=days))
    removed_hourly = delete_in_batches(hourly, batch, dry_run)
    groups = ErrorGroup.objects.using(alias).filter(last_seen__lt=now - timedelta(days=inactive_days))
    left = ErrorEvent.objects.using(alias).filter(group=OuterRef("pk"))
    if dry_run:  # the events this run would delete are still there: look at the ones it keeps
        left = left.filter(timestamp__gte=now - timedelta(days=days))
    removed_groups = delete_in_batches(groups.filter(~Exists(left)), batch, dry_run)
    return Pruned(removed_old, removed_excess, removed_hourly, removed_groups)


def delete_in_batches(queryset: QuerySet[Any], batch: int, dry_run: bool = False) -> int:
    """Delete what ``queryset`` selects, ``batch`` rows per statement (short locks); the number deleted.

    ``dry_run``: only count.
    """
    if dry_run:
        return queryset.count()
    total = 0
    for _ in range(1_000_000):  # bounded: at most a billion rows at the default batch size
        ids = list(queryset.values_list("pk", flat=True)[:batch])
        if not ids:
            break
        queryset.model._base_manager.using(queryset.db).filter(pk__in=ids).delete()
        total += len(ids)
    return total
