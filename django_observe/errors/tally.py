"""What the intake hands the writer.

Per-fingerprint tallies with a few sample payloads (made from events here), and the store's counters.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from typing import Any

from django.utils import timezone

from . import fingerprint as grouping
from .events import describe


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
    overflowed: int = 0  # events of new groups beyond ERRORS_NEW_GROUPS_PER_HOUR, counted in the overflow group


def hour(moment: datetime) -> datetime:
    """The start of ``moment``'s hour: the key of the hourly counts and sample budgets."""
    return moment.replace(minute=0, second=0, microsecond=0)


def from_event(event: dict[str, Any], request_id: str | None, user_id: Any) -> tuple[Tally, Sample]:
    """The tally (count 1, grouping key, title) and the sample (without its payload yet) of one captured event."""
    now = timezone.now()
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
        fingerprint=grouping.fingerprint(event),
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
        hours={hour(now): 1},
    )
    return tally, sample


def _text(value: Any, limit: int) -> str:
    if value is None:
        return ""
    return str(value)[:limit]


def _event_uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return uuid.uuid4()
