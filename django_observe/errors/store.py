"""The local error store: a bounded in-memory buffer and a per-process writer thread.

``submit()`` is called from sentry-sdk's ``before_send`` (the request's thread, inside
its transaction). It never touches the database: it computes the grouping key, folds
the event into a per-fingerprint tally and, when this process has not already kept
``ERRORS_EVENTS_PER_HOUR`` samples of that group this hour, keeps the full payload.
A storm of one error is therefore one dict entry and a counter, not 10,000 payloads.

A daemon thread per process (started lazily, re-created after ``fork``, so gunicorn
``--preload`` and Celery prefork children each get their own) drains the tallies in
batches on its OWN database connection: writing on the request's connection would be
rolled back with ``ATOMIC_REQUESTS`` or fail inside a broken transaction. Counts use
``count = count + n`` in SQL (read-modify-write lost ~60% of increments in our tests),
samples are capped exactly with a conditional UPDATE on the hourly row, and a resolved
group reopens with a conditional UPDATE, so one writer wins and one signal is sent.

Nothing here raises into the caller: a full buffer or an unreachable database drops
events, counts them (``observe_internal_errors_total{component="errors_dropped"}``) and
logs one line per process. ``ERRORS_SYNC`` writes inline instead (tests).
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import logging
import os
import re
import threading
import time
import uuid
from datetime import datetime
from typing import Any

from django.db import IntegrityError, OperationalError, connections, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from .. import metrics
from ..conf import get_settings, on_settings_reset
from . import fingerprint as grouping
from .events import cap_size, describe
from . import signals

logger = logging.getLogger(__name__)

_LOCK_RETRIES = 5
_reentry = threading.local()
_IDLE_WAIT_SECONDS = 60.0
# The writer waits this long after the first pending error to batch what follows
# (errors appear in the admin that much later), unless this many payloads are waiting.
_LINGER_SECONDS = 0.5
_BATCH_PAYLOADS = 200


@dataclasses.dataclass
class Sample:
    """One event payload waiting to be stored."""

    event_id: uuid.UUID
    timestamp: datetime
    level: str
    request_id: str
    transaction: str
    release: str
    environment: str
    user_id: str
    server_name: str
    data: str  # the event as JSON text ("" when only counted)


@dataclasses.dataclass
class Tally:
    """Everything pending for one fingerprint: exact counts per hour, a few samples."""

    fingerprint: str
    title: str
    culprit: str
    level: str
    exc_type: str
    logger: str
    release: str
    environment: str
    first: datetime
    last: datetime
    count: int = 0
    hours: dict[datetime, int] = dataclasses.field(default_factory=dict)
    samples: list[Sample] = dataclasses.field(default_factory=list)
    # The latest payload not kept, so a group that regresses mid-storm still gets one.
    spare: Sample | None = None


@dataclasses.dataclass
class Stats:
    """Per-process counters (also exported as metrics); read by tests and health checks."""

    submitted: int = 0
    written: int = 0
    dropped_queue_full: int = 0
    dropped_db: int = 0
    samples_skipped: int = 0


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _text(value: Any, limit: int) -> str:
    if value is None:
        return ""
    return str(value)[:limit]


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


class ErrorStore:
    """Buffers captured events per process and writes them in batches (see the module docstring)."""

    def __init__(self) -> None:
        self.stats = Stats()
        self._reset_after_fork()
        self._failure_logged = False
        os.register_at_fork(after_in_child=self._reset_after_fork)
        atexit.register(self.close)

    def _reset_after_fork(self) -> None:
        # A child must not inherit the parent's lock state, thread object or buffered events.
        self._cond = threading.Condition(threading.Lock())
        self._pending: dict[str, Tally] = {}
        self._payloads = 0
        self._busy = False
        self._flushing = 0
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._kept: dict[str, tuple[datetime, int]] = {}
        self._spare_at: dict[str, float] = {}
        self._shortcuts: dict[Any, Tally] = {}
        self.stats = Stats()

    # --- intake: the caller's thread -------------------------------------------------

    def submit(self, event: dict[str, Any], request_id: str | None = None, user_id: Any = None, shortcut: Any = None) -> None:
        """Queue one serialized, scrubbed event for storage. Never raises, never touches the database.

        ``shortcut``: a cheap key of the failure (see ``count_known``) to remember for this
        event's group, so the next identical failures can skip building an event at all.
        """
        if getattr(_reentry, "active", False):
            return  # an error logged while storing an error (inline mode): never recurse
        _reentry.active = True
        try:
            conf = get_settings()
            if not conf.ERRORS_ENABLED:
                return
            tally, sample = self._prepare(event, request_id, user_id)
            inline = conf.ERRORS_SYNC or _test_transaction(conf.ERRORS_DATABASE)
            if shortcut is not None and not inline:
                if len(self._shortcuts) > 10_000:
                    self._shortcuts.clear()
                self._shortcuts[shortcut] = tally
            if inline:
                self.stats.submitted += 1
                sample.data = json.dumps(event, default=str)
                tally.samples = [sample]
                self.write({tally.fingerprint: tally}, thread_connection=False)
                return
            self._enqueue(tally, sample, event, conf)
        except Exception:
            self._fail("intake", 1)
        finally:
            _reentry.active = False

    def _prepare(self, event: dict[str, Any], request_id: str | None, user_id: Any) -> tuple[Tally, Sample]:
        now = timezone.now()
        key = grouping.fingerprint(event)
        title, culprit, exc_type = describe(event)
        release = _text(event.get("release"), 200)
        environment = _text(event.get("environment"), 64)
        sample = Sample(
            event_id=_event_uuid(event.get("event_id")),
            timestamp=now,
            level=_text(event.get("level") or "error", 16),
            request_id=_text(request_id or (event.get("tags") or {}).get("request_id"), 128),
            transaction=_text(event.get("transaction"), 255),
            release=release,
            environment=environment,
            user_id=_text(user_id, 64),
            server_name=_text(event.get("server_name"), 255),
            data="",
        )
        tally = Tally(
            fingerprint=key,
            title=title,
            culprit=culprit,
            level=sample.level,
            exc_type=exc_type,
            logger=_text(event.get("logger"), 255),
            release=release,
            environment=environment,
            first=now,
            last=now,
            count=1,
            hours={_hour(now): 1},
        )
        return tally, sample

    def _enqueue(self, tally: Tally, sample: Sample, event: dict[str, Any], conf: Any) -> None:
        hour = _hour(tally.last)
        limit = conf.ERRORS_QUEUE_SIZE
        per_hour = max(1, conf.ERRORS_EVENTS_PER_HOUR)
        key = tally.fingerprint
        # Keep a payload only while this process is under the hourly sample budget (the
        # writer caps samples exactly): a storm then costs a counter, not memory. Read
        # without the lock: a race keeps one sample more or less.
        kept_hour, kept = self._kept.get(key, (hour, 0))
        if kept_hour != hour:
            kept = 0
        keep = kept < per_hour
        spare = not keep and time.monotonic() - self._spare_at.get(key, 0.0) > 1.0
        if keep or spare:
            # Serialized now: the SDK's transport thread may still touch the dict after before_send.
            sample.data = json.dumps(event, default=str)
        with self._cond:
            self.stats.submitted += 1
            pending = self._pending.get(key)
            if pending is None:
                if len(self._pending) >= limit:
                    self.stats.dropped_queue_full += 1
                    metrics.internal_error("errors_queue_full")
                    return
                self._pending[key] = pending = tally
            else:
                pending.count += 1
                pending.hours[hour] = pending.hours.get(hour, 0) + 1
                pending.last = tally.last
                pending.release, pending.environment = tally.release, tally.environment
            if keep and self._payloads < limit:
                pending.samples.append(sample)
                self._payloads += 1
                if len(self._kept) > 10_000:
                    self._kept.clear()
                self._kept[key] = (hour, kept + 1)
            else:
                self.stats.samples_skipped += 1
                if spare:
                    if len(self._spare_at) > 10_000:
                        self._spare_at.clear()
                    self._spare_at[key] = time.monotonic()
                    pending.spare = sample
            self._ensure_thread()
            if len(self._pending) == 1 or self._payloads >= _BATCH_PAYLOADS:
                # Wake the writer for the first error of a batch only: a wake-up per error
                # would cost a thread switch each.
                self._cond.notify()

    def count_known(self, shortcut: Any) -> bool:
        """Count one more occurrence of an already-seen failure without building its event.

        During a storm the full path (event building, serialization, scrubbing: ~1 ms) buys
        nothing once this process has kept its hourly samples of the group: the event would
        only be counted. Returns False (build the event) for an unknown key, when samples are
        still wanted, once a second per group (a spare sample, for a regression mid-storm),
        and under ``ERRORS_SYNC``. The caller must not use this when events also go to Sentry.
        """
        try:
            template = self._shortcuts.get(shortcut)
            if template is None:
                return False
            conf = get_settings()
            if conf.ERRORS_SYNC or not conf.ERRORS_ENABLED:
                return False
            now = timezone.now()
            hour = _hour(now)
            key = template.fingerprint
            kept_hour, kept = self._kept.get(key, (hour, 0))
            if kept_hour != hour or kept < max(1, conf.ERRORS_EVENTS_PER_HOUR):
                return False
            if time.monotonic() - self._spare_at.get(key, 0.0) > 1.0:
                return False
            with self._cond:
                pending = self._pending.get(key)
                if pending is None:
                    if len(self._pending) >= conf.ERRORS_QUEUE_SIZE:
                        return False  # the full path counts the drop
                    self._pending[key] = dataclasses.replace(template, first=now, last=now, count=1, hours={hour: 1}, samples=[], spare=None)
                else:
                    pending.count += 1
                    pending.hours[hour] = pending.hours.get(hour, 0) + 1
                    pending.last = now
                self.stats.submitted += 1
                self.stats.samples_skipped += 1
                self._ensure_thread()
                if len(self._pending) == 1:
                    self._cond.notify()
            return True
        except Exception:
            return False

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="django-observe-errors", daemon=True)
            self._thread.start()

    # --- the writer thread -----------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait(timeout=_IDLE_WAIT_SECONDS)
                if not self._pending and self._stopping:
                    self._close_connection()  # a test database can be dropped; a server does not keep it open
                    return
                # Linger to gather a batch: one transaction per group per batch instead of
                # one per failure (a commit, i.e. an fsync, cost more than the rest).
                linger_until = time.monotonic() + _LINGER_SECONDS
                while not (self._stopping or self._flushing or self._payloads >= _BATCH_PAYLOADS):
                    remaining = linger_until - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(timeout=remaining)
                batch, self._pending, self._payloads = self._pending, {}, 0
                self._busy = True
            try:
                self.write(batch, thread_connection=True)
            except Exception:  # write() handles its own failures; this keeps the thread alive regardless
                self._fail("database", sum(tally.count for tally in batch.values()), get_settings().ERRORS_DATABASE)
            finally:
                with self._cond:
                    nothing_left = not self._pending
                if nothing_left:
                    # Errors come in bursts: reconnecting per burst costs less than a database
                    # connection held open in every worker process for nothing.
                    self._close_connection()
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted so far is written (or dropped); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._flushing += 1  # the writer stops lingering
            try:
                while self._pending or self._busy:
                    if self._pending:
                        self._ensure_thread()
                        self._cond.notify_all()
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._cond.wait(timeout=min(remaining, 0.1))
            finally:
                self._flushing -= 1
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Flush (bounded), stop the writer and close its connection; the next submit starts a new one.

        Registered with atexit, so a worker's last errors are kept.
        """
        try:
            self.flush(timeout=timeout)
            with self._cond:
                self._stopping = True
                self._cond.notify_all()
                thread = self._thread
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout)
        except Exception:  # interpreter shutdown: nothing useful left to do
            pass

    def pending_count(self) -> int:
        """Events buffered in this process and not yet written."""
        with self._cond:
            return sum(tally.count for tally in self._pending.values())

    def _close_connection(self) -> None:
        try:
            connections[get_settings().ERRORS_DATABASE].close()
        except Exception:
            pass

    # --- writing: the writer thread, or the caller under ERRORS_SYNC ------------------

    def write(self, batch: dict[str, Tally], thread_connection: bool) -> None:
        """Store a batch, one transaction per group in fingerprint order (no deadlocks between processes)."""
        alias = get_settings().ERRORS_DATABASE
        for key in sorted(batch):
            tally = batch[key]
            for attempt in range(_LOCK_RETRIES):
                try:
                    self._write_group(tally, alias)
                    self.stats.written += tally.count
                    break
                except OperationalError as error:
                    if thread_connection:
                        self._close_connection()
                    if "locked" in str(error) and attempt < _LOCK_RETRIES - 1:
                        time.sleep(0.05 * (attempt + 1))  # SQLite busy: another process holds the write lock
                        continue
                    self._fail("database", tally.count, alias)
                    break
                except Exception:
                    if thread_connection:
                        self._close_connection()
                    self._fail("database", tally.count, alias)
                    break

    def _write_group(self, tally: Tally, alias: str) -> None:
        from ..models import ErrorEvent, ErrorGroup, ErrorGroupChange, ErrorGroupHourly

        conf = get_settings()
        groups = ErrorGroup.objects.using(alias)
        bump = {
            "count": F("count") + tally.count,
            "last_seen": Greatest(F("last_seen"), Value(tally.last)),
            "last_release": tally.release,
            "last_environment": tally.environment,
        }
        created = regressed = False
        sent: list[tuple[str, Any]] = []
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
            changes = ErrorGroupChange.objects.using(alias)
            if created:
                changes.create(group=group, kind=ErrorGroupChange.Kind.CREATED, at=now)
                sent.append(("created", None))
            elif group.status == ErrorGroup.Status.RESOLVED and release_reopens(group.resolved_in_release, tally.release):
                # Conditional: among concurrent writers exactly one sees rowcount 1.
                if groups.filter(pk=group.pk, status=ErrorGroup.Status.RESOLVED).update(
                    status=ErrorGroup.Status.UNRESOLVED, regressed_at=now, resolved_at=None
                ):
                    regressed = True
                    note = f"new event in release {tally.release}" if tally.release else "new event"
                    changes.create(group=group, kind=ErrorGroupChange.Kind.REGRESSED, at=now, note=note)
                    sent.append(("regressed", tally.release))
            elif group.status == ErrorGroup.Status.MUTED and (
                (group.muted_until is not None and group.muted_until <= now)
                or (group.muted_until_count is not None and group.count >= group.muted_until_count)
            ):
                if groups.filter(pk=group.pk, status=ErrorGroup.Status.MUTED).update(
                    status=ErrorGroup.Status.UNRESOLVED, muted_until=None, muted_until_count=None
                ):
                    changes.create(group=group, kind=ErrorGroupChange.Kind.UNMUTED, at=now, note="mute condition reached")
            hourly = ErrorGroupHourly.objects.using(alias)
            for hour, count in sorted(tally.hours.items()):
                if not hourly.filter(group=group, hour=hour).update(count=F("count") + count):
                    try:
                        with transaction.atomic(using=alias):
                            hourly.create(group=group, hour=hour, count=count)
                    except IntegrityError:
                        hourly.filter(group=group, hour=hour).update(count=F("count") + count)
            self._store_samples(tally, group, created or regressed, alias, conf)
        if sent:
            group.refresh_from_db(using=alias)
            for kind, release in sent:
                self._send(kind, group, release)

    def _store_samples(self, tally: Tally, group: Any, must_keep_one: bool, alias: str, conf: Any) -> None:
        """Store the samples the hourly budget allows, exactly.

        Runs inside the group's transaction, after its ``UPDATE``: that row lock (PostgreSQL)
        or the write lock (SQLite) serializes writers of this group, so reading ``stored``
        and then adding to it cannot race.
        """
        from ..models import ErrorEvent, ErrorGroupHourly

        samples = [sample for sample in tally.samples if sample.data]
        if must_keep_one and not samples and tally.spare is not None and tally.spare.data:
            samples = [tally.spare]
        if not samples:
            return
        hourly = ErrorGroupHourly.objects.using(alias)
        by_hour: dict[datetime, list[Sample]] = {}
        for sample in samples:
            by_hour.setdefault(_hour(sample.timestamp), []).append(sample)
        chosen: list[Sample] = []
        for hour, candidates in sorted(by_hour.items()):
            stored = hourly.filter(group=group, hour=hour).values_list("stored", flat=True).first() or 0
            allowed = max(0, conf.ERRORS_EVENTS_PER_HOUR - stored)
            if must_keep_one and not chosen:
                # The first event of a group, and the first after a regression, are always kept.
                allowed = max(allowed, 1)
            take = candidates[:allowed]
            self.stats.samples_skipped += len(candidates) - len(take)
            if take:
                hourly.filter(group=group, hour=hour).update(stored=F("stored") + len(take))
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

    def _send(self, kind: str, group: Any, release: str | None) -> None:
        from ..models import ErrorGroup

        try:
            if kind == "created":
                signals.error_group_created.send(sender=ErrorGroup, group=group)
            else:
                signals.error_group_regressed.send(sender=ErrorGroup, group=group, release=release or "")
        except Exception:
            # A receiver's bug must not stop the writer (nor be captured by ourselves).
            logger.warning("A receiver of the %s signal failed.", kind, exc_info=True)

    def _fail(self, where: str, events: int, alias: str | None = None) -> None:
        self.stats.dropped_db += events
        for _ in range(events):  # one count per lost event (internal_error counts by one)
            metrics.internal_error("errors_dropped")
        if not self._failure_logged:
            self._failure_logged = True
            if where == "database":
                logger.warning(
                    "Captured errors are being dropped: check that database %r is reachable and migrated "
                    "(this is logged once per process; the count is in observe_internal_errors_total).",
                    alias,
                    exc_info=True,
                )
            else:
                logger.warning("Could not queue a captured error; it was dropped.", exc_info=True)


def _test_transaction(alias: str) -> bool:
    """Inside a transaction on an in-memory SQLite database (a test with the ``db`` fixture), write
    inline as under ERRORS_SYNC: the writer's own connection would lock against that transaction
    (shared cache) or see another, empty database. Never true in production."""
    try:
        connection = connections[alias]
        return bool(connection.vendor == "sqlite" and connection.in_atomic_block and connection.is_in_memory_db())
    except Exception:
        return False


def _event_uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return uuid.uuid4()


#: The process-wide store; ``sentry.before_send`` feeds it.
store = ErrorStore()


def submit(event: dict[str, Any], request_id: str | None = None, user_id: Any = None, shortcut: Any = None) -> None:
    """Queue a serialized, scrubbed event for the local store (see ``ErrorStore.submit``)."""
    store.submit(event, request_id, user_id, shortcut)


def flush(timeout: float = 10.0) -> bool:
    """Wait until this process's captured errors are written; False on timeout."""
    return store.flush(timeout)


@on_settings_reset
def _settings_changed() -> None:
    store._kept.clear()
    store._shortcuts.clear()
