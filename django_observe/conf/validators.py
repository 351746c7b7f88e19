"""Validators of OBSERVE values: each takes (key, value) and returns None when fine, else a sentence with the fix."""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

Validator = Callable[[str, Any], "str | None"]


def got(value: Any) -> str:
    # Name the type only: a wrong value may be a secret (a token, a DSN).
    return type(value).__name__


def boolean(key: str, value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    return f"OBSERVE['{key}'] must be True or False, got {got(value)}. Use e.g. OBSERVE = {{'{key}': True}}."


def string(key: str, value: Any) -> str | None:
    if isinstance(value, str):
        return None
    return f"OBSERVE['{key}'] must be a string, got {got(value)}. Use e.g. OBSERVE = {{'{key}': 'text'}}."


def string_list(key: str, value: Any) -> str | None:
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return None
    return f"OBSERVE['{key}'] must be a list of strings, got {got(value)}. Use e.g. OBSERVE = {{'{key}': ['value']}}, or [] for none."


def choice(*choices: str) -> Validator:
    def validate(key: str, value: Any) -> str | None:
        if isinstance(value, str) and value.lower() in choices:
            return None
        shown = value if isinstance(value, str) and len(value) < 40 else got(value)
        return (
            f"OBSERVE['{key}'] must be one of {', '.join(map(repr, choices))}, got {shown!r}. "
            f"Use e.g. OBSERVE = {{'{key}': {choices[0]!r}}}."
        )

    return validate


def number(minimum: float | None = None, maximum: float | None = None, unit: str = "", integer: bool = False) -> Validator:
    def validate(key: str, value: Any) -> str | None:
        what = ("a whole number" if integer else "a number") + unit
        if minimum is not None and maximum is not None:
            what += f" between {minimum:g} and {maximum:g}"
        elif minimum is not None:
            what += f" of at least {minimum:g}"
        example = _example(minimum, maximum, integer)
        wrong_type = isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int))
        if wrong_type:
            return f"OBSERVE['{key}'] must be {what}, got {got(value)}. Use e.g. OBSERVE = {{'{key}': {example}}}."
        if not math.isfinite(value) or (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            return f"OBSERVE['{key}'] must be {what}, got {value!r}. Use e.g. OBSERVE = {{'{key}': {example}}}."
        return None

    return validate


def _example(minimum: float | None, maximum: float | None, integer: bool = False) -> float | int:
    if integer:
        return max(1, int(minimum or 0))
    if maximum is not None and maximum <= 1:
        return 0.1
    return max(1.0, float(minimum or 0))


def header_name(key: str, value: Any) -> str | None:
    if isinstance(value, str) and value and all(ch.isalnum() or ch == "-" for ch in value):
        return None
    return f"OBSERVE['{key}'] must be an HTTP header name such as 'X-Request-ID' (letters, digits and '-'), got {got(value)}."


def url_path(key: str, value: Any) -> str | None:
    if isinstance(value, str) and value and not value.startswith("/") and "://" not in value:
        return None
    return (
        f"OBSERVE['{key}'] must be a URL path without the leading slash, e.g. 'metrics' or 'api/v1/metrics', got "
        f"{got(value) if not isinstance(value, str) else repr(value)}."
    )


def path_list(key: str, value: Any) -> str | None:
    if string_list(key, value) is None and all(url_path(key, item) is None for item in value):
        return None
    return f"OBSERVE['{key}'] must be a list of URL paths without the leading slash, e.g. ['api/v1/metrics']."


def checks_mapping(key: str, value: Any) -> str | None:
    if isinstance(value, dict) and all(isinstance(name, str) for name in value):
        return None
    return (
        f"OBSERVE['{key}'] must be a dict of check name -> import path or options dict, got {got(value)}. "
        "Use e.g. OBSERVE = {'%s': {'search': 'myproject.health.SearchCheck'}}." % key
    )


def buckets(key: str, value: Any) -> str | None:
    if (
        isinstance(value, (list, tuple))
        and value
        and all(isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b) and b > 0 for b in value)
        and all(a < b for a, b in zip(value, value[1:], strict=False))
    ):
        return None
    return f"OBSERVE['{key}'] must be a non-empty list of increasing positive numbers (seconds), e.g. [0.01, 0.05, 0.1, 0.5, 1, 5]."


def parse_network(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """``10.0.0.0/8`` or ``127.0.0.1`` as a network; None when it is neither."""
    try:
        return ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        return None


def networks(key: str, value: Any) -> str | None:
    if string_list(key, value) is not None:
        return string_list(key, value)
    bad = [entry for entry in value if parse_network(entry) is None]
    if not bad:
        return None
    shown = bad[0] if len(bad[0]) < 60 else bad[0][:57] + "..."
    return (
        f"OBSERVE['{key}'] has {shown!r}, which is not an IP address or network. "
        "Write addresses or CIDR networks, e.g. ['10.0.0.0/8', '127.0.0.1']."
    )


PROMETHEUS_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def namespace(key: str, value: Any) -> str | None:
    if isinstance(value, str) and (value == "" or PROMETHEUS_PREFIX.fullmatch(value)):
        return None
    shown = repr(value) if isinstance(value, str) and len(value) < 40 else got(value)
    return (
        f"OBSERVE['{key}'] = {shown} is not a valid Prometheus name prefix: "
        "use letters, digits and underscores, starting with a letter, e.g. 'shop'."
    )


def dsn(key: str, value: Any) -> str | None:
    if not isinstance(value, str):
        return string(key, value)
    if not value:
        return None
    from sentry_sdk.utils import BadDsn, Dsn

    try:
        Dsn(value)
    except (BadDsn, ValueError, TypeError):
        # Never echo the DSN: it carries the project's key.
        return f"OBSERVE['{key}'] (or env SENTRY_DSN) is not a valid Sentry DSN; events stay local until it is fixed."
    return None


def dotted_path(key: str, value: Any) -> str | None:
    if isinstance(value, str) and (value == "" or re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+", value)):
        return None
    shown = repr(value) if isinstance(value, str) and len(value) < 60 else got(value)
    return f"OBSERVE['{key}'] must be the dotted import path of a function, e.g. 'myproject.sentry.before_send', got {shown}."


def choice_list(*choices: str) -> Validator:
    def validate(key: str, value: Any) -> str | None:
        if isinstance(value, (list, tuple)) and all(isinstance(item, str) and item.lower() in choices for item in value):
            return None
        return (
            f"OBSERVE['{key}'] must be a list of some of {', '.join(map(repr, choices))}, got {got(value)}. "
            f"Use e.g. OBSERVE = {{'{key}': [{choices[0]!r}]}}."
        )

    return validate


def string_mapping(key: str, value: Any) -> str | None:
    if isinstance(value, Mapping) and all(isinstance(k, str) and k and isinstance(v, str) and v for k, v in value.items()):
        return None
    return (
        f"OBSERVE['{key}'] must be a dict of non-empty strings, got {got(value)}. "
        f"Use e.g. OBSERVE = {{'{key}': {{'api.example.com': 'example'}}}}."
    )


def listen_address(key: str, value: Any) -> str | None:
    try:
        if not isinstance(value, str):  # ip_address() also takes integers (123 is 0.0.0.123)
            raise TypeError(value)
        ipaddress.ip_address(value)
    except (TypeError, ValueError):
        shown = repr(value) if isinstance(value, str) and len(value) < 60 else got(value)
        return (
            f"OBSERVE['{key}'] must be an IP address to listen on, "
            f"e.g. '127.0.0.1' (this host only) or '0.0.0.0' (every interface), got {shown}."
        )
    return None
