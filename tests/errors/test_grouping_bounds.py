"""Input cannot grow the error tables without bound (issue 12, item 6).

- ``log.error(f"could not parse {q}")`` with 1,000 distinct values is one group counted 1,000:
  the template of a log record is normalized like an exception message (numbers, hex ids,
  UUIDs, IPs, e-mails, quoted strings, dates). Before, every value made its own group.
- ``ERRORS_NEW_GROUPS_PER_HOUR`` caps new groups: beyond it events of new groups land in one
  overflow group and ``observe_internal_errors_total{component="errors_overflow"}``; every
  event is counted somewhere. Before, there was no cap.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from prometheus_client import REGISTRY

from django_observe.errors import intake
from django_observe.errors.writes import OVERFLOW_TITLE
from django_observe.models import ErrorGroup

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sync_errors")]

log = logging.getLogger("shop.importer")


def internal_errors(component: str) -> float:
    return REGISTRY.get_sample_value("observe_internal_errors_total", {"component": component}) or 0.0


def test_a_thousand_formatted_values_are_one_group_counted_a_thousand() -> None:
    for number in range(1000):
        log.error(f"could not parse {number * 7919}")
    group = ErrorGroup.objects.get()
    assert (group.count, group.logger) == (1000, "shop.importer")
    assert group.title == "could not parse 0"  # the first event's own text; the key is the normalized template
    assert sum(group.hourly.values_list("count", flat=True)) == 1000


VALUES = {
    "number": lambda n: f"{n}.{n % 7}",
    "hex id": lambda n: f"0x{n * 4099:x}",
    "long hex id": lambda n: uuid.UUID(int=n + 1).hex,
    "uuid": lambda n: str(uuid.UUID(int=n + 1)),
    "ipv4": lambda n: f"10.{n % 256}.{n // 256}.7",
    "ipv6": lambda n: f"2001:db8::{n:x}",
    "e-mail": lambda n: f"user{n}@example{n % 3}.org",
    "quoted string": lambda n: f"'{chr(97 + n % 26) * (n % 5 + 1)} {n}'",
    "double-quoted string": lambda n: f'"{chr(97 + n % 26)}{chr(97 + n % 7)}"',
    "date": lambda n: f"2024-{n % 12 + 1:02d}-{n % 28 + 1:02d}T{n % 24:02d}:{n % 60:02d}:00Z",
}


@pytest.mark.parametrize("kind", list(VALUES))
def test_each_kind_of_value_in_a_formatted_message_is_one_group(kind: str) -> None:
    make = VALUES[kind]
    values = {make(n) for n in range(60)}
    assert len(values) == 60
    for value in sorted(values):
        log.error(f"could not parse {value} (from the {kind} feed)")
    assert list(ErrorGroup.objects.values_list("count", flat=True)) == [60]


def test_new_groups_beyond_the_hourly_cap_go_to_one_overflow_group(observe: Any, caplog: pytest.LogCaptureFixture) -> None:
    observe(ERRORS_NEW_GROUPS_PER_HOUR=5)
    before = internal_errors("errors_overflow")
    # Free words cannot be normalized: 20 different loggers are 20 different problems.
    for number in range(20):
        for _ in range(3):
            logging.getLogger(f"shop.module_{'abcdefghijklmnopqrst'[number]}").error("import failed")
    groups = dict(ErrorGroup.objects.values_list("logger", "count"))
    overflow = ErrorGroup.objects.get(title=OVERFLOW_TITLE)
    assert groups == {
        **{f"shop.module_{letter}": 3 for letter in "abcde"},
        overflow.logger: 15 * 3,
    }  # the first five in full, then one group
    assert sum(groups.values()) == 60  # nothing dropped
    assert internal_errors("errors_overflow") - before == 45
    assert intake.buffer.stats.overflowed == 45
    warnings = [r for r in caplog.records if r.name == "django_observe" and "ERRORS_NEW_GROUPS_PER_HOUR" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    # Known groups keep counting on their own rows beyond the cap.
    logging.getLogger("shop.module_a").error("import failed")
    assert ErrorGroup.objects.get(logger="shop.module_a").count == 4
    # The overflow group keeps samples, so the admin shows what overflowed.
    assert overflow.events.exists()
    assert {event.data["logger"] for event in overflow.events.all()} <= {f"shop.module_{letter}" for letter in "fghijklmnopqrst"}
