"""The configured check list (health/registry.py): built-in checks that apply, host checks, the 03x system checks."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.checks import Error, Warning
from django.test import override_settings

from django_observe.checks import check_health
from django_observe.health import registry
from django_observe.health import runner as health_runner

P = "tests.health.probes."


def _names() -> list[tuple[str, bool]]:
    return [(spec.name, spec.critical) for spec in registry.get_specs()]


def test_builtin_checks_follow_the_project_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    with override_settings(
        OBSERVE={},
        CELERY_BROKER_URL="",
        CACHES={
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "sessions": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        },
    ):
        assert _names() == [
            ("database", True),
            ("migrations", True),
            ("cache", True),
            ("cache:sessions", True),
            ("storage", False),
            ("disk", False),
            ("memory", False),
        ]
    with override_settings(
        OBSERVE={
            "HEALTH_DISABLED_CHECKS": ["storage", "memory"],
            "HEALTH_MIGRATIONS": "fail",
            "HEALTH_CHECKS": {"disk": {"critical": True, "timeout": 0.5}},
        },
        REDIS_URL="redis://127.0.0.1:6390/0",
        CELERY_BROKER_URL="amqp://guest:guest@127.0.0.1:5673//",
        CELERY_BEAT_SCHEDULE={"health": {"task": "django_observe.record_health", "schedule": 30.0}},
    ):
        specs = {spec.name: spec for spec in registry.get_specs()}
        assert list(specs) == ["database", "migrations", "cache", "redis", "celery_broker", "celery_workers", "celery_beat", "disk"]
        assert (specs["disk"].critical, specs["disk"].timeout, specs["disk"].check.timeout.total_seconds()) == (True, 0.5, 0.5)
        assert specs["celery_beat"].check.max_age_seconds == 90.0  # type: ignore[attr-defined]
        assert (specs["celery_broker"].critical, specs["celery_workers"].critical) == (True, False)
        assert specs["migrations"].check.fail is True  # type: ignore[attr-defined]


def test_django_health_check_checks_run_in_ours(observe: Callable[..., None]) -> None:
    observe(
        {
            "their_cache": "health_check.Cache",  # an async run()
            "their_memory": {"check": "health_check.contrib.psutil.Memory", "critical": False, "max_memory_usage_percent": 99.9},
        }
    )
    results = {r.name: r.status for r in health_runner.runner.run(health_runner.specs())}
    assert results == {"their_cache": "pass", "their_memory": "pass"}


def test_system_checks_for_health_config(observe: Callable[..., None]) -> None:
    observe(
        {
            "disk": P + "Counting",
            "Search": P + "Counting",
            "search": P + "Counting",
            "missing": "tests.health.nope.Check",
            "wrong": P + "NotACheck",
            "badopt": {"check": P + "Counting", "colour": "red"},
            "flag": {"check": P + "Counting", "critical": "yes", "timeout": 9.0},
        },
        keep=("disk",),
    )
    messages = check_health(None)
    ids = [message.id for message in messages]
    assert ids == [
        "django_observe.E031",
        "django_observe.E031",
        "django_observe.E030",
        "django_observe.E030",
        "django_observe.E030",
        "django_observe.E032",
        "django_observe.W033",
    ]
    assert messages[0] == Error(
        "Health check name 'disk' is used by a built-in check and by OBSERVE['HEALTH_CHECKS']['disk'].",
        hint="Rename your check, or add 'disk' to OBSERVE['HEALTH_DISABLED_CHECKS'] to replace the built-in one.",
        id="django_observe.E031",
    )
    assert messages[1].msg == "Health check names 'Search' and 'search' differ only in case; history and metrics would mix them."
    assert messages[-1] == Warning(
        "Health check 'flag' has a timeout of 9 s, longer than OBSERVE['HEALTH_DEADLINE'] (5 s).",
        hint="Lower the check's timeout or raise HEALTH_DEADLINE.",
        id="django_observe.W033",
    )
    # A check that cannot be loaded still shows up, failing, instead of vanishing from the probes.
    results = {r.name: r for r in health_runner.runner.run(health_runner.specs(names=["missing"]))}
    assert results["missing"].status == "fail"


def test_build_reports_problems_and_known_names_list_every_check(observe: Callable[..., None]) -> None:
    observe({"search": P + "Counting", "missing": "tests.health.nope.Check"})
    problems: list[tuple[str, str, str]] = []
    built = registry.build(problems)
    assert [check_id for check_id, _message, _hint in problems] == ["django_observe.E030"]
    assert {"search", "missing"} <= {spec.name for spec in built}
    assert next(spec for spec in built if spec.name == "missing").error  # built, failing, with the reason
    assert {"database", "migrations", "cache", "disk", "search", "missing"} <= registry.known_names()
