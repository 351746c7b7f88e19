"""Grouping: which stored errors are "the same problem".

The key is ``sha256(json([GROUPING_VERSION, *parts]))``; the version is stored on
the group so a future change of the rules never merges or splits old groups silently.
Parts, first match wins:

1. the event's own ``fingerprint`` (Sentry-compatible; ``{{ default }}`` expands),
2. an exception: the last raised ``module.Type`` plus its in-app ``(module, function)``
   frames -- no line numbers (an edit above the bug must not split it), recursion
   collapsed, the last 30 kept; no in-app frame: the crash frame; no frames: the
   normalized value,
3. a log record without exception: logger + the UNFORMATTED template
   (``"order %s not found"``), so parameters never split a group -- normalized too, since
   a template is often formatted already (``log.error(f"could not parse {q}")``),
4. anything else: logger + the normalized first line of the message.

Normalizing replaces UUIDs, dates, e-mails, URLs, IPs (v4 and v6), hex ids, quoted strings and
numbers with placeholders: an input-controlled value never makes a new group. What still
differs (free words) is bounded by ``ERRORS_NEW_GROUPS_PER_HOUR`` (see ``writes``).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

GROUPING_VERSION = 1
MAX_FRAMES = 30

# Most specific first: an email contains digits, a url contains an ip. A quote only opens
# or closes a string at a word's edge, so the apostrophe of "can't" is not a quote.
_NORMALIZERS = (
    (re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"), "<uuid>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b"), "<date>"),
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "<email>"),
    (re.compile(r"\b(?:https?|wss?)://\S+"), "<url>"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"), "<ip>"),
    (
        re.compile(
            r"(?<![\w:])(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}(?![\w:])|(?<![\w:])(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4})*)?::(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4})*)?(?![\w:])"
        ),
        "<ip>",
    ),
    (re.compile(r"\b0x[0-9a-fA-F]+\b|\b[0-9a-fA-F]{16,}\b|\b(?=[0-9a-fA-F]*[a-fA-F])(?=[0-9a-fA-F]*[0-9])[0-9a-fA-F]{8,}\b"), "<hex>"),
    (re.compile(r"(?<!\w)'[^'\n]*'(?!\w)|(?<!\w)\"[^\"\n]*\"(?!\w)"), "<str>"),
    (re.compile(r"(?<![\w.])-?\d+(?:\.\d+)*"), "<num>"),
)


def normalize_message(text: str | None) -> str:
    """The first line of ``text`` with ids, numbers, addresses and quoted strings replaced by placeholders."""
    stripped = (text or "").strip()
    if not stripped:
        return ""
    first = stripped.splitlines()[0][:1024]
    for pattern, placeholder in _NORMALIZERS:
        first = pattern.sub(placeholder, first)
    return first


def _frame_key(frame: dict[str, Any]) -> list[str]:
    module = frame.get("module") or str(frame.get("filename") or "").rsplit("/", 1)[-1]
    return [str(module), str(frame.get("function") or "?")]


def frames_signature(exception: dict[str, Any]) -> list[list[str]]:
    """In-app ``[module, function]`` pairs of one exception, recursion collapsed, last 30."""
    frames = (exception.get("stacktrace") or {}).get("frames") or []
    signature = [_frame_key(frame) for frame in frames if frame.get("in_app")]
    if not signature and frames:
        signature = [_frame_key(frames[-1])]
    collapsed: list[list[str]] = []
    for item in signature:
        if not collapsed or collapsed[-1] != item:
            collapsed.append(item)
    return collapsed[-MAX_FRAMES:]


def last_exception(event: dict[str, Any]) -> dict[str, Any] | None:
    """The exception raised last (sentry-sdk puts it at the end of ``exception.values``)."""
    values = (event.get("exception") or {}).get("values") or []
    return values[-1] if values else None


def exception_type(exception: dict[str, Any]) -> str:
    """``module.Type``, without the ``builtins.`` prefix."""
    return ".".join(part for part in (exception.get("module"), exception.get("type")) if part and part != "builtins")


def default_parts(event: dict[str, Any]) -> list[Any]:
    """The grouping parts of an event without a custom fingerprint."""
    exception = last_exception(event)
    if exception is not None:
        signature = frames_signature(exception)
        if signature:
            return ["exception", exception_type(exception), signature]
        return ["exception", exception_type(exception), normalize_message(exception.get("value"))]
    logentry = event.get("logentry") or {}
    template = logentry.get("message")
    if template and isinstance(template, str) and template.strip():
        return ["log", event.get("logger") or "", normalize_message(template)]
    message = logentry.get("formatted") or event.get("message")
    return ["message", event.get("logger") or "", normalize_message(message if isinstance(message, str) else str(message or ""))]


def grouping_parts(event: dict[str, Any]) -> list[Any]:
    """The versioned parts the key is computed from (shown in the admin to explain a grouping)."""
    custom = event.get("fingerprint")
    if custom and list(custom) != ["{{ default }}"]:
        parts: list[Any] = ["custom"]
        for part in custom:
            parts.append(default_parts(event) if part == "{{ default }}" else str(part))
        return [GROUPING_VERSION, *parts]
    return [GROUPING_VERSION, *default_parts(event)]


def fingerprint(event: dict[str, Any]) -> str:
    """The 64-hex-character grouping key of a (serialized, JSON-safe) sentry-sdk event."""
    raw = json.dumps(grouping_parts(event), separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()
