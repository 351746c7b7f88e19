"""Demo data for a first look at the admin: 30 days of health history and error groups, written directly.

Used by ``manage.py observe_demo``. Everything here is generated, needs none of the host's
URLs, and is recognisable so that a second run replaces it instead of adding to it:
health runs have the trigger ``demo``, demo incidents carry ``DEMO_MARK`` in their message,
and demo error groups have the fingerprints ``errors.demo_fingerprints()`` lists. Times are
anchored to the start of the current hour, so two runs give the same number of rows.
"""

from __future__ import annotations

import datetime

from django.utils import timezone

#: Written into the message of every demo health result and incident, shown in the admin.
DEMO_MARK = "(demo data)"


def anchor(now: datetime.datetime | None = None) -> datetime.datetime:
    """The start of the current hour (UTC): every demo time is an offset from it."""
    moment = (now or timezone.now()).astimezone(datetime.UTC)
    return moment.replace(minute=0, second=0, microsecond=0)
