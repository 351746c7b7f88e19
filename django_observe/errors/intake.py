"""The local error store's intake: a bounded in-memory buffer and a per-process writer thread.

``submit()`` is called from the ``before_send`` hook (the request's thread, inside its
transaction). It never touches the database: it computes the grouping key, folds the
event into a per-fingerprint tally and, when this process has not already kept
``ERRORS_EVENTS_PER_HOUR`` samples of that group this hour, keeps the full payload.
A storm of one error is therefore one dict entry and a counter, not 10,000 payloads.

A daemon thread per process (started lazily, re-created after ``fork``, so gunicorn
``--preload`` and Celery prefork children each get their own) drains the tallies in
batches and hands them to ``writes`` on its OWN database connection. ``ERRORS_SYNC``
writes inline instead (tests).

Nothing here raises into the caller: a full buffer or an unreachable database drops
events, counts them (``observe_internal_errors_total{component="errors_queue_full"}`` /
``{component="errors_dropped"}``) and logs one line per process.

At exit (``atexit``: gunicorn's and uvicorn's workers, Celery, ``runserver``'s SIGTERM) the
buffer is flushed for at most ``SHUTDOWN_SECONDS`` in all; what is still unwritten then --
the database hangs or is locked -- is counted as dropped, and the process exits.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import os
import threading
import time
from typing import Any

from django.db import connections
from django.utils import timezone
from django.utils.connection import ConnectionDoesNotExist

from ..conf import ObserveSettings, get_settings, on_change
from ..guard import Guard, report
from . import writes
from .tally import Batch, Sample, Stats, Tally, from_event, hour

_reentry = threading.local()
_IDLE_WAIT_SECONDS = 60.0
# The writer waits this long after the first pending error to batch what follows
# (errors appear in the admin that much later), unless this many payloads are waiting.
_LINGER_SECONDS = 0.5
_BATCH_PAYLOADS = 200
# Per-group bookkeeping is forgotten beyond this many groups (bounded memory; a forgotten
# group only costs one full capture more).
_MAX_REMEMBERED = 10_000
#: Seconds a process waits at exit for its captured errors to be written (documented in docs/errors.md).
SHUTDOWN_SECONDS = 5.0

_SHORTCUT_GUARD = Guard("errors_intake", "The storm fast path of the error store failed; events are built in full")
_SHUTDOWN_GUARD = Guard("errors_writer", "Could not flush the captured errors at exit")


class ErrorBuffer:
    """Buffers captured events per process and writes them in batches (see the module docstring)."""

    def __init__(self) -> None:
        self.stats = Stats()
        self._reset_after_fork()
        os.register_at_fork(after_in_child=self._reset_after_fork)
        atexit.register(self.close)

    def _reset_after_fork(self) -> None:
        # A child must not inherit the parent's lock state, thread object or buffered events.
        self._cond = threading.Condition(threading.Lock())
        self._pending: Batch = {}
        self._payloads = 0
        self._busy = False
        self._writing: Batch = {}  # the batch on the writer thread; writes.write() removes each group it is done with
        self._flushing = 0
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._kept: dict[str, tuple[Any, int]] = {}
        self._spare_at: dict[str, float] = {}
        self._shortcuts: dict[Any, Tally] = {}
        self.stats = Stats()

    def forget_groups(self) -> None:
        """Forget which groups were seen and sampled (settings changed; tests)."""
        self._kept.clear()
        self._spare_at.clear()
        self._shortcuts.clear()

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
            tally, sample = from_event(event, request_id, user_id)
            inline = conf.ERRORS_SYNC or _test_transaction(conf.ERRORS_DATABASE)
            if shortcut is not None and not inline:
                if len(self._shortcuts) > _MAX_REMEMBERED:
                    self._shortcuts.clear()
                self._shortcuts[shortcut] = tally
            if inline:
                self.stats.submitted += 1
                sample.data = json.dumps(event, default=str)
                tally.samples = [sample]
                writes.write({tally.fingerprint: tally}, self.stats, own_connection=False)
                return
            self._enqueue(tally, sample, event, conf)
        except Exception:
            self.stats.dropped_db += 1
            report("errors_dropped", message="Could not queue a captured error; it was dropped")
        finally:
            _reentry.active = False

    def _enqueue(self, tally: Tally, sample: Sample, event: dict[str, Any], conf: ObserveSettings) -> None:
        bucket = hour(tally.last)
        limit = conf.ERRORS_QUEUE_SIZE
        per_hour = max(1, conf.ERRORS_EVENTS_PER_HOUR)
        key = tally.fingerprint
        # Keep a payload only while this process is under the hourly sample budget (the
        # writer caps samples exactly): a storm then costs a counter, not memory. Read
        # without the lock: a race keeps one sample more or less.
        kept_hour, kept = self._kept.get(key, (bucket, 0))
        if kept_hour != bucket:
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
                    report(
                        "errors_queue_full", message="The error buffer is full: captured errors of new groups are dropped", exc_info=False
                    )
                    return
                self._pending[key] = pending = tally
            else:
                pending.count += 1
                pending.hours[bucket] = pending.hours.get(bucket, 0) + 1
                pending.last = tally.last
                pending.release, pending.environment = tally.release, tally.environment
            if keep and self._payloads < limit:
                pending.samples.append(sample)
                self._payloads += 1
                if len(self._kept) > _MAX_REMEMBERED:
                    self._kept.clear()
                self._kept[key] = (bucket, kept + 1)
            else:
                self.stats.samples_skipped += 1
                if spare:
                    if len(self._spare_at) > _MAX_REMEMBERED:
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
        with _SHORTCUT_GUARD:
            return self._count_known(shortcut)
        return False  # the guard swallowed a failure of ours: take the full path

    def _count_known(self, shortcut: Any) -> bool:
        template = self._shortcuts.get(shortcut)
        if template is None:
            return False
        conf = get_settings()
        if conf.ERRORS_SYNC or not conf.ERRORS_ENABLED:
            return False
        now = timezone.now()
        bucket = hour(now)
        key = template.fingerprint
        kept_hour, kept = self._kept.get(key, (bucket, 0))
        if kept_hour != bucket or kept < max(1, conf.ERRORS_EVENTS_PER_HOUR):
            return False
        if time.monotonic() - self._spare_at.get(key, 0.0) > 1.0:
            return False
        with self._cond:
            pending = self._pending.get(key)
            if pending is None:
                if len(self._pending) >= conf.ERRORS_QUEUE_SIZE:
                    return False  # the full path counts the drop
                self._pending[key] = dataclasses.replace(template, first=now, last=now, count=1, hours={bucket: 1}, samples=[], spare=None)
            else:
                pending.count += 1
                pending.hours[bucket] = pending.hours.get(bucket, 0) + 1
                pending.last = now
            self.stats.submitted += 1
            self.stats.samples_skipped += 1
            self._ensure_thread()
            if len(self._pending) == 1:
                self._cond.notify()
        return True

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
                    # A test database can be dropped; a server does not keep it open.
                    writes.close_connection(get_settings().ERRORS_DATABASE)
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
                self._writing = batch
                self._busy = True
            alias = get_settings().ERRORS_DATABASE
            try:
                writes.write(batch, self.stats, own_connection=True)
            except Exception:  # write() handles its own failures; this keeps the thread alive regardless
                if lost := sum(tally.count for tally in list(batch.values())):
                    writes.drop(self.stats, lost, alias)
                batch.clear()
            finally:
                with self._cond:
                    self._writing = {}
                    nothing_left = not self._pending
                if nothing_left:
                    # Errors come in bursts: reconnecting per burst costs less than a database
                    # connection held open in every worker process for nothing.
                    writes.close_connection(alias)
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

    def close(self, timeout: float = SHUTDOWN_SECONDS) -> None:
        """Flush, stop the writer and close its connection, in ``timeout`` seconds at most; the next submit starts a new writer.

        Registered with atexit, so a worker's last errors are kept. What the writer could not
        write in time (a hung or locked database) is counted as dropped: the process exits on
        time and nothing is lost silently.
        """
        with _SHUTDOWN_GUARD:
            deadline = time.monotonic() + timeout
            if not self.flush(timeout=timeout):
                self._give_up()
            with self._cond:
                self._stopping = True
                self._cond.notify_all()
                thread = self._thread
            if thread is not None and thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))

    def _give_up(self) -> None:
        """Count everything still buffered or being written as dropped (the writer skips the groups it had not reached)."""
        with self._cond:
            pending, self._pending, self._payloads = self._pending, {}, 0
            writing = list(self._writing.values())
            self._writing.clear()
        lost = sum(tally.count for tally in pending.values()) + sum(tally.count for tally in writing)
        if lost:
            writes.drop(self.stats, lost, get_settings().ERRORS_DATABASE)

    @property
    def writer_thread(self) -> threading.Thread | None:
        """This process's writer thread, when one was started (benchmarks read its CPU time)."""
        return self._thread

    def pending_count(self) -> int:
        """Events buffered in this process and not yet written."""
        with self._cond:
            return sum(tally.count for tally in self._pending.values())


