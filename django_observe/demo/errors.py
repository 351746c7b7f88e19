"""Demo error groups of an imaginary shop: 30 days of hourly counts, sampled events with frames, a lifecycle.

One group per thing the Errors pages can show: a steady unresolved error, a regression
(resolved in 1.4.1, back in 1.4.2), a resolved burst during the database incident of the
health demo, a muted noisy log error, a new error of the last hours, and two errors of the
same request. Counts follow the working day (UTC); everything is derived from the hour
index, so a second run writes the same rows.
"""

from __future__ import annotations

import datetime
import hashlib
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..conf import get_settings
from ..models import ErrorEvent, ErrorGroup, ErrorGroupChange, ErrorGroupHourly
from .sources import FRAMES

HOURS = 30 * 24
#: Releases by age: deployed 30, 6 and 2 days ago.
RELEASES = ((6 * 24, "1.4.0"), (2 * 24, "1.4.1"), (0, "1.4.2"))


@dataclass
class Change:
    kind: str
    hours_ago: float
    actor: str = ""
    note: str = ""


@dataclass
class DemoGroup:
    key: str
    title: str
    culprit: str
    level: str = "error"
    exc_type: str = ""
    exc_value: str = ""
    logger: str = ""
    message: str = ""
    frames: str = ""
    url: str = "/"
    query: str = ""
    method: str = "GET"
    #: Events per busy hour, and the hours (ago) during which the error happened: [(from, to), ...].
    rate: float = 1.0
    active: list[tuple[int, int]] = field(default_factory=lambda: [(HOURS, 0)])
    status: str = ErrorGroup.Status.UNRESOLVED
    changes: list[Change] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    shared_request: str = ""


GROUPS = [
    DemoGroup(
        key="cart-keyerror",
        title="KeyError: 'sku'",
        culprit="shop.cart.views in add_item",
        exc_type="KeyError",
        exc_value="'sku'",
        frames="cart",
        url="/cart/add/",
        method="POST",
        rate=1.2,
        tags={"browser": "Firefox 133"},
    ),
    DemoGroup(
        key="payment-timeout",
        title="TimeoutError: payment gateway did not answer within 10 s",
        culprit="shop.payments.gateway in charge",
        exc_type="TimeoutError",
        exc_value="payment gateway did not answer within 10 s",
        frames="payment",
        url="/checkout/pay/",
        method="POST",
        rate=2.0,
        active=[(26 * 24, 6 * 24 + 2), (2 * 24 - 3, 0)],
        changes=[
            Change("resolved", 6 * 24, "alice", "in release 1.4.1"),
            Change("regressed", 2 * 24 - 3, "", "new event in release 1.4.2"),
        ],
        tags={"gateway": "acme-pay"},
        shared_request="c0ffee0000000000000000000000beef",
    ),
    DemoGroup(
        key="order-not-charged",
        title="order %s could not be charged",
        culprit="/checkout/pay/",
        logger="shop.orders",
        message="order {n} could not be charged",
        url="/checkout/pay/",
        method="POST",
        rate=0.6,
        active=[(26 * 24, 6 * 24 + 2), (2 * 24 - 3, 0)],
        shared_request="c0ffee0000000000000000000000beef",
    ),
    DemoGroup(
        key="db-refused",
        title="OperationalError: could not connect to server: Connection refused",
        culprit="shop.catalog.views in product_list",
        exc_type="OperationalError",
        exc_value="could not connect to server: Connection refused",
        frames="database",
        url="/products/",
        rate=140.0,
        active=[(9 * 24, 9 * 24 - 1)],
        status=ErrorGroup.Status.RESOLVED,
        changes=[Change("resolved", 9 * 24 - 3, "bob", "in release 1.4.0")],
    ),
    DemoGroup(
        key="webhook-signature",
        title="Stripe webhook signature mismatch for event %s",
        culprit="/webhooks/stripe/",
        logger="shop.webhooks",
        message="Stripe webhook signature mismatch for event evt_{n}",
        url="/webhooks/stripe/",
        method="POST",
        rate=4.0,
        status=ErrorGroup.Status.MUTED,
        changes=[Change("muted", 20 * 24, "alice", "until 500 more events")],
    ),
    DemoGroup(
        key="page-valueerror",
        title="ValueError: invalid literal for int() with base 10: 'abc'",
        culprit="shop.catalog.views in product_list",
        exc_type="ValueError",
        exc_value="invalid literal for int() with base 10: 'abc'",
        frames="paging",
        url="/products/",
        query="page=abc",
        rate=3.0,
        active=[(5, 0)],
    ),
]


