"""What the intake hands the writer: per-fingerprint tallies with a few sample payloads, and the store's counters."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime


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


#: A batch for the writer: fingerprint -> its tally.
Batch = dict[str, Tally]


@dataclasses.dataclass
class Stats:
    """Per-process counters (also exported as metrics); read by tests and health checks."""

    submitted: int = 0
    written: int = 0
    dropped_queue_full: int = 0
    dropped_db: int = 0
    samples_skipped: int = 0


def hour(moment: datetime) -> datetime:
    """The start of ``moment``'s hour: the key of the hourly counts and sample budgets."""
    return moment.replace(minute=0, second=0, microsecond=0)
