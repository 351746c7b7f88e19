"""System checks on MIDDLEWARE placement."""

from __future__ import annotations

import pytest
from django.core.checks import Warning
from django.core.management import call_command
from django.test import override_settings

from django_observe.checks import check_middleware

OURS = "django_observe.middleware.ObserveMiddleware"


@override_settings(MIDDLEWARE=["django.middleware.common.CommonMiddleware"])
def test_missing_middleware_warns_with_hint() -> None:
    assert check_middleware(None) == [
        Warning(
            "ObserveMiddleware is not in MIDDLEWARE, so requests get no request id, access log or metrics.",
            hint=f"Add '{OURS}' as the first entry of MIDDLEWARE.",
            id="django_observe.W010",
        )
    ]


@override_settings(
    MIDDLEWARE=[
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        OURS,
    ]
)
def test_misplaced_middleware_warns_naming_what_runs_first() -> None:
    assert check_middleware(None) == [
        Warning(
            "ObserveMiddleware comes after SecurityMiddleware, SessionMiddleware in MIDDLEWARE: their work is not timed, "
            "their log lines have no request id, and they can redirect or refuse health probes.",
            hint=f"Move '{OURS}' to the first entry of MIDDLEWARE.",
            id="django_observe.W011",
        )
    ]


@override_settings(MIDDLEWARE=["tests.test_checks.SubclassedMiddleware", "django.middleware.common.CommonMiddleware"])
def test_subclass_counts_as_ours() -> None:
    assert check_middleware(None) == []


@pytest.mark.django_db  # Django 6's model field checks query the database's features
def test_demo_project_passes_all_checks() -> None:
    call_command("check", "--fail-level", "WARNING")


from django_observe.middleware import ObserveMiddleware  # noqa: E402


class SubclassedMiddleware(ObserveMiddleware):
    pass


def test_middleware_without_the_app_refuses_to_start() -> None:
    import pytest
    from django.core.exceptions import ImproperlyConfigured

    with override_settings(INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"]):
        with pytest.raises(ImproperlyConfigured, match="'django_observe' is not in INSTALLED_APPS"):
            ObserveMiddleware(lambda request: None)
