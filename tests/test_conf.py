"""OBSERVE settings: defaults, env fallbacks, precedence, validation as system checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.checks import Error, Warning
from django.test import override_settings

from django_observe import checks
from django_observe.conf import DEFAULTS, get_settings, render_reference

DOCS = Path(__file__).resolve().parent.parent / "docs"


@override_settings(OBSERVE={})
def test_empty_observe_gives_documented_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for option in DEFAULTS.values():
        if option.env:
            monkeypatch.delenv(option.env, raising=False)
    get_settings.cache_clear()
    conf = get_settings()
    assert conf.SLOW_REQUEST_THRESHOLD == 1.0
    assert conf.LOG_FORMAT == "json"
    assert conf.REQUEST_ID_HEADER == "X-Request-ID"
    assert conf.VERSION == "unknown"
    assert conf.METRICS_PUBLIC is False
    assert "password" in conf.REDACT_KEYS


@override_settings(OBSERVE={})
def test_env_vars_apply_when_key_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLOW_REQUEST_THRESHOLD", "0.25")
    monkeypatch.setenv("LOG_FORMAT", "console")
    monkeypatch.setenv("RELEASE_VERSION", "1.4.2")
    monkeypatch.setenv("ENVIRONMENT", "staging")
    monkeypatch.setenv("METRICS_TOKEN", "a, b")
    get_settings.cache_clear()
    conf = get_settings()
    assert (conf.SLOW_REQUEST_THRESHOLD, conf.LOG_FORMAT, conf.VERSION, conf.ENVIRONMENT) == (0.25, "console", "1.4.2", "staging")
    assert conf.METRICS_TOKENS == ("a", "b")
    assert conf.SENTRY_ENVIRONMENT == "staging"


def test_observe_key_wins_over_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_FORMAT", "console")
    with override_settings(OBSERVE={"LOG_FORMAT": "json"}):
        assert get_settings().LOG_FORMAT == "json"


def test_accessor_resets_when_observe_changes() -> None:
    with override_settings(OBSERVE={"SLOW_REQUEST_THRESHOLD": 2.0}):
        assert get_settings().SLOW_REQUEST_THRESHOLD == 2.0
        with override_settings(OBSERVE={"SLOW_REQUEST_THRESHOLD": 3.5}):
            assert get_settings().SLOW_REQUEST_THRESHOLD == 3.5
        assert get_settings().SLOW_REQUEST_THRESHOLD == 2.0


@pytest.mark.parametrize(
    ("observe", "message"),
    [
        (
            {"SLOW_REQUEST_THRESHOLD": "fast"},
            "OBSERVE['SLOW_REQUEST_THRESHOLD'] must be a number of seconds between 0 and 86400, got str. "
            "Use e.g. OBSERVE = {'SLOW_REQUEST_THRESHOLD': 1.0}.",
        ),
        (
            {"LOG_FORMAT": "xml"},
            "OBSERVE['LOG_FORMAT'] must be one of 'json', 'console', 'text', got 'xml'. Use e.g. OBSERVE = {'LOG_FORMAT': 'json'}.",
        ),
        (
            {"SENTRY_TRACES_SAMPLE_RATE": 3.0},
            "OBSERVE['SENTRY_TRACES_SAMPLE_RATE'] must be a number between 0 and 1, got 3.0. "
            "Use e.g. OBSERVE = {'SENTRY_TRACES_SAMPLE_RATE': 0.1}.",
        ),
        (
            {"ACCESS_LOG": "yes"},
            "OBSERVE['ACCESS_LOG'] must be True or False, got str. Use e.g. OBSERVE = {'ACCESS_LOG': True}.",
        ),
        (
            {"REDACT_KEYS": "password"},
            "OBSERVE['REDACT_KEYS'] must be a list of strings, got str. Use e.g. OBSERVE = {'REDACT_KEYS': ['value']}, or [] for none.",
        ),
        (
            {"REQUEST_ID_HEADER": "X Request\nID"},
            "OBSERVE['REQUEST_ID_HEADER'] must be an HTTP header name such as 'X-Request-ID' (letters, digits and '-'), got str.",
        ),
        (
            {"METRICS_PATH": "/metrics"},
            "OBSERVE['METRICS_PATH'] must be a URL path without the leading slash, e.g. 'metrics' or 'api/v1/metrics', got '/metrics'.",
        ),
    ],
)
def test_bad_value_fails_check_with_id_and_hint(observe: dict, message: str) -> None:  # type: ignore[type-arg]
    with override_settings(OBSERVE=observe):
        assert checks.check_settings(None) == [Error(message, hint=checks.CHECK_IDS["django_observe.E001"][1], id="django_observe.E001")]
        # Servers run no checks: at run time the wrong key takes its default instead of stopping the site.
        [key] = observe
        assert getattr(get_settings(), key) == _typed_default(key)


def _typed_default(key: str) -> object:
    default = DEFAULTS[key].default
    if key == "REDACT_KEYS":
        return tuple(default)
    return tuple(default) if isinstance(default, list) else default


def test_bad_env_var_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLOW_REQUEST_THRESHOLD", "fast")
    with override_settings(OBSERVE={}):
        [error] = checks.check_settings(None)
    assert error.id == "django_observe.E001"
    assert error.msg.startswith("Environment variable SLOW_REQUEST_THRESHOLD: ")


def test_observe_not_a_dict_is_an_error() -> None:
    with override_settings(OBSERVE=["LOG_FORMAT"]):
        assert checks.check_settings(None) == [
            Error(
                "settings.OBSERVE must be a dict, got list. Use e.g. OBSERVE = {}.",
                hint=checks.CHECK_IDS["django_observe.E001"][1],
                id="django_observe.E001",
            )
        ]


def test_typo_key_warns_with_closest_name() -> None:
    with override_settings(OBSERVE={"SLOW_REQUEST_TRESHOLD": 0.5}):
        assert checks.check_unknown_keys(None) == [
            Warning(
                "Unknown OBSERVE key 'SLOW_REQUEST_TRESHOLD'; it has no effect.",
                hint="Did you mean 'SLOW_REQUEST_THRESHOLD'?",
                id="django_observe.W001",
            )
        ]


def test_wrong_value_is_never_echoed_when_it_may_be_a_secret() -> None:
    with override_settings(OBSERVE={"SENTRY_DSN": ["https://secret-key@sentry.example/1"]}):
        [error] = checks.check_settings(None)
    assert "secret-key" not in error.msg


def test_settings_reference_is_current() -> None:
    assert (DOCS / "settings.md").read_text() == render_reference(), (
        "docs/settings.md is stale: run `python -m django_observe.conf > docs/settings.md`"
    )


def test_typed_settings_have_one_field_per_option() -> None:
    import dataclasses

    from django_observe.conf import ObserveSettings

    assert [field.name for field in dataclasses.fields(ObserveSettings)] == list(DEFAULTS)
    conf = get_settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        conf.LOG_FORMAT = "console"  # type: ignore[misc]
    assert isinstance(conf.SLOW_REQUEST_THRESHOLD, float) and isinstance(conf.METRICS_LATENCY_BUCKETS, tuple)


def test_an_invalid_key_takes_its_default_and_is_logged_once_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    from prometheus_client import REGISTRY

    from django_observe.conf import report_invalid
    from django_observe.metrics import get_metrics

    get_metrics()
    before = REGISTRY.get_sample_value("observe_internal_errors_total", {"component": "settings"}) or 0.0
    with override_settings(OBSERVE={"LOG_LEVEL": "VERBOSE", "METRICS_LATENCY_BUCKETS": [1, 0.5], "HEALTH_DEADLINE": 0}):
        conf = get_settings()
        assert (conf.LOG_LEVEL, conf.HEALTH_DEADLINE) == ("INFO", 5.0)
        assert conf.METRICS_LATENCY_BUCKETS == tuple(DEFAULTS["METRICS_LATENCY_BUCKETS"].default)
        report_invalid()
        report_invalid()  # once per key and process
    errors = [r for r in caplog.records if r.levelname == "ERROR" and "Invalid setting" in r.getMessage()]
    assert sorted(r.getMessage().split()[2] for r in errors) == ["HEALTH_DEADLINE,", "LOG_LEVEL,", "METRICS_LATENCY_BUCKETS,"]
    assert REGISTRY.get_sample_value("observe_internal_errors_total", {"component": "settings"}) == before + 3


def test_on_change_runs_for_the_settings_it_names_only() -> None:
    from django_observe.conf import on_change

    calls: list[str] = []
    on_change("CACHES", "CELERY_*")(lambda: calls.append("deps"))
    on_change()(lambda: calls.append("observe"))
    with override_settings(CELERY_BROKER_URL="memory://"):
        pass
    with override_settings(OBSERVE={"LOG_FORMAT": "console"}):
        assert get_settings().LOG_FORMAT == "console"  # the accessor is reset before any callback
    with override_settings(TIME_ZONE="UTC"):
        pass
    assert calls == ["deps", "deps", "observe", "observe"]  # enter and exit of each override
