"""Seed-shaped settings from the environment, endpoints and log fields (additions; nothing existing changes meaning)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from django_observe.conf import get_settings, problems

from .conftest import observe

pytestmark = pytest.mark.django_db

GUIDE_VARIABLES = ("ENVIRONMENT", "APP_ENV", "RELEASE_VERSION", "APP_VERSION", "LOG_FORMAT", "SENTRY_ENABLED", "SENTRY_DSN")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Set guide env vars with OBSERVE = {} (env vars apply only to keys OBSERVE does not set)."""
    for name in GUIDE_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def read(**variables: str) -> Any:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        return get_settings()

    with observe():
        from django.conf import settings

        keep = settings.OBSERVE
        settings.OBSERVE = {"METRICS_TOKENS": keep["METRICS_TOKENS"]}
        try:
            yield read
        finally:
            settings.OBSERVE = keep
            get_settings.cache_clear()


def test_log_format_text_is_the_console_format(env: Any) -> None:
    assert env(LOG_FORMAT="text").LOG_FORMAT == "console"
    assert problems() == []


def test_format_follows_the_environment_unless_set(env: Any) -> None:
    assert env(ENVIRONMENT="development").LOG_FORMAT == "console"
    assert env(ENVIRONMENT="development", LOG_FORMAT="json").LOG_FORMAT == "json"
    assert env(ENVIRONMENT="production", LOG_FORMAT="").LOG_FORMAT == "json"


def test_app_env_and_app_version_are_fallbacks(env: Any) -> None:
    conf = env(APP_ENV="staging", APP_VERSION="2.3.4")
    assert (conf.ENVIRONMENT, conf.VERSION, conf.SENTRY_ENVIRONMENT) == ("staging", "2.3.4", "staging")
    conf = env(ENVIRONMENT="production", RELEASE_VERSION="2.4.0")
    assert (conf.ENVIRONMENT, conf.VERSION) == ("production", "2.4.0"), "the documented names win"


def test_sentry_enabled_false_from_the_environment(env: Any) -> None:
    assert env(SENTRY_ENABLED="false", SENTRY_DSN="https://key@sentry.example.com/1").SENTRY_ENABLED is False
    assert env(SENTRY_ENABLED="true").SENTRY_ENABLED is True


def test_live_and_ready_answer_in_the_guides_shape() -> None:
    live = Client().get("/health/live").json()
    assert live["alive"] is True and live["status"] == "alive"
    assert isinstance(live["timestamp"], float) and live["uptime_seconds"] >= 0
    ready = Client().get("/health/ready").json()
    assert ready["ready"] is (ready["status"] != "fail") and isinstance(ready["timestamp"], float)
    assert set(ready["checks"]) >= {"database"}


def test_root_aliases_only_when_asked() -> None:
    assert Client().get("/live").status_code == 404
    with observe(HEALTH_ROOT_ALIASES=True):
        assert Client().get("/live").json()["alive"] is True
        assert Client().get("/ready").json()["ready"] in (True, False)
        assert Client().get("/ready/").status_code in (200, 503)


def test_dependency_words_on_health_only_when_asked() -> None:
    assert "database" not in Client().get("/health").json()
    with observe(HEALTH_DEPENDENCY_WORDS=True):
        body = Client().get("/health").json()
    assert body["database"] == "connected"
    assert set(body) - {"status", "version", "environment"} <= {"database", "redis", "storage", "celery", "cache"}


def test_access_line_path_and_status_code_only_when_asked(json_logs: Any) -> None:
    Client().get("/items/4/?token=secret", HTTP_X_REQUEST_ID="plain-1")
    with observe(ACCESS_LOG_PATH_AND_STATUS=True):
        Client().get("/items/5/?token=secret", HTTP_X_REQUEST_ID="seed-1")
    plain, seeded = json_logs.events("request_finished")
    assert "status_code" not in plain and "path" not in plain
    assert (seeded["path"], seeded["status_code"], seeded["code"]) == ("/items/5/", 200, 200)
    assert "secret" not in json.dumps(seeded)


def test_callsite_fields_only_when_asked(json_logs: Any) -> None:
    import logging

    logger = logging.getLogger("tests.seeds")
    logger.warning("without callsite")
    with observe(LOG_CALLSITE=True):
        logger.warning("with callsite")
    [plain] = json_logs.events("without callsite")
    [line] = json_logs.events("with callsite")
    assert "module" not in plain and "function" not in plain and "line" not in plain
    assert (line["module"], line["function"]) == ("test_seed_settings", "test_callsite_fields_only_when_asked")
    assert isinstance(line["line"], int)
