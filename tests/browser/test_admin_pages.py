"""Every Observability admin page in a real headless Chromium, served by the demo's own command.

One server for the module: ``scripts/demo.sh`` itself (on a free port, a temporary state dir,
SQLite, no services, the interpreter of this test run instead of a new venv), so this also proves
what a new user sees first: the styled admin, the URL and the credentials it prints, and every page
filled by ``observe_demo``. One browser; one logged-in context, plus one each for dark mode and a
375 px screen. Each page is saved as a screenshot (``OBSERVE_SCREENSHOTS=docs/img`` writes them
where the docs take them from) and checked for its data and for the admin's CSS being applied.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.servers import ROOT, free_port, stop

pytestmark = [pytest.mark.integration, pytest.mark.once]  # SQLite demo server: the same in every matrix combination

OVERVIEW = "/admin/django_observe/"
ERRORS = "/admin/django_observe/errorgroup/"
HEALTH = "/admin/django_observe/health/"
RUNS = "/admin/django_observe/healthcheckrun/"
INCIDENTS = "/admin/django_observe/healthincident/"
REGRESSION = "TimeoutError: payment gateway did not answer within 10 s"


@dataclass
class Demo:
    url: str
    password: str
    log_path: Path
    env: dict[str, str]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """``bash scripts/demo.sh`` until its banner says it runs; stopped (TERM to its process group) at the end."""
    state = tmp_path_factory.mktemp("demo-state")
    port = free_port()
    # A fresh clone's demo: SQLite and no services, whatever this test run is configured for.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "DJANGO_", "OBSERVE_", "PROMETHEUS_"))
        and key not in ("DATABASE_URL", "SQLITE_PATH", "REDIS_URL", "CELERY_BROKER_URL", "LOG_FORMAT")
    }
    env.update(DEMO_PYTHON=sys.executable, PORT=str(port), OBSERVE_STATE_DIR=str(state), PYTHONUNBUFFERED="1")
    log_path = state / "demo.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            ["bash", "scripts/demo.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    running = Demo(f"http://127.0.0.1:{port}", "", log_path, {**env, "DJANGO_SETTINGS_MODULE": "testproject.settings"})
    try:
        deadline = time.monotonic() + 150
        while "Press Ctrl-C to stop." not in running.log():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"scripts/demo.sh did not come up (exit {process.poll()}):\n{running.log()[-5000:]}")
            time.sleep(0.2)
        running.password = (state / "demo-admin-password").read_text().strip()
        visitor = "from django.contrib.auth.models import User; User.objects.create_user('visitor', password='visitor-pw-1')"
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", visitor], cwd=ROOT, env=running.env, check=True, capture_output=True, timeout=60
        )
        yield running
    finally:
        stop(process)


def shot(page: Any, name: str, tmp_path_factory: pytest.TempPathFactory, full_page: bool = True) -> None:
    """A screenshot (the whole page, or what the window shows for long lists); into $OBSERVE_SCREENSHOTS (docs/img) when set."""
    folder = Path(os.environ.get("OBSERVE_SCREENSHOTS") or tmp_path_factory.getbasetemp() / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)


def assert_styled(page: Any) -> None:
    """The admin's stylesheet was loaded AND applied (a computed style, not just an HTTP 200)."""
    loaded = page.evaluate(
        "Array.from(document.styleSheets).some(s => s.href && s.href.endsWith('/admin/css/base.css') && s.cssRules.length > 0)"
    )
    assert loaded, "admin/css/base.css is not loaded"
    assert page.evaluate("getComputedStyle(document.querySelector('#header')).display") == "flex", "base.css is not applied"


def login(page: Any, demo: Demo, username: str, password: str, next_url: str = OVERVIEW) -> None:
    page.goto(f"{demo.url}/admin/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")


