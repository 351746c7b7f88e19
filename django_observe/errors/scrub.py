"""A second scrubbing pass over captured events, for what sentry-sdk's EventScrubber misses.

The SDK's scrubber (always left on) filters a fixed denylist of keys in request data,
headers, cookies and frame variables. It does NOT touch query strings (``?token=abc``
survives in ``request.query_string``), header names with dashes (``X-Api-Key``), or the
project's own secret names. This pass walks the whole serialized event once:

- any mapping key that contains one of ``REDACT_KEYS`` (case-insensitive, ``-`` read as
  ``_``) gets ``[Filtered]``, at any depth (request data, JSON bodies, headers, frame
  ``vars``, ``extra``, ``contexts``, breadcrumbs);
- ``key=value`` pairs inside strings (query strings, URLs, messages) whose key is
  secret get their value filtered;
- request bodies that arrived as a string are parsed (JSON or form encoding) and
  filtered the same way; every cookie value is filtered.

It mutates and returns the event; it never raises on odd shapes.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

FILTERED = "[Filtered]"
MAX_DEPTH = 12

# Keys of the event's own structure: never secret, never filtered (a "session" context
# key or a "cookies" field would otherwise swallow whole sections by name).
_STRUCTURAL = frozenset({"exception", "values", "stacktrace", "frames", "breadcrumbs", "contexts", "request", "logentry", "cookies"})
_ALWAYS_SECRET_HEADERS = ("authorization", "cookie", "x_api_key", "proxy_authorization", "x_csrftoken", "x_auth_token")


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str, words: tuple[str, ...]) -> bool:
    """True when ``key`` (any case, ``-`` or ``_``) contains one of ``words``."""
    lowered = key.lower().replace("-", "_")
    return any(word in lowered for word in words)


@functools.lru_cache(maxsize=16)
def _patterns(words: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    alternatives = "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))
    key = r"[\w.\-\[\]]*(?:" + alternatives + r")[\w.\-\[\]]*"
    # key=value in a query string, URL or message: keep the key, drop the value.
    pair = re.compile(r"(?i)((?:^|[?&;\s,])" + key + r"=)([^&;#\s,'\"]*)")
    # password = "..." / 'token': '...' in source context lines and reprs.
    quoted = re.compile(r"(?i)(" + key + r"['\"]?\s*[:=]\s*)(['\"])([^'\"\n]*)\2")
    return pair, quoted


def scrub_string(value: str, words: tuple[str, ...]) -> str:
    """``a=1&token=abc`` -> ``a=1&token=[Filtered]``, ``password = "x"`` -> ``password = "[Filtered]"``."""
    if "=" not in value and ":" not in value:
        return value
    lowered = value.lower()
    if not any(word in lowered for word in words):  # the common case, and 50x cheaper than the regexes
        return value
    pair, quoted = _patterns(words)
    value = quoted.sub(lambda m: m.group(1) + m.group(2) + FILTERED + m.group(2) if m.group(3) and m.group(3) != FILTERED else m.group(0), value)
    if "=" in value:
        value = pair.sub(lambda m: m.group(1) + FILTERED if m.group(2) and m.group(2) != FILTERED else m.group(0), value)
    return value


def _scrub(value: Any, words: tuple[str, ...], depth: int) -> Any:
    if depth > MAX_DEPTH:
        return value
    if isinstance(value, dict):
        for key in list(value):
            item = value[key]
            if isinstance(key, str) and key not in _STRUCTURAL and is_secret_key(key, words):
                if item not in (None, "", FILTERED):
                    value[key] = FILTERED
            else:
                value[key] = _scrub(item, words, depth + 1)
        return value
    if isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = _scrub(item, words, depth + 1)
        return value
    if isinstance(value, str):
        return scrub_string(value, words)
    return value


def _scrub_body(data: Any, words: tuple[str, ...]) -> Any:
    """A body the SDK left as a string: JSON or form encoding, else the string pass."""
    if not isinstance(data, str):
        return _scrub(data, words, 0)
    text = data.strip()
    if text[:1] in ("{", "["):
        try:
            return json.dumps(_scrub(json.loads(text), words, 0))
        except ValueError:
            pass
    if "=" in text and "\n" not in text:
        pairs = parse_qsl(text, keep_blank_values=True)
        if pairs:
            return urlencode([(key, FILTERED if is_secret_key(key, words) else value) for key, value in pairs], safe="[]")
    return scrub_string(data, words)


def scrub_event(event: dict[str, Any], words: tuple[str, ...]) -> dict[str, Any]:
    """Filter secrets in ``event`` in place (see the module docstring) and return it."""
    request = event.get("request")
    if isinstance(request, dict):
        if "data" in request:
            request["data"] = _scrub_body(request["data"], words)
        headers = request.get("headers")
        if isinstance(headers, dict):
            for name in list(headers):
                if isinstance(name, str) and is_secret_key(name, _ALWAYS_SECRET_HEADERS) and headers[name]:
                    headers[name] = FILTERED
        cookies = request.get("cookies")
        if isinstance(cookies, dict):
            # Cookies are credentials more often than not (sessionid, csrftoken, remember-me).
            request["cookies"] = {name: FILTERED for name in cookies}
        elif isinstance(cookies, str) and cookies:
            request["cookies"] = FILTERED
    return _scrub(event, words, 0)
