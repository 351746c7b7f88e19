"""Grouping rules: what makes two errors the same problem."""

from __future__ import annotations

from typing import Any

from django_observe.errors.fingerprint import fingerprint, grouping_parts, normalize_message


def exception_event(exc_type: str = "ValueError", value: str = "bad", frames: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    if frames is None:
        frames = [
            {"module": "django.core.handlers.base", "function": "_get_response", "lineno": 197, "in_app": False},
            {"module": "shop.views", "function": "checkout", "lineno": 10, "in_app": True},
            {"module": "shop.payments", "function": "charge", "lineno": 20, "in_app": True},
        ]
    return {"exception": {"values": [{"type": exc_type, "module": "builtins", "value": value, "stacktrace": {"frames": frames}}]}}


def test_log_records_group_by_template_not_by_parameters() -> None:
    first = {"logger": "shop", "logentry": {"message": "order %s not found", "formatted": "order 42 not found"}}
    second = {"logger": "shop", "logentry": {"message": "order %s not found", "formatted": "order 43 not found"}}
    assert fingerprint(first) == fingerprint(second)


def test_plain_messages_group_after_normalising_numbers_and_ids() -> None:
    first = {"message": "order 42 not found for bob@example.com"}
    second = {"message": "order 43 not found for eve@example.org"}
    assert fingerprint(first) == fingerprint(second)
    assert normalize_message("user 7f3c2a10-1111-2222-3333-444455556666 at 10.0.0.1 'x'") == "user <uuid> at <ip> <str>"


def test_line_numbers_and_values_do_not_split_an_exception_group() -> None:
    moved = exception_event(value="other text")
    moved["exception"]["values"][0]["stacktrace"]["frames"][2]["lineno"] = 99
    assert fingerprint(exception_event()) == fingerprint(moved)


def test_different_exception_types_are_different_groups() -> None:
    assert fingerprint(exception_event("ValueError")) != fingerprint(exception_event("KeyError"))


def test_different_in_app_functions_are_different_groups() -> None:
    other = exception_event()
    other["exception"]["values"][0]["stacktrace"]["frames"][2]["function"] = "refund"
    assert fingerprint(exception_event()) != fingerprint(other)


def test_recursion_depth_does_not_split_a_group() -> None:
    frame = {"module": "shop.tree", "function": "walk", "in_app": True}
    shallow = exception_event("RecursionError", frames=[frame] * 3)
    deep = exception_event("RecursionError", frames=[frame] * 300)
    assert fingerprint(shallow) == fingerprint(deep)


def test_without_in_app_frames_the_crash_frame_is_used() -> None:
    frames = [{"module": "lib.a", "function": "f", "in_app": False}, {"module": "lib.b", "function": "g", "in_app": False}]
    assert grouping_parts(exception_event(frames=frames))[-1] == [["lib.b", "g"]]


def test_custom_fingerprint_wins_and_default_expands() -> None:
    event = exception_event()
    event["fingerprint"] = ["payments", "{{ default }}"]
    parts = grouping_parts(event)
    assert parts[:3] == [1, "custom", "payments"]
    assert parts[3][0] == "exception"
    assert fingerprint(event) != fingerprint(exception_event())


def test_grouping_is_versioned() -> None:
    assert grouping_parts({"message": "x"})[0] == 1
