"""The overview on the admin's Observability page: what broke, when, how often, and is everything healthy."""

from __future__ import annotations

import datetime
from typing import Any

from django import template
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

register = template.Library()

TOP_ERRORS = 5


@register.inclusion_tag("admin/django_observe/overview.html", takes_context=True)
def observe_overview(context: template.Context) -> dict[str, Any]:
    """Errors of the last 24 hours and the current health, each shown only with its view permission."""
    request = context["request"]
    now = timezone.now()
    result: dict[str, Any] = {"now": now}
    if request.user.has_perm("django_observe.view_errorgroup"):
        result["errors"] = _errors(now)
    if request.user.has_perm("django_observe.view_healthcheckrun"):
        result["health"] = _health()
    return result


def _errors(now: datetime.datetime) -> dict[str, Any]:
    from ..models import ErrorGroup, ErrorGroupHourly

    since = now - datetime.timedelta(hours=24)
    recent = (
        ErrorGroupHourly.objects.filter(hour__gte=since.replace(minute=0, second=0, microsecond=0))
        .values("group_id")
        .annotate(events=Sum("count"))
        .order_by("-events")
    )
    top = list(recent[:TOP_ERRORS])
    groups = ErrorGroup.objects.in_bulk([row["group_id"] for row in top])
    return {
        "events_24h": sum(row["events"] for row in recent),
        "unresolved": ErrorGroup.objects.filter(status=ErrorGroup.Status.UNRESOLVED).count(),
        "new_24h": ErrorGroup.objects.filter(first_seen__gte=since).count(),
        "top": [
            {"group": groups[row["group_id"]], "events": row["events"],
             "url": reverse("admin:django_observe_errorgroup_change", args=[row["group_id"]])}
            for row in top
            if row["group_id"] in groups
        ],
        "list_url": reverse("admin:django_observe_errorgroup_changelist"),
    }


def _health() -> dict[str, Any]:
    from ..models import HealthCheckRun, HealthIncident

    latest = HealthCheckRun.objects.order_by("-started_at").first()
    return {
        "latest": latest,
        "results": list(latest.results.order_by("check_name")) if latest else [],
        "open_incidents": list(HealthIncident.objects.filter(resolved_at__isnull=True).order_by("-started_at")[:10]),
        "page_url": reverse("admin:django_observe_health_changelist"),
    }
