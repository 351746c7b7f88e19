"""The one guard for our own failures: swallowed, counted per component, logged once per process."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import REGISTRY

from django_observe import guard
from django_observe.guard import Guard, report


def _count(component: str) -> float:
    return REGISTRY.get_sample_value("observe_internal_errors_total", {"component": component}) or 0.0


@pytest.fixture(autouse=True)
def _fresh_log_once() -> None:
    guard.forget_logged()
    from django_observe.metrics import get_metrics

    get_metrics()  # the counter exists before the first failure


def test_guard_swallows_counts_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    before = _count("test_guard")
    site = Guard("test_guard", "The test part failed")
    for attempt in range(3):
        with site:
            raise ValueError(f"boom {attempt}")
    assert _count("test_guard") == before + 3
    lines = [record for record in caplog.records if "The test part failed" in record.getMessage()]
    assert len(lines) == 1
    assert lines[0].exc_info is not None and "boom 0" in str(lines[0].exc_info[1])


def test_guard_lets_keyboard_interrupt_and_system_exit_through() -> None:
    with pytest.raises(KeyboardInterrupt), Guard("test_guard_interrupt"):
        raise KeyboardInterrupt
    with pytest.raises(SystemExit), Guard("test_guard_interrupt"):
        raise SystemExit(3)
    assert _count("test_guard_interrupt") == 0


def test_report_counts_n_and_logs_once_per_component(caplog: pytest.LogCaptureFixture) -> None:
    before = _count("test_report")
    report("test_report", count=5, message="Five events lost", exc_info=False, level=logging.ERROR)
    report("test_report", count=2, message="Two more lost", exc_info=False)
    assert _count("test_report") == before + 7
    assert "Five events lost" in caplog.text and "Two more lost" not in caplog.text
    assert [r.levelno for r in caplog.records if "Five events lost" in r.getMessage()] == [logging.ERROR]


def test_report_never_raises_when_counting_is_broken(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken(component: str, count: int) -> None:
        raise RuntimeError("metrics are broken")

    monkeypatch.setattr(guard, "counter", broken)
    with Guard("test_guard_broken_counter", "Still logged"):
        raise OSError("disk")
    assert "Still logged" in caplog.text
