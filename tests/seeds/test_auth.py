"""Auth activity from Django's signals: logins through the real admin form, logouts, sign-ups, active users."""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.test import Client
from django.utils import timezone

from django_observe.metrics import auth
from django_observe.models import ErrorEvent
from tests.metrics.helpers import scrape_text

from .conftest import observe, scraped

pytestmark = pytest.mark.django_db

PASSWORD = "Corr3ct-H0rse-Battery"
WRONG = "wr0ng-Pa55word-Staple"


@pytest.fixture
def staff() -> Any:
    return get_user_model().objects.create_user("alice", "alice@example.com", PASSWORD, is_staff=True)


def _login(client: Client, username: str, password: str) -> int:
    return client.post("/admin/login/", {"username": username, "password": password, "next": "/admin/"}).status_code


def test_admin_logins_are_counted_by_result_and_no_password_is_anywhere(staff: Any, json_logs: Any) -> None:
    success, failure = scraped("user_logins_total", result="success"), scraped("user_logins_total", result="failure")
    # An error logged while a failed login is handled: the stored event then carries the login form.
    capture = logging.getLogger("tests.seeds.auth")

    def log_an_error(**kwargs: Any) -> None:
        capture.error("login trouble for a client")

    user_login_failed.connect(log_an_error, dispatch_uid="tests.seeds.log_an_error")
    try:
        assert _login(Client(), "alice", PASSWORD) == 302
        assert _login(Client(), "alice", WRONG) == 200
        assert _login(Client(), "nobody", WRONG) == 200
    finally:
        user_login_failed.disconnect(dispatch_uid="tests.seeds.log_an_error")

    assert scraped("user_logins_total", result="success") - success == 1
    assert scraped("user_logins_total", result="failure") - failure == 2
    failed = json_logs.events("login_failed")
    assert [(line["level"], line["logger"], line["username"]) for line in failed] == [
        ("warning", "django_observe.auth", "[Filtered]"),
        ("warning", "django_observe.auth", "[Filtered]"),
    ]
    assert all(line["request_id"] for line in failed), "the line links to the request"
    assert "ip" not in failed[0], "LOG_CLIENT_IP is off by default"
    stored = [json.dumps(event.data) for event in ErrorEvent.objects.all()]
    assert stored and all("login" in text for text in stored), "the error during the login was stored with its request"
    for where, text in (("logs", json_logs.text), ("error store", "\n".join(stored)), ("metrics", scrape_text(Client()))):
        assert PASSWORD not in text and WRONG not in text, f"a password reached the {where}"
    assert "nobody" not in json_logs.text, "the username is redacted by default"


def test_hashed_username_and_client_ip_when_the_settings_allow(staff: Any, json_logs: Any) -> None:
    with observe(AUTH_LOG_USERNAME="hash", LOG_CLIENT_IP=True):
        client = Client(REMOTE_ADDR="10.9.8.7")
        _login(client, "alice", WRONG)
        _login(client, "alice", "another-" + WRONG)
        _login(client, "mallory", WRONG)
    lines = json_logs.events("login_failed")
    assert [line["ip"] for line in lines] == ["10.9.8.7"] * 3
    usernames = [line["username"] for line in lines]
    assert usernames[0] == usernames[1] == auth.hashed_username("alice") and usernames[2] != usernames[0]
    assert usernames[0].startswith("hmac:") and len(usernames[0]) == len("hmac:") + 16
    assert "alice" not in json_logs.text and "mallory" not in json_logs.text


def test_failed_login_line_can_be_switched_off(staff: Any, json_logs: Any) -> None:
    with observe(AUTH_LOG_FAILED_LOGINS=False):
        before = scraped("user_logins_total", result="failure")
        _login(Client(), "alice", WRONG)
        assert scraped("user_logins_total", result="failure") == before + 1
    assert json_logs.events("login_failed") == []


def test_logouts_and_registrations(staff: Any) -> None:
    logouts, registrations = scraped("user_logouts_total"), scraped("user_registrations_total")
    client = Client()
    assert _login(client, "alice", PASSWORD) == 302
    assert client.post("/admin/logout/").status_code == 200
    Client().post("/admin/logout/")  # anonymous: not a logout
    get_user_model().objects.create_user("bob", password=PASSWORD)
    staff.first_name = "Alice"
    staff.save()  # an update is not a registration
    assert scraped("user_logouts_total") - logouts == 1
    assert scraped("user_registrations_total") - registrations == 1


def test_auth_metrics_can_be_switched_off(staff: Any) -> None:
    with observe(AUTH_METRICS=False):
        before = scraped("user_logins_total", result="success")
        _login(Client(), "alice", PASSWORD)
        assert scraped("user_logins_total", result="success") == before


def test_active_users_is_computed_at_scrape_time_from_last_login(staff: Any, django_assert_num_queries: Any) -> None:
    users = get_user_model().objects
    now = timezone.now()
    users.create_user("recent", password=PASSWORD, last_login=now - datetime.timedelta(hours=2))
    users.create_user("old", password=PASSWORD, last_login=now - datetime.timedelta(days=3))
    users.create_user("never", password=PASSWORD)
    assert "active_users" not in scrape_text(Client()), "optional: off by default"
    with observe(ACTIVE_USERS_METRIC=True):
        auth.active_users.forget()
        with django_assert_num_queries(1):
            Client().get("/fast/")
            Client().get("/fast/")  # requests never count users
            assert scraped("active_users") == 1
        _login(Client(), "alice", PASSWORD)
        assert scraped("active_users") == 1, "the count is reused for a minute"
        auth.active_users.forget()
        assert scraped("active_users") == 2
    with observe(ACTIVE_USERS_METRIC=True, ACTIVE_USERS_WINDOW=7 * 86_400):
        assert scraped("active_users") == 3
