"""The runner: statuses, hard deadlines, one probe in flight per check, single-flight cache."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django_observe.health import runner as health_runner
from django_observe.health.runner import runner
from tests.health import probes

P = "tests.health.probes."


def _run(**kwargs: float) -> dict[str, health_runner.CheckResult]:
    return {result.name: result for result in runner.run(health_runner.specs(), **kwargs)}


def test_statuses_map_from_django_health_check_exceptions(observe: Callable[..., None]) -> None:
    observe({"ok": P + "Counting", "slow_queue": P + "Warns", "search": P + "Fails"})
    results = _run()
    assert {name: r.status for name, r in results.items()} == {"ok": "pass", "slow_queue": "warn", "search": "fail"}
    assert results["search"].message == "search is down"
    assert results["ok"].observed == 1


def test_unexpected_exception_is_a_failure_without_its_text(observe: Callable[..., None]) -> None:
    observe({"leaky": P + "Leaky"})
    result = _run()["leaky"]
    assert (result.status, result.message, result.error_class) == ("fail", "Unexpected error (RuntimeError)", "RuntimeError")


def test_check_that_sleeps_forever_is_reported_as_timeout_at_its_deadline(observe: Callable[..., None]) -> None:
    observe({"hung": {"check": P + "Sleep", "timeout": 0.3}, "ok": P + "Counting"})
    began = time.monotonic()
    results = _run()
    elapsed = time.monotonic() - began
    assert results["hung"].status == "timeout"
    assert results["ok"].status == "pass"
    assert 0.3 <= elapsed < 1.2  # generous upper bound: a shared 2-core CI machine; the check sleeps an hour


def test_overall_deadline_cuts_checks_with_longer_timeouts(observe: Callable[..., None]) -> None:
    observe({"hung": {"check": P + "Sleep", "timeout": 5.0}}, HEALTH_DEADLINE=0.25)
    began = time.monotonic()
    result = _run()["hung"]
    assert time.monotonic() - began < 1.2
    assert (result.status, result.message) == ("timeout", "No answer within the overall health deadline")


def test_fifty_probes_of_a_hung_check_use_one_thread_and_answer_at_once(observe: Callable[..., None]) -> None:
    observe({"hung": {"check": P + "Sleep", "timeout": 0.2}}, HEALTH_CACHE_SECONDS=0)
    assert _run()["hung"].status == "timeout"
    threads_before = threading.active_count()
    began = time.monotonic()
    for _ in range(50):
        assert _run()["hung"].status == "timeout"
    assert time.monotonic() - began < 1.5, "a probe joining an overdue run answers at once"
    assert threading.active_count() == threads_before
    assert runner.runs("hung") == 0, "the first run never finished and no second one started"


def test_hundred_concurrent_probes_run_the_check_once(observe: Callable[..., None]) -> None:
    observe({"counted": {"check": P + "Counting", "label": "counted", "delay": 0.2}}, HEALTH_CACHE_SECONDS=5)
    statuses: list[str] = []
    barrier = threading.Barrier(100)

    def probe() -> None:
        barrier.wait(timeout=10)
        statuses.append(_run()["counted"].status)

    workers = [threading.Thread(target=probe) for _ in range(100)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=10)
    assert statuses == ["pass"] * 100
    assert probes.COUNTS["counted"] == 1
    assert runner.runs("counted") == 1


def test_cached_result_expires_after_the_window(observe: Callable[..., None]) -> None:
    observe({"counted": {"check": P + "Counting", "label": "counted", "delay": 0}}, HEALTH_CACHE_SECONDS=0.2)
    _run()
    _run()
    assert probes.COUNTS["counted"] == 1
    time.sleep(0.25)
    _run()
    assert probes.COUNTS["counted"] == 2
    _run(max_age=0)
    assert probes.COUNTS["counted"] == 3, "max_age=0 (recording) runs the check now"


def test_late_answer_after_the_deadline_counts_as_timeout(observe: Callable[..., None]) -> None:
    observe({"slowish": {"check": P + "Sleep", "seconds": 0.3, "timeout": 0.1}}, HEALTH_CACHE_SECONDS=10)
    assert _run()["slowish"].status == "timeout"
    time.sleep(0.35)
    late = _run()["slowish"]
    assert late.status == "timeout" and late.message.startswith("Answered after")


def test_readiness_and_overall_statuses() -> None:
    def result(status: str, critical: bool) -> health_runner.CheckResult:
        return health_runner.CheckResult("x", status, 0.0, critical)

    assert health_runner.readiness([result("pass", True), result("fail", False)]) == "pass"
    assert health_runner.readiness([result("warn", True)]) == "warn"
    assert health_runner.readiness([result("timeout", True), result("pass", True)]) == "fail"
    assert health_runner.overall([result("pass", True), result("fail", False)]) == "degraded"
    assert health_runner.overall([result("warn", True)]) == "degraded"
    assert health_runner.overall([result("timeout", True)]) == "unhealthy"
    assert health_runner.overall([result("pass", True)]) == "healthy"
