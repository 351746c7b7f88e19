"""SQL writes of the local error store: one transaction per group, counts exact under concurrency.

Runs on the intake's writer thread (its OWN database connection: the request's would be
rolled back with ``ATOMIC_REQUESTS`` or fail inside a broken transaction), or inline under
``ERRORS_SYNC``. Counts use ``count = count + n`` in SQL, else create, retrying the UPDATE
when another writer created the row first (read-modify-write lost ~60% of increments in
our tests); samples are capped exactly on the hourly row; status changes caused by new
events are ``lifecycle.apply_new_events``. Nothing here raises: a group that cannot be
written is dropped and counted (``observe_internal_errors_total{component="errors_dropped"}``).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from django.db import IntegrityError, OperationalError, connections, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from ..conf import ObserveSettings, get_settings
from ..guard import Guard, report
from ..models import ErrorEvent, ErrorGroup, ErrorGroupHourly
from . import fingerprint as grouping
from . import lifecycle, signals
from .events import cap_size
from .tally import Batch, Sample, Stats, Tally, hour

logger = logging.getLogger(__name__)

#: Attempts per group when SQLite answers "database is locked" (another process holds the write lock).
LOCK_RETRIES = 5

_CLOSE_GUARD = Guard("errors_writer", "Could not close the error writer's database connection")


def write(batch: Batch, stats: Stats, *, own_connection: bool) -> None:
    """Store a batch, one transaction per group in fingerprint order (no deadlocks between processes).

    ``own_connection``: the writer thread's connection, closed after a failure so the next
    group starts on a fresh one.
    """
    alias = get_settings().ERRORS_DATABASE
    for key in sorted(batch):
        tally = batch[key]
        for attempt in range(LOCK_RETRIES):
            try:
                _write_group(tally, alias, stats)
                stats.written += tally.count
                break
            except OperationalError as error:
                if own_connection:
                    close_connection(alias)
                if "locked" in str(error) and attempt < LOCK_RETRIES - 1:
                    time.sleep(0.05 * (attempt + 1))  # SQLite busy: another process holds the write lock
                    continue
                drop(stats, tally.count, alias)
                break
            except Exception:
                if own_connection:
                    close_connection(alias)
                drop(stats, tally.count, alias)
                break


def drop(stats: Stats, events: int, alias: str) -> None:
    """Count ``events`` captured errors that could not be stored; the first such failure of the process is logged."""
    stats.dropped_db += events
    report(
        "errors_dropped",
        count=events,
        message=f"Captured errors are being dropped: check that database {alias!r} is reachable and migrated",
    )


def close_connection(alias: str) -> None:
    """Close this thread's connection to ``alias`` (the writer's own; a burst of errors reconnects once)."""
    with _CLOSE_GUARD:
        connections[alias].close()


def _write_group(tally: Tally, alias: str, stats: Stats) -> None:
    conf = get_settings()
    groups = ErrorGroup.objects.using(alias)
    bump = {
        "count": F("count") + tally.count,
        "last_seen": Greatest(F("last_seen"), Value(tally.last)),
        "last_release": tally.release,
        "last_environment": tally.environment,
    }
    created = regressed = False
    with transaction.atomic(using=alias):
        # Write first: on SQLite a transaction that reads before it writes can fail
        # with "database is locked" at once instead of waiting for the busy timeout.
        if not groups.filter(fingerprint=tally.fingerprint).update(**bump):
            try:
                with transaction.atomic(using=alias):  # a savepoint, so PostgreSQL can go on after the race
                    groups.create(
                        fingerprint=tally.fingerprint,
                        grouping_version=grouping.GROUPING_VERSION,
                        title=tally.title,
                        culprit=tally.culprit,
                        level=tally.level,
                        exc_type=tally.exc_type,
                        logger=tally.logger,
                        first_seen=tally.first,
                        last_seen=tally.last,
                        count=tally.count,
                        last_release=tally.release,
                        last_environment=tally.environment,
                    )
                created = True
            except IntegrityError:  # another writer created it first: count on its row
                groups.filter(fingerprint=tally.fingerprint).update(**bump)
        group = groups.get(fingerprint=tally.fingerprint)
        now = timezone.now()
        if created:
            lifecycle.record_created(group, alias, now)
        else:
            regressed = lifecycle.apply_new_events(group, tally.release, alias, now)
        hourly = ErrorGroupHourly.objects.using(alias)
        for bucket, count in sorted(tally.hours.items()):
            if not hourly.filter(group=group, hour=bucket).update(count=F("count") + count):
                try:
                    with transaction.atomic(using=alias):
                        hourly.create(group=group, hour=bucket, count=count)
                except IntegrityError:
                    hourly.filter(group=group, hour=bucket).update(count=F("count") + count)
        _store_samples(tally, group, created or regressed, alias, conf, stats)
    # Signals go out after the commit, with the group as stored.
    if created or regressed:
        group.refresh_from_db(using=alias)
        if created:
            _send("created", group, None)
        if regressed:
            _send("regressed", group, tally.release)


def _store_samples(tally: Tally, group: ErrorGroup, must_keep_one: bool, alias: str, conf: ObserveSettings, stats: Stats) -> None:
    """Store the samples the hourly budget allows, exactly.

    Runs inside the group's transaction, after its ``UPDATE``: that row lock (PostgreSQL)
    or the write lock (SQLite) serializes writers of this group, so reading ``stored``
    and then adding to it cannot race.
    """
    samples = [sample for sample in tally.samples if sample.data]
    if must_keep_one and not samples and tally.spare is not None and tally.spare.data:
        samples = [tally.spare]
    if not samples:
        return
    hourly = ErrorGroupHourly.objects.using(alias)
    by_hour: dict[datetime, list[Sample]] = {}
    for sample in samples:
        by_hour.setdefault(hour(sample.timestamp), []).append(sample)
    chosen: list[Sample] = []
    for bucket, candidates in sorted(by_hour.items()):
        stored = hourly.filter(group=group, hour=bucket).values_list("stored", flat=True).first() or 0
        allowed = max(0, conf.ERRORS_EVENTS_PER_HOUR - stored)
        if must_keep_one and not chosen:
            # The first event of a group, and the first after a regression, are always kept.
            allowed = max(allowed, 1)
        take = candidates[:allowed]
        stats.samples_skipped += len(candidates) - len(take)
        if take:
            hourly.filter(group=group, hour=bucket).update(stored=F("stored") + len(take))
            chosen += take
    rows = [
        ErrorEvent(
            group=group,
            event_id=sample.event_id,
            timestamp=sample.timestamp,
            level=sample.level,
            request_id=sample.request_id,
            transaction=sample.transaction,
            release=sample.release,
            environment=sample.environment,
            user_id=sample.user_id,
            server_name=sample.server_name,
            data=cap_size(sample.data, conf.ERRORS_MAX_EVENT_BYTES),
        )
        for sample in chosen
    ]
    if rows:
        ErrorEvent.objects.using(alias).bulk_create(rows, ignore_conflicts=True)


def _send(kind: str, group: Any, release: str | None) -> None:
    try:
        if kind == "created":
            signals.error_group_created.send(sender=ErrorGroup, group=group)
        else:
            signals.error_group_regressed.send(sender=ErrorGroup, group=group, release=release or "")
    except Exception:
        # A receiver's bug (not ours) must not stop the writer, nor be captured by ourselves.
        logger.warning("A receiver of the %s signal failed.", kind, exc_info=True)
