"""The health endpoints through the full middleware stack of the testproject."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import AsyncClient, Client, override_settings

P = "tests.health.probes."
SECRET_BITS = ["/srv/secret", "db-internal.example.com", "hunter2", "RuntimeError", socket.gethostname()]


def _ready_body(response: Any) -> dict[str, Any]:
    """The readiness body without its timestamp (a float, the time of the answer)."""
    body = dict(response.json())
    assert isinstance(body.pop("timestamp"), float)
    return body


def test_live_is_200_and_never_cached(client: Client) -> None:
    response = client.get("/health/live")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["alive"]) == ("alive", True)
    assert set(body) == {"status", "alive", "timestamp", "uptime_seconds"}, "no I/O, nothing else"
    assert "no-cache" in response["Cache-Control"] and "max-age=0" in response["Cache-Control"]
    assert response["X-Request-ID"]


def test_ready_passes_with_critical_checks_passing(client: Client, observe: Callable[..., None]) -> None:
    observe({"ok": P + "Counting", "optional": {"check": P + "Fails", "critical": False}})
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert _ready_body(response) == {"status": "pass", "checks": {"ok": "pass"}, "ready": True}


def test_ready_is_503_when_a_critical_check_fails_or_times_out(client: Client, observe: Callable[..., None]) -> None:
    observe({"search": P + "Fails", "hung": {"check": P + "Sleep", "timeout": 0.2}})
    began = time.monotonic()
    response = client.get("/health/ready")
    assert time.monotonic() - began < 1.5
    assert response.status_code == 503
    assert _ready_body(response) == {"status": "fail", "checks": {"search": "fail", "hung": "timeout"}, "ready": False}


@pytest.mark.django_db
def test_disk_above_warn_threshold_gives_200_with_status_warn(client: Client, observe: Callable[..., None]) -> None:
    observe({"disk": {"critical": True}}, keep=("disk", "database"), HEALTH_DISK_WARN_PERCENT=0.01, HEALTH_DISK_FAIL_PERCENT=100.0)
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert _ready_body(response) == {"status": "warn", "checks": {"database": "pass", "disk": "warn"}, "ready": True}
    summary = client.get("/health")
    assert (summary.status_code, summary.json()["status"]) == (200, "degraded")


def test_summary_has_status_version_environment_only(client: Client, observe: Callable[..., None]) -> None:
    observe({"ok": P + "Counting"}, VERSION="1.2.3", ENVIRONMENT="staging")
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "healthy", "version": "1.2.3", "environment": "staging"}


def test_summary_is_503_when_unhealthy(client: Client, observe: Callable[..., None]) -> None:
    observe({"search": P + "Fails"})
    response = client.get("/health/")
    assert (response.status_code, response.json()["status"]) == (503, "unhealthy")


def test_public_answers_never_show_exception_text_paths_or_hostnames(client: Client, observe: Callable[..., None]) -> None:
    observe({"leaky": P + "Leaky"}, keep=("disk", "storage"))
    for path in ("/health/live", "/health/ready", "/health", "/health/detailed"):
        body = client.get(path).content.decode()
        for bit in SECRET_BITS:
            assert bit not in body, (path, bit)


def test_detailed_needs_a_token_or_staff(client: Client, observe: Callable[..., None]) -> None:
    observe({"ok": P + "Counting"}, HEALTH_TOKENS=["s3cret-one", "s3cret-two"])
    anonymous = client.get("/health/detailed")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("X-Health-Token")
    assert client.get("/health/detailed", headers={"X-Health-Token": "wrong"}).status_code == 403
    response = client.get("/health/detailed", headers={"X-Health-Token": "s3cret-two"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "version", "environment", "uptime_seconds", "timestamp", "checks", "system"}
    assert body["checks"]["ok"]["status"] == "pass"
    assert body["checks"]["ok"]["observed_value"] == 1
    assert isinstance(body["checks"]["ok"]["response_time_ms"], float)
    assert set(body["system"]) == {"cpu_percent", "memory_percent", "disk_percent", "health_threads"}
    assert body["uptime_seconds"] > 0


@pytest.mark.django_db
def test_detailed_accepts_a_staff_session_and_refuses_other_users(
    admin_client: Client, client: Client, observe: Callable[..., None]
) -> None:
    observe({"search": P + "Fails"})
    response = admin_client.get("/health/detailed")
    assert response.status_code == 503
    assert response.json()["checks"]["search"] == {
        "status": "fail",
        "critical": True,
        "response_time_ms": response.json()["checks"]["search"]["response_time_ms"],
        "observed_value": None,
        "output": "search is down",
        "error_class": "ServiceUnavailable",
    }
    client.force_login(User.objects.create_user("plain", password="x"))
    assert client.get("/health/detailed").status_code == 403


def test_only_get_and_head(client: Client, observe: Callable[..., None]) -> None:
    observe({"ok": P + "Counting"})
    for path in ("/health/live", "/health/ready", "/health", "/health/detailed"):
        response = client.post(path)
        assert (response.status_code, response["Allow"]) == (405, "GET, HEAD"), path
    head = client.head("/health/ready")
    assert (head.status_code, head.content) == (200, b"")


REDIRECTING_STACK = dict(
    APPEND_SLASH=True,
    LOGIN_URL="/admin/login/",
    MIDDLEWARE=[
        "django_observe.middleware.ObserveMiddleware",
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.auth.middleware.LoginRequiredMiddleware",
    ],
    SECURE_SSL_REDIRECT=True,
)


def test_probes_are_answered_before_redirect_and_login_middleware(client: Client, observe: Callable[..., None]) -> None:
    observe({"ok": P + "Counting"})
    # Inside the test (not a decorator): overrides must end in the reverse order of the fixture's.
    with override_settings(**REDIRECTING_STACK):
        assert client.get("/fast/").status_code == 301, "the SSL redirect is active for normal pages"
        for path in ("/health/live", "/health/ready", "/health", "/health/ready/"):
            assert client.get(path).status_code == 200, path


def test_url_patterns_serve_the_probes_without_our_middleware(client: Client, observe: Callable[..., None]) -> None:
    observe({"ok": P + "Counting"})
    stack = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.auth.middleware.LoginRequiredMiddleware",
    ]
    with override_settings(MIDDLEWARE=stack):
        assert _ready_body(client.get("/health/ready")) == {"status": "pass", "checks": {"ok": "pass"}, "ready": True}
        assert client.get("/health").status_code == 200
        assert client.get("/health/detailed").status_code == 401


def test_health_path_is_configurable(client: Client, observe: Callable[..., None]) -> None:
    observe({"ok": P + "Counting"}, HEALTH_PATH="ops/health")
    assert client.get("/ops/health/live").status_code == 200
    assert json.loads(client.get("/ops/health/ready").content)["status"] == "pass"


def test_asgi_ready_runs_checks_off_the_event_loop(observe: Callable[..., None]) -> None:
    observe({"hung": {"check": P + "Sleep", "timeout": 0.2}, "ok": P + "Counting"})

    async def probe() -> tuple[int, int, float]:
        began = time.monotonic()
        ready = await AsyncClient().get("/health/ready")
        elapsed = time.monotonic() - began
        return ready.status_code, (await AsyncClient().get("/health/live")).status_code, elapsed

    # Our own event loop in our own thread: a session-wide loop (Playwright's) may run in the main one.
    found: list[tuple[int, int, float]] = []
    worker = threading.Thread(target=lambda: found.append(asyncio.run(probe())))
    worker.start()
    worker.join(timeout=10)
    ready_status, live_status, elapsed = found[0]
    assert (ready_status, live_status) == (503, 200)
    assert elapsed < 1.5


def test_a_bug_of_ours_answers_503_and_is_counted(client: Client, observe: Callable[..., None], monkeypatch: pytest.MonkeyPatch) -> None:
    from prometheus_client import REGISTRY

    from django_observe.health import runner as health_runner

    observe({"ok": P + "Counting"})

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("internal")

    monkeypatch.setattr(health_runner.runner, "run", broken)
    before = REGISTRY.get_sample_value("observe_internal_errors_total", {"component": "health"}) or 0.0
    response = client.get("/health/ready")
    assert (response.status_code, response.json()) == (503, {"status": "fail"})
    assert REGISTRY.get_sample_value("observe_internal_errors_total", {"component": "health"}) == before + 1
