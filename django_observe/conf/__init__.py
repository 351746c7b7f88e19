"""The OBSERVE settings: defaults, env-var fallbacks, validation, a cached accessor.

Precedence for every key: the key in ``settings.OBSERVE``, then its environment
variable (when it has one), then the default. ``problems()`` is the one validator:
``checks.py`` turns its findings into system-check errors. ``get_settings()`` never
raises: gunicorn and uvicorn run no checks, and a typo in one key must not stop the
host's site, so an invalid value is replaced by its default and ``report_invalid()``
(called at startup) writes one ERROR line per invalid key and counts it.

``on_change()`` is the one reset hook: a part that caches something derived from
settings registers a callback together with the Django settings it depends on.

This module is at the bottom of the layers: it imports nothing else of ours but the guard.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, TypeVar

from django.conf import settings as django_settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from .. import guard
from .options import DEFAULT_REDACT_KEYS, DEFAULTS, Option
from .typed import ObserveSettings
from .validators import Validator, got, parse_network

__all__ = [
    "DEFAULTS",
    "DEFAULT_REDACT_KEYS",
    "ObserveSettings",
    "Option",
    "Problem",
    "Validator",
    "get_settings",
    "on_change",
    "parse_network",
    "problems",
    "render_reference",
    "report_invalid",
    "unknown_keys",
]

logger = logging.getLogger("django_observe")


def _env_value(option: Option) -> Any:
    """The option's env var, converted to the default's type; a bad string stays a string so problems() names it."""
    raw = os.environ.get(option.env) if option.env else None
    if raw is None or raw == "":
        return None
    default = option.default
    if isinstance(default, bool):
        lowered = raw.strip().lower()
        return {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}.get(lowered, raw)
    if isinstance(default, (int, float)):
        try:
            return float(raw) if isinstance(default, float) else int(raw)
        except ValueError:
            return raw
    if isinstance(default, list):
        return [item.strip() for item in raw.split(",") if item.strip()]
    return raw


def _user_dict() -> Any:
    return getattr(django_settings, "OBSERVE", {})


class Problem(NamedTuple):
    """One wrong OBSERVE value: the key (None for OBSERVE itself), a sentence with the fix, the check id."""

    key: str | None
    message: str
    check_id: str = "django_observe.E001"


def _raw_values(user: Mapping[str, Any]) -> dict[str, tuple[Any, bool]]:
    """key -> (value, from OBSERVE?) for every key set in OBSERVE or in its environment variable."""
    found: dict[str, tuple[Any, bool]] = {}
    for key, option in DEFAULTS.items():
        if key in user:
            found[key] = (user[key], True)
        else:
            value = _env_value(option)
            if value is not None:
                found[key] = (value, False)
    return found


def problems(user: Any = None) -> list[Problem]:
    """Every problem with OBSERVE (and the env vars it falls back to), each a sentence that says the fix."""
    if user is None:
        user = _user_dict()
    if not isinstance(user, Mapping):
        return [Problem(None, f"settings.OBSERVE must be a dict, got {got(user)}. Use e.g. OBSERVE = {{}}.")]
    found = []
    for key, (value, from_observe) in _raw_values(user).items():
        option = DEFAULTS[key]
        message = option.validate(key, value)
        if message and not from_observe and option.env:
            message = f"Environment variable {option.env}: " + message.replace(f"OBSERVE['{key}']", f"the value for OBSERVE['{key}']")
        if message:
            found.append(Problem(key, message, option.check_id))
    bad = {problem.key for problem in found}
    merged = _merge(user, skip=bad)
    for what in ("DISK", "MEMORY"):
        warn, fail = f"HEALTH_{what}_WARN_PERCENT", f"HEALTH_{what}_FAIL_PERCENT"
        if merged[warn] > merged[fail]:
            found.append(Problem(warn, f"OBSERVE['{warn}'] must not be above OBSERVE['{fail}']."))
    return found


def unknown_keys(user: Any = None) -> list[tuple[str, str | None]]:
    """(unknown key, closest valid key or None) for every key of OBSERVE we do not know."""
    if user is None:
        user = _user_dict()
    if not isinstance(user, Mapping):
        return []
    return [(str(key), next(iter(difflib.get_close_matches(str(key), DEFAULTS, n=1)), None)) for key in user if key not in DEFAULTS]


_FIELD_TYPES = {field.name: field.type for field in dataclasses.fields(ObserveSettings)}


def _typed(key: str, value: Any) -> Any:
    """``value`` in the field's type: lists as tuples, whole numbers as floats where a float is declared."""
    if isinstance(value, list):
        value = tuple(value)
    declared = _FIELD_TYPES.get(key)
    if declared == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if declared == "tuple[float, ...]":
        return tuple(float(item) for item in value)
    return value


