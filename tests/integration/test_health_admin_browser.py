"""The admin Health page in a real headless Chromium (Playwright), served by pytest-django's live_server."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.utils import timezone

from django_observe.health import history
from django_observe.health.runner import CheckResult
from tests.health.conftest import observe  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
P = "tests.health.probes."


@pytest.fixture(scope="module", autouse=True)
def _async_unsafe_until_flushed() -> Iterator[None]:
    """Like tests/conftest.py's ``allow_async_unsafe``, but module-scoped: live_server's
    transactional_db flushes the tables AFTER function fixtures are torn down, while
    Playwright's event loop still runs, and that flush raised SynchronousOnlyOperation."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


def test_staff_reads_status_uptime_chart_and_incidents(
    live_server: Any,
    admin_user: Any,
    page: Any,
    observe: Callable[..., None],  # noqa: F811  (the pytest fixture imported above)
    tmp_path: Any,
) -> None:
    from playwright.sync_api import expect

    observe({"search": P + "Fails", "ok": P + "Counting"}, HEALTH_FAILURE_THRESHOLD=2)
    now = timezone.now()
    for minutes_ago in range(300, 0, -15):
        failing = minutes_ago <= 30
        history.record(
            [
                CheckResult(
                    "search",
                    "fail" if failing else "pass",
                    0.02 + minutes_ago / 30000,
                    True,
                    "search is down" if failing else "",
                    "ConnectionError" if failing else "",
                ),
                CheckResult("ok", "pass", 0.003, True),
            ],
            trigger="test",
            started_at=now - datetime.timedelta(minutes=minutes_ago),
        )

    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.get_by_role("link", name="Health", exact=True).click()

    expect(page.locator("h1")).to_have_text("Health")
    expect(page.locator("#overall-status")).to_have_text("unhealthy")
    search = page.locator('tr.check-row[data-check="search"]')
    expect(search.locator(".pill")).to_have_text("fail")
    expect(search.locator("td.uptime-24h")).to_have_text(f"{history.uptime('search', 24):.2f} %")
    expect(page.locator('tr.check-row[data-check="ok"] td.uptime-24h')).to_have_text("100.00 %")
    expect(search.locator("svg.latency polyline.avg")).to_be_visible()
    expect(page.locator("#open-incidents")).to_contain_text("ConnectionError")
    expect(page.locator("#recent-runs tbody tr")).to_have_count(20)
    page.screenshot(path=str(tmp_path / "health.png"), full_page=True)

    # The run links open the read-only run page with its results.
    page.locator("#recent-runs tbody tr a").first.click()
    expect(page.locator("#content")).to_contain_text("search is down")
