"""Every OBSERVE key: its default, its one-line doc, its validator, its env var, its section and check id.

The keys live in per-capability tables (``options_web.py``: identity, request ids, logging, metrics;
``options_services.py``: health, errors, Sentry, tracing, auth, outbound calls, Celery); ``DEFAULTS`` joins
them in a fixed order, which is the order of docs/settings.md (``python -m django_observe.conf > docs/settings.md``)
and of ``ObserveSettings``' fields.
"""

from __future__ import annotations

from collections.abc import Mapping

from .option import Option
from .options_services import (
    AUTH_OPTIONS,
    CELERY_OPTIONS,
    ERRORS_OPTIONS,
    HEALTH_OPTIONS,
    OUTBOUND_OPTIONS,
    SEED_HEALTH_OPTIONS,
    SENTRY_OPTIONS,
    TRACING_OPTIONS,
)
from .options_web import (
    DEFAULT_REDACT_KEYS,
    IDENTITY_OPTIONS,
    LOGGING_OPTIONS,
    METRICS_OPTIONS,
    REQUEST_IDS_OPTIONS,
    SEED_LOGGING_OPTIONS,
)

__all__ = ["DEFAULTS", "DEFAULT_REDACT_KEYS", "Option"]


def _join(*tables: Mapping[str, Option]) -> dict[str, Option]:
    """The tables in order, as one dict; a key in two tables is a mistake a merge would hide, so it raises."""
    joined: dict[str, Option] = {}
    for table in tables:
        for key, option in table.items():
            if key in joined:
                raise ValueError(f"OBSERVE key {key!r} is defined in two option tables")
            joined[key] = option
    return joined


# Each key: default, doc (rendered into docs/settings.md), validator, env var, section. The seed-shaped tables come
# after the others because that is where their keys were added (the settings page and the typed fields keep this order).
DEFAULTS: dict[str, Option] = _join(
    IDENTITY_OPTIONS,
    REQUEST_IDS_OPTIONS,
    LOGGING_OPTIONS,
    METRICS_OPTIONS,
    HEALTH_OPTIONS,
    ERRORS_OPTIONS,
    SENTRY_OPTIONS,
    TRACING_OPTIONS,
    AUTH_OPTIONS,
    OUTBOUND_OPTIONS,
    SEED_LOGGING_OPTIONS,
    SEED_HEALTH_OPTIONS,
    CELERY_OPTIONS,
)
