"""Built-in checks, the configured list, the 03x system checks, metrics, django-health-check compatibility."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.core.checks import Error, Warning
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder
from django.test import RequestFactory, override_settings
from health_check.exceptions import ServiceUnavailable, ServiceWarning
from health_check.views import HealthCheckView
from prometheus_client import REGISTRY

from django_observe.checks import check_health
from django_observe.health import checks as health_checks
from django_observe.health import runner as health_runner

P = "tests.health.probes."


def _names() -> list[tuple[str, bool]]:
    return [(spec.name, spec.critical) for spec in health_checks.get_specs()]


def test_builtin_checks_follow_the_project_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    with override_settings(
        OBSERVE={},
        CELERY_BROKER_URL="",
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
                "sessions": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    ):
        assert _names() == [("database", True), ("migrations", True), ("cache", True), ("cache:sessions", True),
                            ("storage", False), ("disk", False), ("memory", False)]
    with override_settings(
        OBSERVE={"HEALTH_DISABLED_CHECKS": ["storage", "memory"], "HEALTH_MIGRATIONS": "fail",
                 "HEALTH_CHECKS": {"disk": {"critical": True, "timeout": 0.5}}},
        REDIS_URL="redis://127.0.0.1:6390/0",
        CELERY_BROKER_URL="amqp://guest:guest@127.0.0.1:5673//",
        CELERY_BEAT_SCHEDULE={"health": {"task": "django_observe.record_health", "schedule": 30.0}},
    ):
        specs = {spec.name: spec for spec in health_checks.get_specs()}
        assert list(specs) == ["database", "migrations", "cache", "redis", "celery_broker", "celery_workers", "celery_beat", "disk"]
        assert (specs["disk"].critical, specs["disk"].timeout, specs["disk"].check.timeout.total_seconds()) == (True, 0.5, 0.5)
        assert specs["celery_beat"].check.max_age_seconds == 90.0  # type: ignore[attr-defined]
        assert (specs["celery_broker"].critical, specs["celery_workers"].critical) == (True, False)
        assert specs["migrations"].check.fail is True  # type: ignore[attr-defined]


def test_disk_and_memory_thresholds() -> None:
    assert health_checks.Disk(warn_percent=99.9, fail_percent=100.0).run() < 99.9
    with pytest.raises(ServiceWarning) as warned:
        health_checks.Disk(warn_percent=0.0, fail_percent=100.0).run()
    assert warned.value.observed > 0  # type: ignore[attr-defined]
    assert str(Path.cwd()) not in warned.value.message
    with pytest.raises(ServiceUnavailable):
        health_checks.Memory(warn_percent=0.0, fail_percent=0.0).run()


def test_storage_round_trip_leaves_nothing_behind(tmp_path: Path) -> None:
    with override_settings(STORAGES={"default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}):
        health_checks.Storage().run()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.django_db(transaction=True)
def test_database_check_replaces_a_connection_the_server_dropped(tmp_path: Path) -> None:
    # A second, persistent wrapper (stale connections are a CONN_MAX_AGE > 0 problem); on SQLite
    # a file database, since Django never closes an in-memory one.
    default = connections["default"]
    settings_dict = {**default.settings_dict, "CONN_MAX_AGE": None}
    if default.vendor == "sqlite":
        settings_dict["NAME"] = str(tmp_path / "db.sqlite3")
    wrapper = type(default)(settings_dict, "default")
    try:
        health_checks.probe_connection(wrapper)
        wrapper.connection.close()  # what a server restart or an idle timeout does behind Django's back
        health_checks.probe_connection(wrapper)
    finally:
        wrapper.close()


@pytest.mark.django_db
def test_unapplied_migrations_warn_or_fail() -> None:
    assert health_checks.Migrations().run() == 0
    MigrationRecorder(connections["default"]).record_unapplied("demo", "0001_initial")
    with pytest.raises(ServiceWarning) as warned:
        health_checks.Migrations().run()
    assert (warned.value.message, warned.value.observed) == ("1 unapplied migration", 1)  # type: ignore[attr-defined]
    with pytest.raises(ServiceUnavailable):
        health_checks.Migrations(fail=True).run()


@pytest.mark.django_db
def test_our_checks_run_in_django_health_check_views() -> None:
    view = HealthCheckView.as_view(checks=["django_observe.health.checks.Disk", "django_observe.health.checks.Database"])
    response = async_to_sync(view)(RequestFactory().get("/", headers={"Accept": "application/json"}))
    assert response.status_code == 200, response.content
    assert set(json.loads(response.content).values()) == {"OK"}


def test_django_health_check_checks_run_in_ours(observe: Callable[..., None]) -> None:
    observe({"their_cache": "health_check.Cache",  # an async run()
             "their_memory": {"check": "health_check.contrib.psutil.Memory", "critical": False, "max_memory_usage_percent": 99.9}})
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
    assert ids == ["django_observe.E031", "django_observe.E031", "django_observe.E030", "django_observe.E030",
                   "django_observe.E030", "django_observe.E032", "django_observe.W033"]
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


def test_metrics_follow_each_real_run(observe: Callable[..., None]) -> None:
    observe({"ok": P + "Counting", "search": P + "Fails", "queue": P + "Warns"})
    health_runner.runner.run(health_runner.specs())

    def value(name: str, check: str) -> float | None:
        return REGISTRY.get_sample_value(name, {"check": check})

    assert [value("health_check_status", c) for c in ("ok", "queue", "search")] == [1.0, 0.5, 0.0]
    assert 0.04 < value("health_check_duration_seconds", "ok") < 1.0  # type: ignore[operator]
    assert value("health_check_last_success_timestamp_seconds", "ok") == pytest.approx(__import__("time").time(), abs=5)