def _merge(user: Mapping[str, Any], skip: set[str | None] | frozenset[str | None] = frozenset()) -> dict[str, Any]:
    """Every key's value (OBSERVE, else env, else default); keys in ``skip`` (invalid ones) take their default."""
    raw = _raw_values(user)
    values: dict[str, Any] = {}
    for key, option in DEFAULTS.items():
        value = raw[key][0] if key in raw and key not in skip else option.default
        values[key] = _typed(key, value)
    if "ENVIRONMENT" not in raw and os.environ.get("APP_ENV"):
        values["ENVIRONMENT"] = os.environ["APP_ENV"]  # the name some guides use
    if "LOG_FORMAT" not in raw or "LOG_FORMAT" in skip:
        # Unset: human-readable where people read it, JSON everywhere else.
        values["LOG_FORMAT"] = "console" if str(values["ENVIRONMENT"]).lower() == "development" else "json"
    values["LOG_FORMAT"] = str(values["LOG_FORMAT"]).lower().replace("text", "console")
    values["LOG_LEVEL"] = str(values["LOG_LEVEL"]).upper()
    values["VERSION"] = values["VERSION"] or os.environ.get("RELEASE_VERSION", "") or os.environ.get("APP_VERSION", "") or "unknown"
    values["SENTRY_ENVIRONMENT"] = values["SENTRY_ENVIRONMENT"] or values["ENVIRONMENT"]
    values["REDACT_KEYS"] = tuple(k.lower() for k in (*values["REDACT_KEYS"], *values["EXTRA_REDACT_KEYS"]))
    return values


@functools.cache
def _load() -> tuple[ObserveSettings, tuple[Problem, ...]]:
    raw = _user_dict()
    found = tuple(problems(raw))
    user = raw if isinstance(raw, Mapping) else {}
    bad = {problem.key for problem in found}
    return ObserveSettings(**_merge(user, skip=bad)), found


def get_settings() -> ObserveSettings:
    """The merged settings, cached until ``OBSERVE`` changes. Never raises: an invalid value is
    replaced by its default (``manage.py check`` reports it; ``report_invalid()`` logs it)."""
    return _load()[0]


def _clear_cache() -> None:
    _load.cache_clear()


get_settings.cache_clear = _clear_cache  # type: ignore[attr-defined]  # tests and old callers: get_settings.cache_clear()

_reported: set[str] = set()


def report_invalid() -> list[Problem]:
    """One ERROR line per invalid key (once per process), counted in ``observe_internal_errors_total{component="settings"}``.

    Called from ``ready()`` and after OBSERVE changes: servers run no system checks, so this is
    how a wrong value running in production gets noticed.
    """
    found = list(_load()[1])
    for problem in found:
        key = problem.key or "OBSERVE"
        if key in _reported:
            continue
        _reported.add(key)
        guard.report(
            "settings",
            message=f"Invalid setting {key}, so its default is used: {problem.message} ({problem.check_id})",
            exc_info=False,
            level=logging.ERROR,
            once=False,
        )
    return found


# --- the one reset hook -------------------------------------------------------------------

_Callback = TypeVar("_Callback", bound=Callable[[], None])
_listeners: list[tuple[tuple[str, ...], Callable[[], None]]] = []


def on_change(*settings: str) -> Callable[[_Callback], _Callback]:
    """Decorator: run the callback when one of these Django settings changes (``override_settings``).

    ``@on_change()`` means ``@on_change("OBSERVE")``; a name ending in ``*`` is a prefix
    (``"CELERY_*"``). The settings accessor itself is always reset first.
    """
    names = settings or ("OBSERVE",)

    def register(callback: _Callback) -> _Callback:
        _listeners.append((names, callback))
        return callback

    return register


def _matches(setting: str, names: tuple[str, ...]) -> bool:
    return any(setting == name or (name.endswith("*") and setting.startswith(name[:-1])) for name in names)


@receiver(setting_changed)  # from django.core.signals: importing django.test here would load the test runner
def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "OBSERVE":
        _load.cache_clear()
        _reported.clear()
    for names, callback in list(_listeners):
        if _matches(setting, names):
            callback()


def render_reference() -> str:
    """docs/settings.md, generated from DEFAULTS (a test fails when the committed file differs)."""
    lines = [
        "# Settings reference",
        "",
        "<!-- Generated by `python -m django_observe.conf > docs/settings.md`; do not edit by hand. -->",
        "",
        "Most projects set nothing: `OBSERVE = {}` gives every default below. Do not copy the",
        "defaults into your settings; set only the keys you want to change. Precedence for every key:",
        "the key in `OBSERVE`, then its environment variable (when it has one), then the default.",
        "A wrong type or value fails `manage.py check` (ids in [checks](checks.md)); servers run no checks,",
        "so at run time the key takes its default and one ERROR line names it (counted in",
        '`observe_internal_errors_total{component="settings"}`).',
        "",
    ]
    sections: dict[str, list[tuple[str, Option]]] = {}
    for key, option in DEFAULTS.items():
        sections.setdefault(option.section, []).append((key, option))
    for section, items in sections.items():
        lines += [f"## {section}", "", "| key | default | env var | meaning |", "|---|---|---|---|"]
        for key, option in items:
            default = repr(option.default) if option.default != "" else "`''`"
            if option.default != "":
                default = f"`{default}`"
            env = f"`{option.env}`" if option.env else ""
            lines.append(f"| `{key}` | {default} | {env} | {option.doc} |")
        lines.append("")
    return "\n".join(lines)
