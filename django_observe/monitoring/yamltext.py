"""A small YAML writer for the generated files (no PyYAML at runtime).

Identifiers are written plain, other one-line strings single-quoted (no escapes: PromQL stays
readable), anything else JSON-quoted (YAML reads it as a double-quoted scalar): PromQL, templates
with ``{{ }}`` and label values with quotes come back exactly as given.
"""

from __future__ import annotations

import json
import re
from typing import Any

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_PLAIN_VALUE = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")
#: Plain words YAML 1.1 (Alertmanager, Prometheus, docker compose) reads as booleans or null.
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def to_yaml(value: Any, indent: int = 0) -> str:
    pad = "  " * indent
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            name = key if _PLAIN_KEY.match(str(key)) and str(key).lower() not in _RESERVED else json.dumps(str(key))
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{name}:\n{to_yaml(item, indent + 1)}")
            else:
                lines.append(f"{pad}{name}: {_scalar(item)}")
        return "\n".join(lines)
    if isinstance(value, list):
        lines = []
        for item in value:
            text = to_yaml(item, indent + 1) if isinstance(item, (dict, list)) and item else f"{'  ' * (indent + 1)}{_scalar(item)}"
            lines.append(f"{pad}- {text.lstrip()}")
        return "\n".join(lines)
    return pad + _scalar(value)


def document(value: Any, header: str = "") -> str:
    """A whole file: an optional ``#`` comment header, the YAML, a final newline."""
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return comment + to_yaml(value) + "\n"


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (dict, list)):
        return "{}" if isinstance(value, dict) else "[]"
    text = str(value)
    if _PLAIN_VALUE.match(text) and text.lower() not in _RESERVED:
        return text
    if text.isprintable():
        return "'" + text.replace("'", "''") + "'"
    return json.dumps(text, ensure_ascii=False)
