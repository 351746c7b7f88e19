"""The Errors admin in a real headless Chromium (Playwright), served by pytest-django's live_server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from django_observe import sentry
from django_observe.models import ErrorGroup
from tests.errors.conftest import _fresh_store, observe  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module", autouse=True)
def _async_unsafe_until_flushed() -> Iterator[None]:
    """Module-scoped ``allow_async_unsafe``: live_server's transactional_db flushes the tables after
    function fixtures are torn down, while Playwright's event loop still runs."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture
def errors(observe: Any) -> None:  # noqa: F811  (the pytest fixture imported above)
    ErrorGroup.objects.all().delete()  # errors other tests logged earlier in this session (PostgreSQL keeps them)
    observe(ERRORS_SYNC=True)
    sentry.init_sentry()
    client = Client(raise_request_exception=False)
    client.get("/boom/", HTTP_X_REQUEST_ID="rid-browser-1")
    client.get("/log-error/?order=5", HTTP_X_REQUEST_ID="rid-browser-2")


def login(page: Any, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/admin/login/?next=/admin/django_observe/errorgroup/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")


def test_staff_lists_reads_and_acts_on_errors(live_server: Any, admin_user: Any, page: Any, errors: None, tmp_path: Any) -> None:
    from playwright.sync_api import expect

    login(page, live_server.url, "admin", "password")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#result_list")).to_contain_text("RuntimeError: demo failure: the boom view always raises")
    expect(page.locator("#result_list")).to_contain_text("order 5 not found")
    expect(page.locator("#result_list svg.observe-sparkline").first).to_be_visible()
    page.screenshot(path=str(tmp_path / "errors-list.png"), full_page=True)

    page.get_by_role("link", name="RuntimeError: demo failure: the boom view always raises").click()
    expect(page.locator("#group-status")).to_have_text("Unresolved")
    expect(page.locator("#group-count")).to_contain_text("1")
    expect(page.locator("details.frame.observe-inapp").first).to_contain_text("boom")
    expect(page.locator("details.frame.observe-inapp pre.source .current").first).to_contain_text("raise RuntimeError")
    expect(page.locator("#event-request-id")).to_have_text("rid-browser-1")
    expect(page.locator("#group-history")).to_contain_text("First seen")
    page.screenshot(path=str(tmp_path / "error-detail.png"), full_page=True)

    page.fill("input[name=release]", "2.0.1")
    page.click("#action-resolve")
    expect(page.locator("#group-status")).to_have_text("Resolved")
    expect(page.locator("#group-history")).to_contain_text("admin")
    expect(page.locator("#group-history")).to_contain_text("in release 2.0.1")

    # Bulk action from the list: reopen everything.
    page.goto(f"{live_server.url}/admin/django_observe/errorgroup/")
    page.check("#action-toggle")
    page.select_option("select[name=action]", "reopen")
    page.click("button[name=index]")
    expect(page.locator("ul.messagelist")).to_contain_text("1 error(s) reopened.")
    assert ErrorGroup.objects.filter(status="unresolved").count() == 2

    # "Send a test error" proves the pipeline end to end.
    page.click("#observe-test-error button")
    expect(page.locator("ul.messagelist")).to_contain_text("Test error sent")
    expect(page.locator("#result_list")).to_contain_text("ObserveTestError: django-observe test error sent by admin")


def test_anonymous_and_non_staff_users_are_refused(live_server: Any, page: Any, errors: None) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/admin/django_observe/errorgroup/")
    expect(page).to_have_url(f"{live_server.url}/admin/login/?next=/admin/django_observe/errorgroup/")
    expect(page.locator("#content")).not_to_contain_text("demo failure")

    User.objects.create_user("visitor", password="visitor-pw")
    login(page, live_server.url, "visitor", "visitor-pw")
    expect(page.locator(".errornote")).to_contain_text("staff account")
    page.goto(f"{live_server.url}/admin/django_observe/errorgroup/1/change/")
    expect(page).to_have_url(f"{live_server.url}/admin/login/?next=/admin/django_observe/errorgroup/1/change/")
