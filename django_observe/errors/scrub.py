"""The error-event pass of the one redactor (``django_observe.redact``), for what sentry-sdk's EventScrubber misses.

The SDK's scrubber (always left on) filters a fixed denylist of keys in request data,
headers, cookies and frame variables. It does NOT touch query strings (``?token=abc``
survives in ``request.query_string``), header names with dashes (``X-Api-Key``), or the
project's own secret names. This pass applies the same rule as the log lines
(``redact.SecretWords``: keys at any depth, ``key=value`` pairs and URL credentials in strings)
to the whole serialized event, plus what only events have:

- request bodies that arrived as a string are parsed (JSON or form encoding) and filtered;
- authentication headers are always filtered, and every cookie value.

It returns the scrubbed event; it never raises on odd shapes.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ..redact import FILTERED, MAX_DEPTH, SecretWords, secret_words

__all__ = ["FILTERED", "MAX_DEPTH", "is_secret_key", "scrub_event", "scrub_string"]

# Keys of the event's own structure: never secret, never filtered (a "cookies" field would
# otherwise swallow its section by name; cookies are filtered below, value by value).
# "public_key": the DSN's public part in the trace context (dynamic sampling); Sentry needs it and it is not secret.
_STRUCTURAL = frozenset(
    {"exception", "values", "stacktrace", "frames", "breadcrumbs", "contexts", "request", "logentry", "cookies", "public_key"}
)
_ALWAYS_SECRET_HEADERS = secret_words(("authorization", "cookie", "x_api_key", "proxy_authorization", "x_csrftoken", "x_auth_token"))


def is_secret_key(key: str, words: tuple[str, ...]) -> bool:
    """True when ``key`` names a secret under ``words`` (see ``django_observe.redact``)."""
    return secret_words(words).is_secret_key(key)


def scrub_string(value: str, words: tuple[str, ...]) -> str:
    """``a=1&token=abc`` -> ``a=1&token=[Filtered]``, ``password = "x"`` -> ``password = "[Filtered]"``."""
    return secret_words(words).scrub_string(value)


def _scrub_body(data: Any, words: SecretWords) -> Any:
    """A body the SDK left as a string: JSON or form encoding, else the string pass."""
    if not isinstance(data, str):
        return words.redact_in_place(data)
    text = data.strip()
    if text[:1] in ("{", "["):
        try:
            return json.dumps(words.redact_in_place(json.loads(text)))
        except ValueError:
            pass
    if "=" in text and "\n" not in text:
        pairs = parse_qsl(text, keep_blank_values=True)
        if pairs:
            return urlencode([(key, FILTERED if words.is_secret_key(key) else value) for key, value in pairs], safe="[]")
    return words.scrub_string(data)


def scrub_event(event: dict[str, Any], words: tuple[str, ...]) -> dict[str, Any]:
    """Scrub ``event`` in place (see the module docstring) and return it."""
    matcher = secret_words(words)
    request = event.get("request")
    if isinstance(request, dict):
        if "data" in request:
            request["data"] = _scrub_body(request["data"], matcher)
        headers = request.get("headers")
        if isinstance(headers, dict):
            for name in list(headers):
                if isinstance(name, str) and _ALWAYS_SECRET_HEADERS.is_secret_key(name) and headers[name]:
                    headers[name] = FILTERED
        cookies = request.get("cookies")
        if isinstance(cookies, dict):
            # Cookies are credentials more often than not (sessionid, csrftoken, remember-me).
            request["cookies"] = {name: FILTERED for name in cookies}
        elif isinstance(cookies, str) and cookies:
            request["cookies"] = FILTERED
    scrubbed: dict[str, Any] = matcher.redact_in_place(event, _STRUCTURAL)
    return scrubbed
