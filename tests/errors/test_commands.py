"""observe_prune (retention) and observe_test_error (end-to-end proof)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from django_observe.models import ErrorEvent, ErrorGroup, ErrorGroupHourly

pytestmark = pytest.mark.django_db


def make_group(name: str, last_seen_days_ago: float, event_days_ago: list[float]) -> ErrorGroup:
    now = timezone.now()
    seen = now - timedelta(days=last_seen_days_ago)
    group = ErrorGroup.objects.create(
        fingerprint=name.ljust(64, "0"), title=name, first_seen=seen, last_seen=seen, count=len(event_days_ago)
    )
    for days in event_days_ago:
        ErrorEvent.objects.create(group=group, event_id=uuid.uuid4(), timestamp=now - timedelta(days=days))
    ErrorGroupHourly.objects.create(
        group=group, hour=(now - timedelta(days=last_seen_days_ago)).replace(minute=0, second=0, microsecond=0), count=1
    )
    return group


def prune(*args: str) -> str:
    out = StringIO()
    call_command("observe_prune", *args, stdout=out)
    return out.getvalue()


def test_prune_by_age_total_and_inactive_groups_in_batches() -> None:
    make_group("old", 100, [100, 95])
    make_group("fresh", 0, [0.1, 0.2, 0.3, 0.4, 0.5])
    make_group("recent-quiet", 5, [5])
    output = prune("--days", "30", "--max-events", "4", "--batch-size", "1")
    assert "Deleted 2 event(s) older than 30 days, 2 event(s) beyond 4" in output
    assert "1 inactive group(s)" in output
    assert sorted(ErrorGroup.objects.values_list("title", flat=True)) == ["fresh", "recent-quiet"]
    assert ErrorEvent.objects.count() == 4
    # The oldest went first: recent-quiet's 5-day-old event and fresh's oldest.
    assert not ErrorEvent.objects.filter(group__title="recent-quiet").exists()
    assert ErrorGroupHourly.objects.count() == 2


def test_prune_dry_run_deletes_nothing() -> None:
    make_group("old", 100, [100])
    output = prune("--days", "30", "--dry-run")
    assert output.startswith("Would delete 1 event(s) older than 30 days")
    assert "1 inactive group(s)" in output
    assert ErrorEvent.objects.count() == 1 and ErrorGroup.objects.count() == 1


def test_prune_refuses_nonsense() -> None:
    with pytest.raises(CommandError, match="--days must be between 1") as refused:
        call_command("observe_prune", "--days", "0", stderr=StringIO())
    assert refused.value.returncode == 2  # a usage error


@pytest.mark.usefixtures("sync_errors")
def test_observe_test_error_stores_the_test_error() -> None:
    out = StringIO()
    call_command("observe_test_error", stdout=out)
    assert "No SENTRY_DSN: nothing sent to Sentry." in out.getvalue()
    assert "Stored locally: error group" in out.getvalue()
    group = ErrorGroup.objects.get()
    assert group.exc_type.endswith("ObserveTestError")
    assert ErrorEvent.objects.get().data["tags"]["observe_test"] == "yes"


def test_system_checks_for_errors(settings: Any) -> None:
    from django.core.checks import Error

    from django_observe.checks import CHECK_IDS, check_errors, check_errors_deploy, check_settings

    settings.OBSERVE = {**settings.OBSERVE, "SENTRY_DSN": "not a dsn", "ERRORS_DATABASE": "nope", "SENTRY_BEFORE_SEND": "no.such.hook"}
    found = check_settings(None) + check_errors(None)
    assert [message.id for message in found] == ["django_observe.E040", "django_observe.E041", "django_observe.E042"]
    assert "not a dsn" not in found[0].msg  # a DSN carries a key: never echoed
    assert found[1] == Error(
        "OBSERVE['ERRORS_DATABASE'] = 'nope' is not in DATABASES ('default').",
        hint=CHECK_IDS["django_observe.E041"][1],
        id="django_observe.E041",
    )
    settings.OBSERVE = {
        **settings.OBSERVE,
        "SENTRY_DSN": "https://key@o1.ingest.sentry.io/2",
        "ERRORS_DATABASE": "default",
        "SENTRY_BEFORE_SEND": "",
        "ERRORS_SYNC": True,
    }
    assert check_errors(None) == []
    assert [message.id for message in check_errors_deploy(None)] == ["django_observe.W040"]


def test_prune_also_prunes_health_history() -> None:
    from django_observe.models import HealthCheckRun

    old = HealthCheckRun.objects.create(started_at=timezone.now() - timedelta(days=400), status="healthy")
    recent = HealthCheckRun.objects.create(started_at=timezone.now(), status="healthy")
    output = prune()
    assert "Health history: deleted" in output and "1 runs" in output
    assert list(HealthCheckRun.objects.values_list("pk", flat=True)) == [recent.pk]
    assert old.pk != recent.pk
