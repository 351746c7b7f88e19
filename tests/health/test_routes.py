"""Probe routing (health/routes.py): the table ObserveMiddleware looks paths up in."""

from __future__ import annotations

from django.test import Client, override_settings

from django_observe.health import routes, views


def test_each_probe_path_answers_with_and_without_its_slash() -> None:
    assert routes.probe_view("/health") is views.summary
    assert routes.probe_view("/health/live") is routes.probe_view("/health/live/") is views.live
    assert routes.probe_view("/health/ready/") is views.ready
    assert routes.probe_view("/health/detailed") is views.detailed
    assert routes.probe_view("/health/other") is None
    assert routes.probe_view("/") is None


def test_the_table_follows_health_path() -> None:
    with override_settings(OBSERVE={"HEALTH_PATH": "ops/health"}):
        assert routes.probe_view("/ops/health/live") is views.live
        assert routes.probe_view("/health/live") is None
        assert routes.probe_paths() == ["ops/health", "ops/health/live", "ops/health/ready", "ops/health/detailed"]
        # The middleware answers there, without any URL pattern for that path.
        response = Client().get("/ops/health/live")
        assert (response.status_code, response.json()["status"]) == (200, "alive")
    assert routes.probe_view("/health/live") is views.live
