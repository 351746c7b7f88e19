"""The JSON line of a plain event, written directly: what ``ObserveFormatter.render(complete(...))`` gives, faster.

The access line of a request that went well and Celery's task lines have flat fields (strings,
numbers, booleans, None) under known keys. For those the line is put together from a cached
head (event, level, logger), the timestamp, each field, the context (request id, user id, task)
and a cached tail (service, environment, version): no event dict, no JSONEncoder, the redaction
of the formatter applied field by field. It saves ~50k instructions per access line
(bench/callgrind.py). Anything this cannot render exactly as the formatter would (a structlog
context bound, an exception, a nested value, a key the formatter treats specially, the console
format) makes ``plain_json_line`` return None and the caller takes the formatter's path. The two
paths write the same bytes (tests/test_logging.py compares them); change both together.
"""

from __future__ import annotations

import logging
import math
from json.encoder import encode_basestring  # the encoder JSONEncoder(ensure_ascii=False) uses
from typing import Any

import structlog

from .. import context, tracing
from .._compat import structlog_context_used
from ..conf import get_settings, on_change
from ..redact import FILTERED, SecretWords, configured_words
from .formatter import OWN_KEYS, timestamp

# Keys complete() sets, pops or treats on its own: a field named like this takes the formatter's path.
_SPECIAL = frozenset(
    {"level", "logger", "timestamp", "exc_info", "stack_info", "server_time", "color_message", "service", "environment", "version"}
)
_CACHE_LIMIT = 512  # events and keys are a small fixed set; a flood of distinct ones is not cached


class _Plain:
    """What a line needs from the settings, built once per settings change."""

    def __init__(self) -> None:
        conf = get_settings()
        self.words: SecretWords = configured_words()
        self.trace_ids: bool = conf.TRACE_IDS
        self.tail = f', "service": {_text(conf.SERVICE_NAME)}, "environment": {_text(conf.ENVIRONMENT)}, "version": {_text(conf.VERSION)}'
        self.heads: dict[tuple[str, int, str], str | None] = {}
        self.keys: dict[str, str | None] = {}
        self.routes: dict[tuple[str, str], str] = {}  # (method, route) -> their part of the access line

    def head(self, name: str, level: int, event: str) -> str | None:
        """``{"event": ..., "level": ..., "logger": ..., "timestamp": "`` (the event scrubbed as the formatter does)."""
        found = self.heads.get((name, level, event), "")
        if found == "":
            found = None
            if not self.words.is_secret_key("event"):
                shown, levelname = _text(self.words.scrub_string(event)), _text(logging.getLevelName(level).lower())
                found = f'{{"event": {shown}, "level": {levelname}, "logger": {_text(name)}, "timestamp": "'
            if len(self.heads) < _CACHE_LIMIT:
                self.heads[(name, level, event)] = found
        return found

    def key(self, key: str) -> str | None:
        """``, "key": `` for a key the formatter leaves alone (ours), else None."""
        found = self.keys.get(key, "")
        if found == "":
            found = f", {_text(key)}: " if key in OWN_KEYS and key not in _SPECIAL else None
            if len(self.keys) < _CACHE_LIMIT:
                self.keys[key] = found
        return found


class _State:
    plain: _Plain | None = None


_state = _State()


@on_change()
def _settings_changed() -> None:
    _state.plain = None


def _text(value: str) -> str:
    return encode_basestring(value)


def _value(value: Any) -> str | None:
    """The JSON of a flat value as JSONEncoder writes it, or None for anything else."""
    kind = value.__class__
    if kind is str:
        return _text(value)
    if kind is int:
        return int.__repr__(value)
    if kind is float:
        return float.__repr__(value) if math.isfinite(value) else None
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return None


def _other(words: SecretWords, key: str, value: Any) -> str | None:
    """``, "key": value`` for a key that is not ours: redacted as ``redact_secrets`` does."""
    if key.__class__ is not str or key in _SPECIAL:
        return None
    if words.is_secret_key(key):
        if value not in (None, "", FILTERED):
            value = FILTERED
    elif value.__class__ is str:
        value = words.scrub_string(value)
    encoded = _value(value)
    return None if encoded is None else f", {_text(key)}: {encoded}"


