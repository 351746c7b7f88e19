"""A small PromQL reader for the drift tests: which metric names and label names an expression uses.

Not a parser: it strips strings, ranges and Grafana variables, then reads selectors
(``name{matchers}``), grouping clauses (``by (...)``, ``on (...)``) and bare identifiers.
Good enough for the expressions we generate, and strict: an unknown identifier is reported.
"""

from __future__ import annotations

import re

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset"}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}")
_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*\"")
_IDENT = re.compile(r"(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")


def grafana_to_promql(expr: str, job: str = "django") -> str:
    """A panel's query as Prometheus runs it once Grafana filled in the variables."""
    return expr.replace("$__rate_interval", "1m").replace('"$job"', f'"{job}"').replace('"$instance"', '".+"')


def uses(expr: str) -> tuple[dict[str, set[str]], set[str]]:
    """({metric name: label names matched on it}, label names in grouping clauses) of ``expr``."""
    selectors: dict[str, set[str]] = {}
    grouping: set[str] = set()
    for match in _SELECTOR.finditer(expr):
        labels = {name for name, _ in _MATCHER.findall(match.group(2))}
        selectors.setdefault(match.group(1) or "", set()).update(labels)
    text = _STRING.sub('""', expr)
    text = _RANGE.sub("", text)
    for _, labels in _GROUPING.findall(text):
        grouping |= {label.strip() for label in labels.split(",") if label.strip()}
    text = _GROUPING.sub(" ", text)
    text = re.sub(r"\{[^}]*\}", " ", text)
    for name, call in _IDENT.findall(text):
        if call or name in KEYWORDS:
            continue  # a function call or an operator keyword
        selectors.setdefault(name, set())
    selectors.pop("", None)
    return selectors, grouping
