"""Metrics system checks (02x): whole CheckMessage objects, as users see them."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.checks import Error, Warning

from django_observe.checks import CHECK_IDS, check_metrics, check_metrics_deploy, check_settings
from django_observe.metrics.workers import configured_workers

from .conftest import observe


@pytest.fixture(autouse=True)
def _no_worker_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WEB_CONCURRENCY", "GUNICORN_CMD_ARGS", "PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"):
        monkeypatch.delenv(name, raising=False)


def test_public_metrics_warn_on_deploy_outside_development() -> None:
    with observe(METRICS_PUBLIC=True, ENVIRONMENT="production"):
        assert check_metrics_deploy(None) == [
            Warning(
                "The metrics endpoint is public (OBSERVE['METRICS_PUBLIC'] = True) in environment 'production': "
                "anyone can read your traffic, routes and errors.",
                hint="Remove METRICS_PUBLIC, set OBSERVE['METRICS_TOKENS'] (or env METRICS_TOKEN) and put the token in "
                "Prometheus' scrape config (authorization: credentials).",
                id="django_observe.W020",
            )
        ]
    with observe(METRICS_PUBLIC=True, ENVIRONMENT="development"):
        assert check_metrics_deploy(None) == []
    with observe(ENVIRONMENT="production"):
        assert check_metrics_deploy(None) == []  # a token is set


def test_metrics_nobody_can_scrape_warn_on_deploy() -> None:
    with observe(METRICS_TOKENS=[], ENVIRONMENT="production"):
        assert [m.id for m in check_metrics_deploy(None)] == ["django_observe.W022"]
    with observe(METRICS_TOKENS=[], METRICS_ALLOWED_IPS=["10.0.0.0/8"], ENVIRONMENT="production"):
        assert check_metrics_deploy(None) == []


def test_several_workers_without_multiproc_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert check_metrics(None) == []
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    assert check_metrics(None) == [
        Warning(
            "4 worker processes are configured (WEB_CONCURRENCY) but PROMETHEUS_MULTIPROC_DIR is not set: "
            "each scrape of /metrics shows one worker's counts.",
            hint="Set PROMETHEUS_MULTIPROC_DIR to an empty directory and add 'from django_observe.gunicorn import *' to "
            "gunicorn.conf.py (docs/deployment.md).",
            id="django_observe.W021",
        )
    ]
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert check_metrics(None) == []


def test_worker_count_sources(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert configured_workers((tmp_path,)) is None
    (tmp_path / "gunicorn.conf.py").write_text("from django_observe.gunicorn import *\nworkers = 3\n")
    assert configured_workers((tmp_path,)) == (3, str(tmp_path / "gunicorn.conf.py"))
    monkeypatch.setenv("GUNICORN_CMD_ARGS", "--bind 0.0.0.0:8000 --workers=5")
    assert configured_workers((tmp_path,)) == (5, "GUNICORN_CMD_ARGS")
    monkeypatch.setenv("GUNICORN_CMD_ARGS", "-w 2 --timeout 30")
    assert configured_workers((tmp_path,)) == (2, "GUNICORN_CMD_ARGS")


def test_bad_values_are_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Value checks come with the settings (check_settings), under the key's own id.
    with observe(METRICS_ALLOWED_IPS=["10.0.0.0/8", "intranet"]):
        assert check_settings(None) == [
            Error(
                "OBSERVE['METRICS_ALLOWED_IPS'] has 'intranet', which is not an IP address or network. "
                "Write addresses or CIDR networks, e.g. ['10.0.0.0/8', '127.0.0.1'].",
                hint=CHECK_IDS["django_observe.E020"][1],
                id="django_observe.E020",
            )
        ]
    with observe(METRICS_LATENCY_BUCKETS=[1.0, 0.5]):
        assert [m.id for m in check_settings(None)] == ["django_observe.E021"]
    with observe(METRICS_NAMESPACE="my-shop"):
        assert [m.id for m in check_settings(None)] == ["django_observe.E023"]
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "missing"))
    assert [m.id for m in check_metrics(None)] == ["django_observe.E022"]


def test_metrics_path_taken_by_a_probe_warns() -> None:
    with observe(METRICS_PATH="health/live"):
        assert [m.id for m in check_metrics(None)] == ["django_observe.W023"]


def test_empty_or_short_tokens_warn_on_deploy() -> None:
    with observe(METRICS_TOKENS=[""], ENVIRONMENT="production"):
        ids = [m.id for m in check_metrics_deploy(None)]
    assert "django_observe.W024" in ids and "django_observe.W022" in ids  # an empty token opens nothing
    with observe(METRICS_TOKENS=["x" * 32]):
        assert check_metrics_deploy(None) == []
