"""observe_export's options: thresholds reach the rules, bad values and paths are clear CommandErrors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings

from django_observe.monitoring import THRESHOLDS

from .helpers import alerts_by_name, export, rules_of

pytestmark = pytest.mark.django_db


def test_every_alert_has_severity_summary_description_and_runbook() -> None:
    alerts = alerts_by_name(rules_of())
    assert set(alerts) >= {
        "DjangoTargetDown",
        "DjangoHighErrorRate",
        "DjangoHighLatencyP95",
        "DjangoHighLatencyP99",
        "DjangoSlowRequests",
        "DjangoHighExceptionRate",
        "DjangoHealthCheckFailing",
        "DjangoHealthCheckFlapping",
        "DjangoDatabaseErrors",
        "DjangoSlowDatabaseQueries",
        "DjangoDatabasePoolNearExhaustion",
        "DjangoLowCacheHitRatio",
        "DjangoHighMemory",
        "DjangoErrorStoreDroppingEvents",
        "DjangoObserveInternalErrors",
    }
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}, name
        assert rule["annotations"]["summary"] and len(rule["annotations"]["description"]) > 60, name
    assert {name for name, rule in alerts.items() if rule["labels"]["severity"] == "critical" and name.startswith("Django")} == {
        "DjangoTargetDown",
        "DjangoHighErrorRate",
        "DjangoHealthCheckFailing",
    }


def test_default_thresholds_are_in_the_expressions() -> None:
    alerts = alerts_by_name(rules_of())
    assert alerts["DjangoHighErrorRate"]["expr"] == "job:http_requests_5xx:ratio_rate5m > 0.05 and job:http_requests:rate5m > 0.1"
    assert alerts["DjangoHighErrorRate"]["for"] == "5m"
    # The test project's SLOW_REQUEST_THRESHOLD is 0.5 s: p95 follows it, p99 is three times that.
    assert alerts["DjangoHighLatencyP95"]["expr"].startswith("job:http_request_duration_seconds:p95_5m > 0.5 and")
    assert alerts["DjangoHighLatencyP99"]["expr"].startswith("job:http_request_duration_seconds:p99_5m > 1.5 and")
    assert alerts["DjangoHighMemory"]["expr"].endswith("> 1073741824")
    assert alerts["DjangoDatabasePoolNearExhaustion"]["expr"].endswith("> 0.9")
    assert alerts["DjangoTargetDown"]["for"] == "2m" and alerts["DjangoHealthCheckFailing"]["for"] == "2m"
    assert "for" not in alerts["DjangoObserveInternalErrors"]  # any increase fires at once


def test_every_threshold_option_reaches_its_alert() -> None:
    args = [
        "--error-ratio",
        "0.02",
        "--min-rate",
        "0.5",
        "--latency-p95",
        "0.8",
        "--latency-p99",
        "4",
        "--slow-ratio",
        "0.3",
        "--exception-rate",
        "2",
        "--health-flaps",
        "6",
        "--db-error-rate",
        "0.7",
        "--db-query-p95",
        "0.3",
        "--pool-usage",
        "0.75",
        "--cache-hit-ratio",
        "0.4",
        "--memory-bytes",
        "512Mi",
        "--error-store-drops",
        "3",
        "--internal-errors",
        "9",
        "--target-down-for",
        "7m",
        "--health-failing-for",
        "45s",
        "--rate-window",
        "10m",
        "--job",
        "shop",
    ]
    alerts = alerts_by_name(rules_of(*args))
    expected = {
        "DjangoHighErrorRate": ("job:http_requests_5xx:ratio_rate10m > 0.02", "> 0.5"),
        "DjangoHighLatencyP95": ("p95_10m > 0.8",),
        "DjangoHighLatencyP99": ("p99_10m > 4",),
        "DjangoSlowRequests": ("> 0.3",),
        "DjangoHighExceptionRate": ('{job="shop"}[10m])) > 2',),
        "DjangoHealthCheckFlapping": (">= 6",),
        "DjangoDatabaseErrors": ("> 0.7",),
        "DjangoSlowDatabaseQueries": ("[10m]))) > 0.3 and", "> 0.5"),
        "DjangoDatabasePoolNearExhaustion": ("> 0.75",),
        "DjangoLowCacheHitRatio": ("< 0.4", "> 0.5"),
        "DjangoHighMemory": (f"> {512 * 1024 * 1024}",),
        "DjangoErrorStoreDroppingEvents": ("> 3",),
        "DjangoObserveInternalErrors": ("> 9",),
    }
    for name, parts in expected.items():
        for part in parts:
            assert part in alerts[name]["expr"], (name, part, alerts[name]["expr"])
    assert alerts["DjangoTargetDown"]["for"] == "7m" and alerts["DjangoHealthCheckFailing"]["for"] == "45s"
    assert "threshold 2%" in alerts["DjangoHighErrorRate"]["annotations"]["description"]
    assert len(expected) + 2 == len([name for name in alerts if name.startswith("Django")])  # every core alert checked


def test_for_override_and_the_old_slow_option() -> None:
    alerts = alerts_by_name(rules_of("--for", "0s", "--slow", "2.5"))
    assert all("for" not in rule for rule in alerts.values())
    assert "p95_5m > 2.5" in alerts["DjangoHighLatencyP95"]["expr"]
    assert "p99_5m > 7.5" in alerts["DjangoHighLatencyP99"]["expr"]
    assert {rule["for"] for rule in alerts_by_name(rules_of("--for", "30s")).values()} == {"30s"}


def test_a_job_name_with_quotes_is_escaped() -> None:
    alerts = alerts_by_name(rules_of("--job", 'my"job\\x'))
    assert alerts["DjangoTargetDown"]["expr"] == 'up{job="my\\"job\\\\x"} == 0'


def test_help_documents_every_threshold_and_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        call_command("observe_export", "--help")
    text = " ".join(capsys.readouterr().out.split())
    for threshold in THRESHOLDS:
        assert threshold.flag in text
        assert f"Default: {' '.join(threshold.documented_default().split())}" in text, threshold.flag


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--error-ratio", "5"], "--error-ratio must be a ratio above 0 and at most 1"),
        (["--error-ratio", "nan"], "--error-ratio must be a ratio"),
        (["--error-ratio", "0"], "--error-ratio must be a ratio"),
        (["--latency-p95", "0"], "--latency-p95 must be a number of seconds above 0"),
        (["--latency-p99", "inf"], "--latency-p99 must be a number of seconds above 0"),
        (["--exception-rate", "-1"], "--exception-rate must be a number per second"),
        (["--memory-bytes", "lots"], "--memory-bytes must be a size"),
        (["--memory-bytes", "0"], "--memory-bytes must be a size"),
        (["--health-flaps", "1.5"], "--health-flaps must be a whole number"),
        (["--target-down-for", "2 minutes"], "--target-down-for must be a Prometheus duration"),
        (["--for=-1m"], "--for must be a Prometheus duration"),
        (["--rate-window", "0s"], "--rate-window must be a Prometheus duration above 0"),
        (["--runbook-url", "https://wiki.example.com/runbooks"], "--runbook-url must contain {slug}"),
        (["--runbook-url", "https://wiki/{slug}/{page}"], "--runbook-url may only use {slug}"),
        (["--job", ""], "--job must be a non-empty name"),
        (["--job", "a\nb"], "--job must be a non-empty name"),
    ],
)
def test_bad_values_are_command_errors(args: list[str], message: str) -> None:
    with pytest.raises(CommandError) as caught:
        call_command("observe_export", "rules", *args)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--receivers", "webhook,sms"], "--receivers takes a comma-separated list"),
        (["--target", "app"], "--target must be host:port"),
        (["--alertmanager", "http://am:9093"], "--alertmanager must be host:port"),
        (["--scrape-interval", "0s"], "--scrape-interval must be a duration above 0"),
        (["--app-port", "70000"], "--app-port must be a TCP port"),
    ],
)
def test_bad_kit_values_are_command_errors(args: list[str], message: str, tmp_path: Path) -> None:
    with pytest.raises(CommandError) as caught:
        call_command("observe_export", "kit", "--output-dir", str(tmp_path / "kit"), *args)
    assert message in str(caught.value)
    assert not (tmp_path / "kit").exists()


def test_kit_needs_an_output_dir() -> None:
    with pytest.raises(CommandError, match="needs --output-dir"):
        call_command("observe_export", "kit")


def test_an_unwritable_output_is_a_command_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(CommandError, match=r"Cannot write .*a-file/rules.yml"):
        call_command("observe_export", "rules", "-o", str(blocker / "rules.yml"))
    with pytest.raises(CommandError, match="Cannot write"):
        call_command("observe_export", "kit", "--output-dir", str(blocker / "kit"))


def test_output_file_and_stdout_are_the_same(tmp_path: Path) -> None:
    call_command("observe_export", "rules", "-o", str(tmp_path / "rules.yml"))
    assert (tmp_path / "rules.yml").read_text() == export("rules")
    call_command("observe_export", "dashboard", "--output", str(tmp_path / "board.json"))
    assert json.loads((tmp_path / "board.json").read_text()) == json.loads(export("dashboard"))


def test_the_namespace_setting_reaches_rules_and_dashboard() -> None:
    with override_settings(OBSERVE={**settings.OBSERVE, "METRICS_NAMESPACE": "shop"}):
        text = export("rules")
        board = json.loads(export("dashboard"))
    assert "shop_http_requests_total" in text and "job:shop_http_requests:rate5m" in text
    assert " http_requests_total" not in text and "(http_requests_total" not in text
    assert board["uid"] == "django-observe-shop"
    assert yaml.safe_load(text)["groups"][0]["name"] == "django-django-observe-recording"
