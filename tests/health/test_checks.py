"""The built-in checks (health/checks.py), their metrics, and running them in django-health-check's views."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder
from django.test import RequestFactory, override_settings
from health_check.exceptions import ServiceUnavailable, ServiceWarning
from health_check.views import HealthCheckView
from prometheus_client import REGISTRY

from django_observe.health import checks as health_checks
from django_observe.health import runner as health_runner

P = "tests.health.probes."


def test_disk_and_memory_thresholds() -> None:
    assert health_checks.Disk(warn_percent=99.9, fail_percent=100.0).run() < 99.9
    with pytest.raises(ServiceWarning) as warned:
        health_checks.Disk(warn_percent=0.0, fail_percent=100.0).run()
    assert warned.value.observed > 0  # type: ignore[attr-defined]
    assert str(Path.cwd()) not in warned.value.message
    with pytest.raises(ServiceUnavailable):
        health_checks.Memory(warn_percent=0.0, fail_percent=0.0).run()


def test_storage_round_trip_leaves_nothing_behind(tmp_path: Path) -> None:
    with override_settings(
        STORAGES={"default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    ):
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


def test_metrics_follow_each_real_run(observe: Callable[..., None]) -> None:
    observe({"ok": P + "Counting", "search": P + "Fails", "queue": P + "Warns"})
    health_runner.runner.run(health_runner.specs())

    def value(name: str, check: str) -> float | None:
        return REGISTRY.get_sample_value(name, {"check": check})

    assert [value("health_check_status", c) for c in ("ok", "queue", "search")] == [1.0, 0.5, 0.0]
    assert 0.04 < value("health_check_duration_seconds", "ok") < 1.0  # type: ignore[operator]
    assert value("health_check_last_success_timestamp_seconds", "ok") == pytest.approx(__import__("time").time(), abs=5)
