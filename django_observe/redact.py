"""One redactor for every output: log lines (JSON and console), captured error events, the admin.

One key list (``REDACT_KEYS`` + ``EXTRA_REDACT_KEYS``) and one rule, applied the same way wherever a
value leaves the process:

- a mapping key that names a secret gets its value replaced by ``[Filtered]``, at any depth
  (beyond ``MAX_DEPTH`` levels the whole value is filtered rather than left unread);
- inside strings (query strings, URLs, formatted messages, exception messages, reprs):
  ``key=value`` / ``key: value`` / ``"key": "value"`` pairs whose key names a secret, credentials
  in URLs (``postgres://user:PW@db``) and ``Bearer``/``Basic`` credentials lose their value.

A key names a secret when one of the words is part of it: words longer than four characters
match anywhere (``password`` matches ``db_password``), shorter ones only as a whole word of the
key (``pin`` matches ``user_pin`` and ``pinCode`` but not ``shipping``; ``key`` matches
``api-key`` but not ``monkey``). Case, ``-`` and ``_`` do not matter.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from .conf import get_settings, on_change

FILTERED = "[Filtered]"
MAX_DEPTH = 12
SHORT_WORD = 4  # words of this length or shorter match whole words of a key only

_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_KEY_CHARS = r"[\w.\-\[\]]"


class SecretWords:
    """A compiled word list: key tests and string scrubbing, cached per distinct list."""

    def __init__(self, words: tuple[str, ...]) -> None:
        normalized = {word.lower().replace("-", "_") for word in words if word.strip()}
        self.long = tuple(sorted((w for w in normalized if len(w) > SHORT_WORD), key=len, reverse=True))
        self.short = frozenset(w for w in normalized if len(w) <= SHORT_WORD)
        self._key_cache: dict[str, bool] = {}
        self._pair, self._quoted = self._patterns()

    def _patterns(self) -> tuple[re.Pattern[str], re.Pattern[str]]:
        def spelled(word: str) -> str:  # "_" in a word also matches "-" in text (x_api_key / X-Api-Key)
            return re.escape(word).replace("_", "[_-]")

        alternatives = []
        if self.long:
            alternatives.append(f"{_KEY_CHARS}*(?:{'|'.join(spelled(w) for w in self.long)}){_KEY_CHARS}*")
        if self.short:
            short = "|".join(spelled(w) for w in sorted(self.short, key=len, reverse=True))
            alternatives.append(rf"(?:{_KEY_CHARS}*[_.\-\[])?(?:{short})(?:[_.\-\]]{_KEY_CHARS}*)?")
        key = "(?:" + "|".join(alternatives) + ")" if alternatives else "(?!)"
        # key=value / key: value in a query string, URL or message: keep the key, drop the value.
        pair = re.compile(r"(?i)((?:^|(?<=[?&;\s,({\[]))" + key + r"(?:=|:[ \t]+))(\[Filtered\]|[^&;#\s,'\")}\]]+)")
        # password = "..." / 'token': '...' / "api_key": "..." in reprs, JSON and source lines.
        quoted = re.compile(r"(?i)(" + key + r"['\"]?\s*[:=]\s*)(['\"])([^'\"\n]*)\2")
        return pair, quoted

    def is_secret_key(self, key: str) -> bool:
        """True when ``key`` names a secret (see the module docstring)."""
        found = self._key_cache.get(key)
        if found is None:
            lowered = key.lower().replace("-", "_")
            found = any(word in lowered for word in self.long) or (
                bool(self.short) and any(part in self.short for part in _WORD_SPLIT.split(_CAMEL.sub(r"\1_\2", key).lower()))
            )
            if len(self._key_cache) < 8192:  # keys are mostly a small fixed set; bound the odd flood
                self._key_cache[key] = found
        return found

    def scrub_string(self, value: str) -> str:
        """Filter secret values inside a string (pairs, URL credentials, Bearer/Basic credentials)."""
        lowered = value.lower()
        if "://" in value and "@" in value:
            value = _URL_CREDENTIALS.sub(r"\1" + FILTERED + r"\3", value)
        if "bearer" in lowered or "basic" in lowered:
            value = _AUTH_SCHEME.sub(r"\1" + FILTERED, value)
        if ("=" in value or ":" in value) and (any(word in lowered for word in self.long) or any(word in lowered for word in self.short)):
            value = self._quoted.sub(_keep_key_quoted, value)
            value = self._pair.sub(_keep_key, value)
        return value

    def redact(self, value: Any, keep: frozenset[str] = frozenset(), depth: int = 0) -> Any:
        """A redacted copy of ``value`` (mappings, lists and tuples are rebuilt; the input is not changed).

        Keys in ``keep`` are structure, never secrets (an error event's ``cookies`` section is
        handled on its own); their values are still walked.
        """
        if isinstance(value, str):
            return self.scrub_string(value)
        if isinstance(value, Mapping):
            if depth >= MAX_DEPTH:
                return FILTERED
            return {
                key: (FILTERED if _filled(item) else item)
                if isinstance(key, str) and key not in keep and self.is_secret_key(key)
                else self.redact(item, keep, depth + 1)
                for key, item in value.items()
            }
        if isinstance(value, (list, tuple)):
            if depth >= MAX_DEPTH:
                return FILTERED
            return [self.redact(item, keep, depth + 1) for item in value]
        return value

    def redact_in_place(self, value: Any, keep: frozenset[str] = frozenset(), depth: int = 0) -> Any:
        """Like ``redact`` but changes dicts and lists in place (a serialized error event) and returns ``value``."""
        if isinstance(value, str):
            return self.scrub_string(value)
        if isinstance(value, (dict, list)) and depth >= MAX_DEPTH:
            return FILTERED
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and key not in keep and self.is_secret_key(key):
                    if _filled(item):
                        value[key] = FILTERED
                else:
                    value[key] = self.redact_in_place(item, keep, depth + 1)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                value[index] = self.redact_in_place(item, keep, depth + 1)
        elif isinstance(value, (Mapping, tuple)):
            return self.redact(value, keep, depth)
        return value


def _filled(item: Any) -> bool:
    # An empty value tells nothing; keeping it shows that the field was empty.
    return item not in (None, "", FILTERED)


def _keep_key(match: re.Match[str]) -> str:
    return match.group(1) + FILTERED if match.group(2) != FILTERED else match.group(0)


def _keep_key_quoted(match: re.Match[str]) -> str:
    if not match.group(3) or match.group(3) == FILTERED:
        return match.group(0)
    return match.group(1) + match.group(2) + FILTERED + match.group(2)


# scheme://user:PASSWORD@host — the password, not the user or the host.
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s:/@]*:)([^\s@/]+)(@)")
# Authorization: Bearer <token> / Basic <base64> in messages and reprs.
_AUTH_SCHEME = re.compile(r"(?i)\b((?:bearer|basic)\s+)(?!\[Filtered\])[A-Za-z0-9\-._~+/]+=*")


def path_secrets(request: Any, words: SecretWords) -> list[str]:
    """The values of URL parameters named like secrets (``reset/<uidb64>/<token>/``), once resolved."""
    match = getattr(request, "resolver_match", None)
    if match is None or not match.kwargs:
        return []
    return [value for name, value in match.kwargs.items() if isinstance(value, str) and len(value) >= 4 and words.is_secret_key(name)]


def safe_path(request: Any, words: SecretWords) -> str:
    """``request.path`` with the values of secret URL parameters filtered.

    ``reset/<uidb64>/<token>/`` puts a password-reset token in the path itself; the resolved
    URL pattern names it, so its value is replaced (``reset/MQ/[Filtered]/``). Before URL
    resolution, or for patterns without such a parameter, the path is returned unchanged.
    """
    path: str = request.path
    for value in path_secrets(request, words):
        path = path.replace(value, FILTERED)
    return path


def mask_values(value: Any, secrets: list[str]) -> Any:
    """``value`` (a serialized event: dicts and lists changed in place) with every occurrence of ``secrets`` filtered."""
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, FILTERED)
        return value
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = mask_values(item, secrets)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = mask_values(item, secrets)
    return value


@functools.lru_cache(maxsize=16)
def secret_words(words: tuple[str, ...]) -> SecretWords:
    """The compiled matcher for a word list (``get_settings().REDACT_KEYS``)."""
    return SecretWords(words)


class _Configured:
    words: SecretWords | None = None


_configured = _Configured()


def configured_words() -> SecretWords:
    """``secret_words(get_settings().REDACT_KEYS)``, kept until the settings change (hashing the
    ~40-word tuple for the lru_cache on every log line cost more than the lookup saved)."""
    words = _configured.words
    if words is None:
        words = _configured.words = secret_words(get_settings().REDACT_KEYS)
    return words


@on_change()
def _settings_changed() -> None:
    _configured.words = None
