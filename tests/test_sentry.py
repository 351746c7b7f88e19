"""sentry.py: how init_sentry() wires sentry-sdk (lean by default, settings, adoption of a host's client, refusals).

What is captured and how it is stored is in tests/errors/; here, what the SDK setup changes for the user.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sentry_sdk
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from django_observe import sentry
from django_observe.errors import capture
from django_observe.models import ErrorEvent, ErrorGroup

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def observe(settings: Any) -> Iterator[Callable[..., None]]:
    """observe(KEY=value) changes OBSERVE for one test; errors are stored inline, and init_sentry() runs
    again afterwards with the original settings, so the next test gets the usual client."""
    original = settings.OBSERVE

    def update(**keys: Any) -> None:
        settings.OBSERVE = {**settings.OBSERVE, **keys}

    update(ERRORS_SYNC=True)
    sentry.init_sentry()
    yield update
    settings.OBSERVE = original
    sentry.init_sentry()


@pytest.fixture
def client500() -> Client:
    """A test client that returns Django's 500 page instead of re-raising the view's exception."""
    return Client(raise_request_exception=False)


@pytest.fixture
def host_client() -> Iterator[Any]:
    """The host project called sentry_sdk.init() itself, with its own before_send; ours is restored afterwards."""
    seen: list[str] = []

    def theirs(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
        seen.append(event.get("message", ""))
        event.setdefault("tags", {})["host_hook"] = "yes"
        return event

    sentry_sdk.init(dsn=None, default_integrations=False, auto_enabling_integrations=False, before_send=theirs)
    yield seen
    sentry.init_sentry(dsn=None)  # options given: ours again, not an adoption


def test_lean_by_default_no_per_request_integration_and_our_own_capture_hooks(client500: Client) -> None:
    client = sentry_sdk.get_client()
    assert client.get_integration("django") is None and client.get_integration("logging") is None
    assert capture.log_handler() in logging.getLogger().handlers
    # ... and they capture: a failing request and an ERROR line are one group each.
    client500.get("/boom/")
    logging.getLogger("shop").error("stock sync failed")
    assert sorted(ErrorGroup.objects.values_list("title", flat=True)) == [
        "RuntimeError: demo failure: the boom view always raises",
        "stock sync failed",
    ]


def test_release_and_environment_come_from_the_settings(observe: Callable[..., None]) -> None:
    observe(VERSION="2.4.1", SENTRY_ENVIRONMENT="staging")
    sentry.init_sentry()
    assert (sentry_sdk.get_client().options["release"], sentry_sdk.get_client().options["environment"]) == ("2.4.1", "staging")
    sentry.capture_message("after the deploy")
    event = ErrorEvent.objects.get()
    assert (event.release, event.environment) == ("2.4.1", "staging")
    assert ErrorGroup.objects.get().last_release == "2.4.1"


def test_keyword_arguments_reach_sentry_sdk_and_capture_still_works() -> None:
    sentry.init_sentry(max_breadcrumbs=7)
    assert sentry_sdk.get_client().options["max_breadcrumbs"] == 7
    assert sentry.capture_message("still stored") is not None
    assert ErrorGroup.objects.get().title == "still stored"


def test_user_before_send_is_chained_and_can_drop(observe: Callable[..., None]) -> None:
    seen = []

    def mine(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
        seen.append(event["tags"]["request_id"] if "tags" in event else None)
        return None if "drop me" in event.get("message", "") else event

    sentry.init_sentry(before_send=mine)
    sentry.capture_message("keep me")
    sentry.capture_message("drop me")
    assert len(seen) == 2
    assert list(ErrorGroup.objects.values_list("title", flat=True)) == ["keep me"]


def test_with_sentry_disabled_errors_are_still_stored_locally(observe: Callable[..., None]) -> None:
    observe(SENTRY_ENABLED=False)
    global_client = sentry_sdk.get_client()
    sentry.init_sentry()
    try:
        assert sentry_sdk.get_client() is global_client  # the SDK is left alone
        sentry.capture_message("local only")
        assert ErrorGroup.objects.get().title == "local only"
    finally:
        observe(SENTRY_ENABLED=True)


def test_a_client_the_host_initialised_is_adopted_with_its_hook_chained(host_client: list[str]) -> None:
    client = sentry_sdk.get_client()
    sentry.init_sentry()
    assert sentry_sdk.get_client() is client  # not replaced
    sentry.capture_message("through their client")
    assert host_client == ["through their client"]  # their before_send still runs, after our scrubbing
    event = ErrorEvent.objects.get()
    assert event.data["tags"]["host_hook"] == "yes"  # ... and what it returned is what we stored


def test_adopting_the_same_host_client_twice_keeps_its_hook(host_client: list[str]) -> None:
    sentry.init_sentry()
    sentry.init_sentry()  # e.g. a second django.setup(), or a test re-initialising
    sentry.capture_message("still through their hook")
    assert host_client == ["still through their hook"]
    assert ErrorEvent.objects.get().data["tags"]["host_hook"] == "yes"


def test_refuses_options_that_switch_the_sdk_scrubber_off() -> None:
    with pytest.raises(ImproperlyConfigured, match="EventScrubber"):
        sentry.init_sentry(data_collection={})
    with pytest.raises(ImproperlyConfigured, match="scrubbing"):
        sentry.init_sentry(event_scrubber=None)
