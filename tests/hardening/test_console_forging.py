"""LOG_FORMAT=console: no key, value or exception text can start a new line or send terminal escapes.

Fails on the old main: a key with "\\n", a raw "\\x1b[31m" and an exception message with a newline
each started a new line (only "\\n"/"\\r" in values were escaped).
"""

from __future__ import annotations

import logging
import sys

import pytest

from django_observe.logging import ObserveFormatter

FORGED = "2026-12-01T00:00:00Z [info     ] FORGED admin logged in"
CONTROLS = ["\n", "\r", "\x1b[31m", "\x00", "\x07", "\x0b", "\x0c", "\x85", "\x9b", "\u2028", "\u2029", "\x7f"]


def _render(record: logging.LogRecord) -> str:
    return ObserveFormatter("console").format(record)


def _record(message: str, args: tuple[object, ...] = (), exc_info: object = None) -> logging.LogRecord:
    return logging.LogRecord("tests.forging", logging.WARNING, __file__, 1, message, args, exc_info)  # type: ignore[arg-type]


@pytest.mark.parametrize("control", CONTROLS)
def test_controls_in_the_message_keys_and_values_are_escaped(control: str) -> None:
    record = _record("user said %s", (f"hi{control}{FORGED}",))
    record.__dict__[f"note{control}line"] = f"value{control}{FORGED}"
    line = _render(record)
    assert "\n" not in line and "\r" not in line
    assert not any(ch in line for ch in CONTROLS), repr(line)
    assert line.count("FORGED") == 2  # still there, visibly, inside the one line


def test_an_exception_message_cannot_start_an_entry() -> None:
    try:
        raise ValueError(f"?m=line1\n{FORGED}\r\n\x1b[2J{FORGED}\u2028{FORGED}")
    except ValueError:
        line = _render(_record("request failed", exc_info=sys.exc_info()))
    first, *traceback_lines = line.split("\n")
    assert "FORGED" not in first
    assert traceback_lines and all(part.startswith("    ") for part in traceback_lines), traceback_lines
    assert "\x1b" not in line and "\r" not in line and "\u2028" not in line
    # The exception's message stays ONE line, its controls escaped (not just indented).
    [message_line] = [part for part in traceback_lines if "ValueError:" in part]
    assert message_line.count("FORGED admin logged in") == 3 and "\\n" in message_line and "\\u2028" in message_line
