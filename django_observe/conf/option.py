"""``Option``: what the settings layer knows about one OBSERVE key (the tables in ``options_*.py`` are made of them)."""

from __future__ import annotations

import dataclasses
from typing import Any

from .validators import Validator


@dataclasses.dataclass(frozen=True)
class Option:
    """One OBSERVE key: its default, a one-line doc, its env var and its validator."""

    default: Any
    doc: str
    validate: Validator
    env: str | None = None
    section: str = "General"
    #: The system check id a wrong value of this key is reported under.
    check_id: str = "django_observe.E001"
