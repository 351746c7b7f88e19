"""Alert thresholds and the other choices a rule file is generated with.

A ``Threshold`` is declared next to the alert that uses it (``alerts.THRESHOLDS``,
``celery.THRESHOLDS``); ``observe_export`` turns each into a command-line option
(``error_ratio`` -> ``--error-ratio``) and the runbook index documents its default, so an
alert, its option and its documentation cannot go out of step.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from .names import Names, is_duration, job_selector, not_probe

Kind = Literal["ratio", "seconds", "rate", "bytes", "count", "duration"]

DEFAULT_RUNBOOK_URL = "https://github.com/django-observe/django-observe/blob/main/docs/runbooks/{slug}.md"

_KIND_HELP: dict[str, str] = {
    "ratio": "a ratio above 0 and at most 1, e.g. 0.05",
    "seconds": "a number of seconds above 0, e.g. 0.5",
    "rate": "a number per second, 0 or more, e.g. 0.1",
    "bytes": "a size above 0 in bytes, optionally with Ki, Mi, Gi (1024) or K, M, G (1000), e.g. 1Gi",
    "count": "a whole number, 0 or more",
    "duration": "a Prometheus duration such as 30s, 5m or 1h",
}
_BYTE_UNITS = {"": 1, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4}
_BYTES = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?(?:[eE][0-9]+)?)\s*(Ki|Mi|Gi|Ti|K|M|G|T)?B?\s*$")


@dataclasses.dataclass(frozen=True)
class Threshold:
    """One alert threshold: its key (``error_ratio`` -> ``--error-ratio``), default, meaning and kind."""

    key: str
    default: Any
    doc: str
    kind: Kind
    #: The default as the docs should say it when it comes from settings (``default`` is then a callable).
    default_doc: str = ""

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")

    def default_value(self, conf: Any, chosen: Mapping[str, Any]) -> Any:
        """The default for this run: a constant, or computed from the settings and the thresholds chosen so far."""
        return self.default(conf, chosen) if callable(self.default) else self.default

    def documented_default(self) -> str:
        return self.default_doc or format_value(self.kind, self.default)

    def parse(self, raw: Any) -> Any:
        """The checked value of ``raw`` (a string from the command line, or a number); ValueError otherwise."""
        value = _parse(self.kind, raw)
        if value is None:
            raise ValueError(f"{self.flag} must be {_KIND_HELP[self.kind]}; got {raw!r}.")
        return value


def _parse(kind: Kind, raw: Any) -> Any:
    if kind == "duration":
        return raw if isinstance(raw, str) and is_duration(raw) else None
    if kind == "bytes":
        match = _BYTES.match(str(raw))
        if not match:
            return None
        number = float(match.group(1)) * _BYTE_UNITS[match.group(2) or ""]
        return int(number) if math.isfinite(number) and number >= 1 else None
    try:
        number = float(raw)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    if kind == "ratio":
        return number if 0 < number <= 1 else None
    if kind == "seconds":
        return number if number > 0 else None
    if kind == "rate":
        return number if number >= 0 else None
    if kind == "count":
        return int(number) if number >= 0 and number == int(number) else None
    raise AssertionError(kind)  # pragma: no cover


def format_value(kind: Kind, value: Any) -> str:
    """A threshold as PromQL and the docs write it (``0.05``, ``1073741824``, ``5m``)."""
    if kind == "duration":
        return str(value)
    if kind in ("bytes", "count"):
        return str(int(value))
    return f"{float(value):g}"


@dataclasses.dataclass(frozen=True)
class RuleOptions:
    """Everything a rule file depends on besides the metric definitions."""

    namespace: str = ""
    job: str = "django"
    #: Range of every rate() in rules and alerts (``rate5m`` in the recording-rule names).
    window: str = "5m"
    #: Replaces every alert's own ``for:`` (a drill, or a test that cannot wait minutes); None keeps them.
    for_override: str | None = None
    runbook_url: str = DEFAULT_RUNBOOK_URL
    thresholds: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    #: OBSERVE['HEALTH_PATH']: the probes under it are left out of the HTTP rules.
    health_path: str = "health"


class Context:
    """What an alert or panel builder gets: the names, the job selector and the chosen thresholds."""

    def __init__(self, options: RuleOptions) -> None:
        self.options = options
        self.m = Names(options.namespace)
        self.sel = job_selector(options.job)
        #: The job's application requests: ``sel`` without the health probes (for the HTTP metrics).
        self.app = f"{self.sel},{not_probe(options.health_path)}"
        self.window = options.window
        self.t = options.thresholds

    def value(self, key: str, kind: Kind) -> str:
        """Threshold ``key`` written into PromQL."""
        return format_value(kind, self.t[key])


def resolve_thresholds(thresholds: tuple[Threshold, ...], given: Mapping[str, Any], conf: Any) -> dict[str, Any]:
    """Every threshold's value: ``given`` (parsed and range-checked) or its default; ValueError on a bad one."""
    chosen: dict[str, Any] = {}
    for threshold in thresholds:
        raw = given.get(threshold.key)
        chosen[threshold.key] = threshold.parse(raw) if raw is not None else threshold.default_value(conf, chosen)
    return chosen


ThresholdDefault = Callable[[Any, Mapping[str, Any]], Any]