def plain_json_line(name: str, level: int, fields: dict[str, Any], created: float) -> str | None:
    """The formatter's JSON line for ``fields`` (``event`` among them), or None when only the formatter can write it.

    ``fields`` is not changed. The caller has checked that the line is JSON and has no exception.
    """
    if structlog_context_used() and structlog.contextvars.get_contextvars():
        return None  # keys bound for this request or task: complete() merges them
    plain = _state.plain
    if plain is None:
        plain = _state.plain = _Plain()
    event = fields.get("event", "")
    if event.__class__ is not str:
        return None
    head = plain.heads.get((name, level, event)) or plain.head(name, level, event)
    if head is None:
        return None
    parts = [head, timestamp(created), '"']
    keys = plain.keys
    encoded: str | None
    for key, value in fields.items():
        if key == "event":
            continue
        prefix = keys.get(key, "") or plain.key(key)
        if prefix is None:
            other = _other(plain.words, key, value)
            if other is None:
                return None
            parts.append(other)
            continue
        # _value(), inlined for the common kinds: this loop runs for every field of every access line
        kind = value.__class__
        if kind is str:
            encoded = encode_basestring(value)
        elif kind is int:
            encoded = int.__repr__(value)
        else:
            encoded = _value(value)
            if encoded is None:
                return None
        parts.append(prefix)
        parts.append(encoded)
    # add_context(), in its order; a field of the line wins (setdefault).
    request_id = context.request_id_var.get()
    if request_id is not None:
        if "request_id" not in fields:
            if request_id.__class__ is not str:
                return None
            parts.append(f', "request_id": {_text(request_id)}')
        user_id = context.get_user_id()
        if user_id is not None and "user_id" not in fields:
            encoded = _value(user_id)
            if encoded is None:
                return None
            parts.append(f', "user_id": {encoded}')
    task_id = context.task_id_var.get()
    if task_id is not None:
        for key, value in (("task_id", task_id), ("task_name", context.task_name_var.get())):
            if key not in fields:
                encoded = _value(value)
                if encoded is None:
                    return None
                parts.append(f', "{key}": {encoded}')
    parts.append(plain.tail)
    if plain.trace_ids:
        ids = tracing.current_ids()
        if ids is not None:
            for key, value in (("trace_id", ids[0]), ("span_id", ids[1])):
                if key not in fields:
                    parts.append(f', "{key}": {_text(value)}')
    parts.append("}")
    return "".join(parts)


def access_json_line(
    name: str, level: int, request_text: str, method: str, route: str, code: int, duration_ms: float, created: float
) -> str | None:
    """The ``request_finished`` line of the default shape (request, method, route, code, duration_ms), as
    ``plain_json_line`` writes it, in one f-string; None when only the general paths can write it."""
    if structlog_context_used() and structlog.contextvars.get_contextvars():
        return None
    plain = _state.plain
    if plain is None:
        plain = _state.plain = _Plain()
    head = plain.heads.get((name, level, "request_finished")) or plain.head(name, level, "request_finished")
    request_id = context.request_id_var.get()
    if head is None or request_id.__class__ is not str or code.__class__ is not int or duration_ms.__class__ is not float:
        return None
    if context.task_id_var.get() is not None or not math.isfinite(duration_ms):
        return None
    route_part = plain.routes.get((method, route))
    if route_part is None:
        route_part = f', "method": {_text(method)}, "route": {_text(route)}'
        if len(plain.routes) < _CACHE_LIMIT:  # routes are bounded (URL patterns), like the metric labels
            plain.routes[(method, route)] = route_part
    user_part = ""
    user_id = context.get_user_id()
    if user_id is not None:
        encoded = _value(user_id)
        if encoded is None:
            return None
        user_part = f', "user_id": {encoded}'
    trace_part = ""
    if plain.trace_ids:
        ids = tracing.current_ids()
        if ids is not None:
            trace_part = f', "trace_id": {_text(ids[0])}, "span_id": {_text(ids[1])}'
    return (
        f'{head}{timestamp(created)}", "request": {encode_basestring(request_text)}{route_part}, "code": {int.__repr__(code)}, '
        f'"duration_ms": {float.__repr__(duration_ms)}, "request_id": {encode_basestring(request_id)}{user_part}{plain.tail}{trace_part}}}'
    )
