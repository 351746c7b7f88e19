"""SQL writes of the local error store: one transaction per group, counts exact under concurrency.

Runs on the intake's writer thread (its OWN database connection: the request's would be
rolled back with ``ATOMIC_REQUESTS`` or fail inside a broken transaction), or inline under
``ERRORS_SYNC``. Counts use ``count = count + n`` in SQL, else create, retrying the UPDATE
when another writer created the row first (read-modify-write lost ~60% of increments in
our tests); samples are capped exactly on the hourly row; status changes caused by new
events are ``lifecycle.apply_new_events``. Nothing here raises: a group that cannot be
written is dropped and counted (``observe_internal_errors_total{component="errors_dropped"}``);
when the database itself fails (unreachable, hung past the deadlines of ``connection``,
locked past the batch's deadline), the rest of the batch is dropped and counted at once
instead of waiting for the same failure once per group.

New groups are capped: beyond ``ERRORS_NEW_GROUPS_PER_HOUR`` (all processes together, give
or take one per concurrent writer), events of groups not seen before are counted in one
overflow group (``OVERFLOW_TITLE``) and in ``{component="errors_overflow"}``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from datetime import datetime
from typing import Any

from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from ..conf import ObserveSettings, get_settings
from ..guard import report
from ..models import ErrorEvent, ErrorGroup, ErrorGroupHourly
from . import connection, lifecycle, signals
from . import fingerprint as grouping
from .events import cap_size
from .tally import Batch, Sample, Stats, Tally, hour

logger = logging.getLogger(__name__)

#: Attempts per group when SQLite answers "database is locked" (another process holds the write lock).
LOCK_RETRIES = 5
#: Seconds a batch may take on the writer thread before the rest of it is dropped (counted) rather than
#: retried; with the statement deadline (``connection``), the bound on how late a drop is counted.
BATCH_SECONDS = 5.0

#: The group that counts events of new groups beyond ERRORS_NEW_GROUPS_PER_HOUR.
OVERFLOW_TITLE = "New error groups over the hourly limit (ERRORS_NEW_GROUPS_PER_HOUR)"
OVERFLOW_FINGERPRINT = grouping.fingerprint({"fingerprint": ["django_observe", "new-groups-overflow"]})


class _NewGroups:
    """This process's knowledge that the hourly cap of new groups is reached (saves a COUNT per new group)."""

    full_hour: datetime | None = None


_new_groups = _NewGroups()


def write(batch: Batch, stats: Stats, *, own_connection: bool) -> None:
    """Store a batch, one transaction per group in fingerprint order (no deadlocks between processes).

    ``own_connection``: the writer thread's connection: it gets the writer's deadlines, and is
    closed after a failure so the next group starts on a fresh one. Each group leaves ``batch``
    once written or dropped, so what remains in it is what is still unaccounted for (the
    intake counts that as dropped when it gives up waiting at exit).
    """
    alias = get_settings().ERRORS_DATABASE
    deadline = time.monotonic() + BATCH_SECONDS
    if own_connection:
        connection.bound(alias)
    for key in sorted(batch):
        tally = batch.get(key)
        if tally is None:
            continue  # given up on by the intake (process exit)
        for attempt in range(LOCK_RETRIES):
            try:
                _write_group(tally, alias, stats, own_connection)
                stats.written += tally.count
                break
            except (OperationalError, InterfaceError) as error:
                if own_connection:
                    connection.close(alias)
                # Retry a lock conflict only while a full wait still fits in the batch's time: a
                # lock held for long (BEGIN EXCLUSIVE, a migration) is a failure, not a conflict.
                if (
                    connection.worth_retrying(error)
                    and attempt < LOCK_RETRIES - 1
                    and time.monotonic() + connection.STATEMENT_TIMEOUT < deadline
                ):
                    time.sleep(0.05 * (attempt + 1))  # another writer holds the lock
                    continue
                # The database itself failed (or stayed locked past the deadline): every group
                # after this one would wait for the same failure. Count them all now.
                rest = sum(pending.count for pending in list(batch.values()))
                batch.clear()
                if rest:  # else the intake gave up on them and counted them
                    drop(stats, rest, alias)
                return
            except Exception:
                if own_connection:
                    connection.close(alias)
                drop(stats, tally.count, alias)
                break
        batch.pop(key, None)


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
    connection.close(alias)


def _write_group(tally: Tally, alias: str, stats: Stats, own_connection: bool = False) -> None:
    conf = get_settings()
    groups = ErrorGroup.objects.using(alias)
    regressed = False
    overflowed = 0
    with transaction.atomic(using=alias):
        if own_connection:
            connection.limit_statements(alias)
        created = _count_on_group(tally, alias)
        if created is None:  # a new group, and the hourly cap of new groups is reached
            overflowed = tally.count
            tally = dataclasses.replace(
                tally, fingerprint=OVERFLOW_FINGERPRINT, title=OVERFLOW_TITLE, culprit="", exc_type="", logger="django_observe"
            )
            created = _count_on_group(tally, alias, capped=False)
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
    if overflowed:  # counted once committed (a rolled-back attempt is retried or dropped)
        stats.overflowed += overflowed
        report(
            "errors_overflow",
            count=overflowed,
            message=f"More than {conf.ERRORS_NEW_GROUPS_PER_HOUR} new error groups this hour (ERRORS_NEW_GROUPS_PER_HOUR): "
            f"events of further new groups are counted in the group {OVERFLOW_TITLE!r}",
            exc_info=False,
        )
    # Signals go out after the commit, with the group as stored.
    if created or regressed:
        group.refresh_from_db(using=alias)
        if created:
            _send("created", group, None)
        if regressed:
            _send("regressed", group, tally.release)


def _count_on_group(tally: Tally, alias: str, capped: bool = True) -> bool | None:
    """Add the tally's count to its group, creating the group if needed: True when created,
    None when it is new and the hourly cap of new groups is reached (nothing written)."""
    groups = ErrorGroup.objects.using(alias)
    bump = {
        "count": F("count") + tally.count,
        "last_seen": Greatest(F("last_seen"), Value(tally.last)),
        "last_release": tally.release,
        "last_environment": tally.environment,
    }
    # Write first: on SQLite a transaction that reads before it writes can fail
    # with "database is locked" at once instead of waiting for the busy timeout.
    if groups.filter(fingerprint=tally.fingerprint).update(**bump):
        return False
    if capped and _new_groups_full(alias):
        return None
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
    except IntegrityError:  # another writer created it first: count on its row
        groups.filter(fingerprint=tally.fingerprint).update(**bump)
        return False
    return True


def _new_groups_full(alias: str) -> bool:
    """True when ERRORS_NEW_GROUPS_PER_HOUR groups were already created this hour.

    One COUNT per new group until the cap is reached (new groups are rare), none after it
    within the hour. Two writers may both see "one left": the cap holds give or take one
    group per concurrent writer.
    """
    this_hour = hour(timezone.now())
    if _new_groups.full_hour == this_hour:
        return True
    limit = get_settings().ERRORS_NEW_GROUPS_PER_HOUR
    if ErrorGroup.objects.using(alias).filter(first_seen__gte=this_hour).count() < limit:
        return False
    _new_groups.full_hour = this_hour
    return True


def forget_new_groups() -> None:
    """Forget that this hour's cap of new groups was reached (settings changed; tests)."""
    _new_groups.full_hour = None


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