@pytest.fixture(scope="module")
def admin(browser: Any, demo: Demo) -> Iterator[Any]:
    """The admin, logged in once; its cookies are reused by the dark and narrow contexts (a login costs a password hash)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
    page = context.new_page()
    login(page, demo, "admin", demo.password)
    yield page
    context.close()


def logged_in(browser: Any, admin: Any, **options: Any) -> Any:
    return browser.new_context(storage_state=admin.context.storage_state(), **options)


def test_demo_prints_url_and_credentials_and_serves_the_styled_admin(demo: Demo, browser: Any) -> None:
    banner = demo.log()
    assert f"{demo.url}/admin/django_observe/" in banner and "username: admin" in banner and f"password: {demo.password}" in banner
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{demo.url}/admin/")
    assert page.url == f"{demo.url}/admin/login/?next=/admin/"
    assert_styled(page)
    context.close()


def test_overview(admin: Any, demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> None:
    from playwright.sync_api import expect

    admin.goto(demo.url + OVERVIEW)
    assert_styled(admin)
    expect(admin.locator("#observe-links a")).to_have_count(7)  # five admin pages, /metrics, /health/detailed
    assert float(admin.locator("#observe-rate .observe-value").inner_text()) > 0
    expect(admin.locator("#observe-error-ratio")).to_contain_text("5xx: ")
    expect(admin.locator("#observe-p95 .observe-value")).to_contain_text("ms")
    expect(admin.locator("#observe-endpoints")).to_contain_text("boom/")
    expect(admin.locator("#observe-top-errors")).to_contain_text(REGRESSION)
    assert admin.locator("#observe-top-errors svg.observe-sparkline").count() == admin.locator("#observe-top-errors tbody tr").count() >= 6
    expect(admin.locator("#observe-health")).to_contain_text("database")
    assert admin.evaluate("getComputedStyle(document.querySelector('.observe-tiles')).display") == "grid", "overview.css is not applied"
    shot(admin, "overview", tmp_path_factory)


def test_errors_list(admin: Any, demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> None:
    from playwright.sync_api import expect

    admin.goto(demo.url + ERRORS)
    assert_styled(admin)
    rows = admin.locator("#result_list tbody tr")
    assert rows.count() >= 7, "six demo groups and the demo's live /boom/ error"
    for status in ("Unresolved", "Resolved", "Muted"):
        expect(admin.locator("#result_list .observe-status", has_text=status).first).to_be_visible()
    expect(admin.locator("#result_list")).to_contain_text("RuntimeError: demo failure: the boom view always raises")
    expect(admin.locator("#result_list svg.observe-sparkline").first).to_be_visible()
    assert admin.evaluate("getComputedStyle(document.querySelector('.observe-status')).color") == "rgb(255, 255, 255)"
    shot(admin, "errors", tmp_path_factory)


def test_error_detail_frames_tags_history(admin: Any, demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> None:
    from playwright.sync_api import expect

    admin.goto(demo.url + ERRORS)
    admin.get_by_role("link", name=REGRESSION).click()
    assert_styled(admin)
    expect(admin.locator("#group-status")).to_have_text("Unresolved")
    expect(admin.locator("#content-main")).to_contain_text("regressed")
    expect(admin.locator("details.frame.observe-inapp").first).to_contain_text("charge")
    expect(admin.locator("details.frame.observe-inapp pre.source .current").first).to_contain_text("raise TimeoutError")
    expect(admin.locator("#event-tags")).to_contain_text("acme-pay")
    expect(admin.locator("#event-request")).to_contain_text("/checkout/pay/")
    expect(admin.locator("#same-request")).to_contain_text("order %s could not be charged")
    history = admin.locator("#group-history")
    for kind in ("First seen", "Resolved", "Regressed"):
        expect(history).to_contain_text(kind)
    expect(history).to_contain_text("in release 1.4.1")
    shot(admin, "error-detail", tmp_path_factory)


def test_resolve_and_mute_actions(admin: Any, demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> None:
    from playwright.sync_api import expect

    admin.goto(demo.url + ERRORS)
    admin.get_by_role("link", name="KeyError: 'sku'").click()
    admin.fill("input[name=release]", "1.4.3")
    admin.click("#action-resolve")
    expect(admin.locator("ul.messagelist")).to_contain_text("Error resolved.")
    expect(admin.locator("#group-status")).to_have_text("Resolved")
    expect(admin.locator("#group-history")).to_contain_text("in release 1.4.3")

    admin.goto(demo.url + ERRORS)
    admin.get_by_role("link", name="ValueError: invalid literal for int() with base 10: 'abc'").click()
    admin.fill("input[name=hours]", "24")
    admin.click("#action-mute")
    expect(admin.locator("#group-status")).to_have_text("Muted")
    expect(admin.locator("#group-history")).to_contain_text("admin")
    shot(admin, "error-muted", tmp_path_factory)


def test_health_page(admin: Any, demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> None:
    from playwright.sync_api import expect

    admin.goto(demo.url + HEALTH)
    assert_styled(admin)
    cache = admin.locator('tr.check-row[data-check="cache"]')
    for window in ("24h", "7d", "30d"):
        uptime = float(cache.locator(f"td.uptime-{window}").inner_text().removesuffix(" %"))
        assert 95 < uptime < 100, (window, uptime)
    database = admin.locator('tr.check-row[data-check="database"]')
    assert float(database.locator("td.uptime-30d").inner_text().removesuffix(" %")) < 100
    expect(cache.locator("svg.latency polyline.avg")).to_be_visible()
    incidents = admin.locator("#recent-incidents")
    expect(incidents).to_contain_text("OperationalError")
    expect(incidents.locator("tr", has_text="cache")).to_contain_text("yes")  # flapping
    expect(admin.locator("#recent-runs tbody tr")).to_have_count(20)
    shot(admin, "health", tmp_path_factory)


def test_health_runs_and_incidents(admin: Any, demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> None:
    from playwright.sync_api import expect

    admin.goto(demo.url + RUNS)
    assert_styled(admin)
    expect(admin.locator("#result_list")).to_contain_text("demo")  # the trigger of the demo's runs
    expect(admin.locator(".xfull, .date-hierarchy, nav.toplinks").first).to_be_visible()
    shot(admin, "health-runs", tmp_path_factory, full_page=False)

    admin.locator("#result_list tbody tr a").first.click()
    expect(admin.locator("#content")).to_contain_text("database")
    shot(admin, "health-run", tmp_path_factory)

    admin.goto(demo.url + INCIDENTS)
    assert_styled(admin)
    rows = admin.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    expect(admin.locator("#result_list")).to_contain_text("TimeoutError")
    expect(admin.locator("#result_list")).to_contain_text("OperationalError")
    shot(admin, "health-incidents", tmp_path_factory)


def test_dark_mode_and_narrow_screen(browser: Any, admin: Any, demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> None:
    from playwright.sync_api import expect

    dark = logged_in(browser, admin, viewport={"width": 1280, "height": 900}, color_scheme="dark")
    page = dark.new_page()
    page.goto(demo.url + OVERVIEW)
    assert_styled(page)
    expect(page.locator("#observe-overview")).to_be_visible()
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(18, 18, 18)", f"the admin's dark theme: {background}"
    tile = page.evaluate("getComputedStyle(document.querySelector('.observe-tile')).backgroundColor")
    assert tile != "rgb(248, 248, 248)", "the overview follows the dark theme"
    shot(page, "overview-dark", tmp_path_factory)
    page.goto(demo.url + HEALTH)
    shot(page, "health-dark", tmp_path_factory)
    dark.close()

    narrow = logged_in(browser, admin, viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True)
    page = narrow.new_page()
    page.goto(demo.url + OVERVIEW)
    assert_styled(page)
    expect(page.locator("#observe-top-errors")).to_contain_text(REGRESSION)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, (
        "the page itself does not scroll sideways; wide tables scroll in their box"
    )
    shot(page, "overview-narrow", tmp_path_factory)
    narrow.close()


def test_anonymous_is_redirected_and_non_staff_refused(browser: Any, demo: Demo) -> None:
    from playwright.sync_api import expect

    context = browser.new_context()
    page = context.new_page()
    for path in (OVERVIEW, ERRORS, HEALTH, RUNS, INCIDENTS):
        page.goto(demo.url + path)
        assert page.url == f"{demo.url}/admin/login/?next={path}", path
        expect(page.locator("#content")).not_to_contain_text("payment gateway")

    login(page, demo, "visitor", "visitor-pw-1", next_url=ERRORS)
    expect(page.locator(".errornote")).to_contain_text("staff account")
    page.goto(demo.url + OVERVIEW)
    assert page.url.startswith(f"{demo.url}/admin/login/")
    context.close()