def _test_transaction(alias: str) -> bool:
    """Inside a transaction on an in-memory SQLite database (a test with the ``db`` fixture), write
    inline as under ERRORS_SYNC: the writer's own connection would lock against that transaction
    (shared cache) or see another, empty database. Never true in production."""
    try:
        connection = connections[alias]
    except ConnectionDoesNotExist:  # misconfigured (system check E041): the writer counts the drop
        return False
    # is_in_memory_db() exists on SQLite's wrapper only, which the vendor test selects.
    return bool(connection.vendor == "sqlite" and connection.in_atomic_block and connection.is_in_memory_db())  # type: ignore[attr-defined]


#: The process-wide buffer; ``capture.before_send`` feeds it.
buffer = ErrorBuffer()


def submit(event: dict[str, Any], request_id: str | None = None, user_id: Any = None, shortcut: Any = None) -> None:
    """Queue a serialized, scrubbed event for the local store (see ``ErrorBuffer.submit``)."""
    buffer.submit(event, request_id, user_id, shortcut)


def flush(timeout: float = 10.0) -> bool:
    """Wait until this process's captured errors are written; False on timeout."""
    return buffer.flush(timeout)


@on_change()
def _settings_changed() -> None:
    buffer.forget_groups()
    writes.forget_new_groups()