def fingerprint(key: str) -> str:
    return hashlib.sha256(f"django-observe demo: {key}".encode()).hexdigest()


def demo_fingerprints() -> list[str]:
    return [fingerprint(group.key) for group in GROUPS]


def release_at(hours_ago: float) -> str:
    for older_than, release in RELEASES:
        if hours_ago > older_than:
            return release
    return RELEASES[-1][1]


def hourly_counts(group: DemoGroup, anchor: datetime.datetime) -> dict[int, int]:
    """hours ago -> events, for every hour with events (from 720 hours ago to the current hour, 0)."""
    rng = random.Random(f"django-observe demo: {group.key}")
    counts = {}
    for hours_ago in range(HOURS, -1, -1):
        busy = 0.25 + 0.75 * max(0.0, 1 - abs((anchor - datetime.timedelta(hours=hours_ago)).hour - 14) / 7)
        count = int(group.rate * busy * (0.5 + rng.random()) + rng.random())
        if any(start >= hours_ago >= end for start, end in group.active) and count:
            counts[hours_ago] = count
    if group.shared_request and min(end for _, end in group.active) == 0:
        counts[0] = max(counts.get(0, 0), 1)  # the two errors of one request, minutes ago
    return counts


def remove() -> int:
    """Delete the demo's error groups (with their events, hourly counts and history)."""
    return ErrorGroup.objects.filter(fingerprint__in=demo_fingerprints()).delete()[0]


@transaction.atomic
def fill(anchor: datetime.datetime, now: datetime.datetime | None = None) -> dict[str, int]:
    """Replace the demo error groups; returns row counts written. Events of the current hour are not in the future."""
    remove()
    at = _times(anchor, now or timezone.now())
    written = {"groups": 0, "events": 0, "hourly": 0, "changes": 0}
    environment = get_settings().ENVIRONMENT
    for spec in GROUPS:
        counts = hourly_counts(spec, anchor)
        if not counts:
            continue
        first_hour, last_hour = max(counts), min(counts)
        group = ErrorGroup.objects.create(
            fingerprint=fingerprint(spec.key),
            title=spec.title,
            culprit=spec.culprit,
            level=spec.level,
            exc_type=spec.exc_type,
            logger=spec.logger,
            first_seen=at(first_hour, 7),
            last_seen=at(last_hour, 52),
            count=sum(counts.values()),
            status=spec.status,
            last_release=release_at(last_hour),
            last_environment=environment,
        )
        _apply_lifecycle(group, spec, at, first_hour)
        ErrorGroupHourly.objects.bulk_create(
            ErrorGroupHourly(group=group, hour=anchor - datetime.timedelta(hours=h), count=c, stored=0) for h, c in counts.items()
        )
        sampled = _sample_hours(counts)
        events = [_event(group, spec, at(h, minute), h, n, environment, h == last_hour) for n, (h, minute) in enumerate(sampled)]
        ErrorEvent.objects.bulk_create(events)
        for h in {h for h, _ in sampled}:
            ErrorGroupHourly.objects.filter(group=group, hour=anchor - datetime.timedelta(hours=h)).update(
                stored=sum(1 for hour, _ in sampled if hour == h)
            )
        written["groups"] += 1
        written["events"] += len(events)
        written["hourly"] += len(counts)
        written["changes"] += group.changes.count()
    return written


