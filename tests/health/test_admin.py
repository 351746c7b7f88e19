"""The admin Health page, rendered by the test client (the browser test is in tests/integration)."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from django_observe.health import history
from django_observe.health.runner import CheckResult

pytestmark = pytest.mark.django_db
P = "tests.health.probes."
URL = "/admin/django_observe/health/"


def _history(now: datetime.datetime) -> None:
    """Ten hours of runs of 'search': fails 3 times in a row 4 hours ago (an incident), then recovers."""
    for minutes_ago in range(600, 0, -20):
        at = now - datetime.timedelta(minutes=minutes_ago)
        failing = 220 <= minutes_ago <= 260
        result = CheckResult(
            "search",
            "fail" if failing else "pass",
            0.01 + minutes_ago / 60000,
            True,
            "search is down" if failing else "",
            "ConnectionError" if failing else "",
        )
        history.record([result, CheckResult("ok", "pass", 0.002, True)], trigger="test", started_at=at)


def test_health_page_shows_status_uptime_chart_incidents_and_runs(admin_client: Client, observe: Callable[..., None]) -> None:
    observe(
        {"search": P + "Counting", "ok": P + "Counting", "queue": {"check": P + "Warns", "critical": False}}, HEALTH_FAILURE_THRESHOLD=3
    )
    _history(timezone.now())
    response = admin_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="overall-status" class="pill degraded"' in html
    rows = dict(re.findall(r'<tr class="check-row" data-check="([^"]+)">(.*?)</tr>', html, re.S))
    assert list(rows) == ["search", "ok", "queue"]
    assert '<span class="pill warn">warn</span>' in rows["queue"] and "queue is long" in rows["queue"]
    expected = history.uptime("search", 24)
    assert expected is not None and expected < 100
    assert f"{expected:.2f} %" in rows["search"]
    assert "100.00 %" in rows["ok"]
    assert re.search(r'<polyline class="avg" points="[\d., ]+">', rows["search"])
    assert 'class="failure"' in rows["search"] and 'class="failure"' not in rows["ok"]
    recent = html[html.index('id="recent-incidents"') : html.index('id="recent-runs"')]
    assert "search" in recent and "ConnectionError" in recent
    runs = html[html.index('id="recent-runs"') :]
    assert runs.count("/admin/django_observe/healthcheckrun/") == 20
    assert "<script" not in html.split('<div id="content-main"')[1]


def test_open_incident_is_listed(admin_client: Client, observe: Callable[..., None]) -> None:
    observe({"search": P + "Fails"}, HEALTH_FAILURE_THRESHOLD=1)
    history.record([CheckResult("search", "timeout", 2.0, True, "No answer within 2 s", "Timeout")], trigger="test")
    html = admin_client.get(URL).content.decode()
    open_part = html[html.index('id="open-incidents"') : html.index('id="recent-incidents"')]
    assert "search" in open_part and "Timeout" in open_part


def test_staff_only(client: Client, observe: Callable[..., None]) -> None:
    observe({})
    assert client.get(URL).status_code == 302
    client.force_login(User.objects.create_user("plain", password="x"))
    assert client.get(URL).status_code == 302
    staff = User.objects.create_user("ops", password="x", is_staff=True)
    client.force_login(staff)
    # Model view permissions, as on the Errors pages (tests/hardening/test_health_admin.py has the rest).
    assert client.get(URL).status_code == 403
    staff.user_permissions.set(Permission.objects.filter(codename__in=["view_health", "view_healthincident"]))
    assert client.get(URL).status_code == 200
    assert client.get("/admin/django_observe/healthincident/").status_code == 200
    assert client.get("/admin/django_observe/healthincident/add/").status_code == 403