def _times(anchor: datetime.datetime, now: datetime.datetime) -> Any:
    def at(hours_ago: float, minute: int) -> datetime.datetime:
        return min(anchor - datetime.timedelta(hours=hours_ago) + datetime.timedelta(minutes=minute), now)

    return at


def _apply_lifecycle(group: ErrorGroup, spec: DemoGroup, at: Any, first_hour: int) -> None:
    history = [Change("created", first_hour), *spec.changes]
    ErrorGroupChange.objects.bulk_create(
        ErrorGroupChange(
            group=group,
            kind=change.kind,
            actor=change.actor,
            note=change.note,
            at=at(change.hours_ago, 7 if change.kind == "created" else 30),
        )
        for change in history
    )
    for change in spec.changes:
        if change.kind == "resolved" and spec.status == ErrorGroup.Status.RESOLVED:
            group.resolved_at = at(change.hours_ago, 30)
            group.resolved_in_release = change.note.removeprefix("in release ") if change.note.startswith("in release") else ""
        if change.kind == "regressed":
            group.regressed_at = at(change.hours_ago, 30)
        if change.kind == "muted":
            group.muted_until_count = group.count + 500
    group.save()


def _sample_hours(counts: dict[int, int]) -> list[tuple[int, int]]:
    """(hours ago, minute) of the stored samples: the first event, then spread out, the newest last."""
    hours = sorted(counts, reverse=True)
    picks = [hours[0]] + hours[len(hours) // 3 :: max(1, len(hours) // 4)] + [hours[-1]]
    seen: list[int] = []
    for hour in picks:
        if hour not in seen:
            seen.append(hour)
    return [(hour, 7 if i == 0 else 52 if hour == hours[-1] else 23) for i, hour in enumerate(seen)]


def _event(
    group: ErrorGroup, spec: DemoGroup, moment: datetime.datetime, hours_ago: int, n: int, environment: str, newest: bool
) -> ErrorEvent:
    release = release_at(hours_ago)
    request_id = (
        spec.shared_request if spec.shared_request and newest else uuid.UUID(int=random.Random(f"{spec.key}:{n}").getrandbits(128)).hex
    )
    event_id = uuid.UUID(int=random.Random(f"{spec.key}:event:{n}").getrandbits(128))
    number = 4100 + hours_ago % 900
    data: dict[str, Any] = {
        "level": spec.level,
        "request": {
            "url": f"https://shop.example.com{spec.url}",
            "method": spec.method,
            "query_string": spec.query,
            "headers": {
                "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
                "Cookie": "[Filtered]",
                "X-Request-Id": request_id,
            },
        },
        "transaction": spec.url,
        "environment": environment,
        "release": release,
        "server_name": f"web-{1 + n % 2}",
        "platform": "python",
        "tags": {"request_id": request_id, "release": release, **spec.tags},
        "extra": {"demo": "generated by manage.py observe_demo", **spec.extra},
    }
    if spec.frames:
        data["exception"] = {
            "values": [
                {
                    "type": spec.exc_type,
                    "value": spec.exc_value,
                    "module": FRAMES[spec.frames]["module"],
                    "mechanism": {"type": "django_observe", "handled": False},
                    "stacktrace": {"frames": FRAMES[spec.frames]["frames"]},
                }
            ]
        }
    else:
        data["logger"] = spec.logger
        data["logentry"] = {"message": spec.title, "formatted": spec.message.format(n=number), "params": [str(number)]}
    return ErrorEvent(
        group=group,
        event_id=event_id,
        timestamp=moment,
        level=spec.level,
        request_id=request_id,
        transaction=spec.url,
        release=release,
        environment=environment,
        user_id=str(1000 + n * 37 % 500),
        server_name=data["server_name"],
        data=data,
    )
