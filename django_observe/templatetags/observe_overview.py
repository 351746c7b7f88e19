"""The overview on the admin's Observability page: what broke, when, how often, is everything healthy, and how busy.

Each part is shown only to users allowed to see what it summarises: errors with the view
permission on errors, health with the view permission on health runs, traffic to staff when
staff may read ``/metrics`` (``METRICS_ALLOW_STAFF``). Charts are inline SVG: no JavaScript,
no external asset, colours from the admin's CSS variables (dark mode included).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django import template
from django.db.models import Sum
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ..conf import get_settings
from ..metrics import recent

register = template.Library()

TOP_ERRORS = 8
SPARK_HOURS = 24


@register.inclusion_tag("admin/django_observe/overview.html", takes_context=True)
def observe_overview(context: template.Context) -> dict[str, Any]:
    """Traffic of the last hour, errors of the last 24 hours, current health and links into every page."""
    request = context["request"]
    user = request.user
    now = timezone.now()
    conf = get_settings()
    result: dict[str, Any] = {"now": now, "links": _links(context.get("app_list") or context.get("available_apps") or [])}
    if user.is_active and user.is_staff and conf.METRICS_ENABLED and conf.METRICS_ALLOW_STAFF:
        result["traffic"] = recent.summary()
        result["endpoints"] = _endpoint_links()
    if user.has_perm("django_observe.view_errorgroup"):
        result["errors"] = _errors(now)
    if user.has_perm("django_observe.view_health"):  # the Health page's own permission (admin/health.py)
        result["health"] = _health()
    return result


def _links(app_list: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """Every admin page of this app the user may open, from the admin's own list (which applies the permissions)."""
    for app in app_list:
        if app.get("app_label") == "django_observe":
            return [{"name": str(model["name"]), "url": model["admin_url"]} for model in app.get("models", []) if model.get("admin_url")]
    return []


def _endpoint_links() -> list[dict[str, str]]:
    """The app's own endpoints a staff session may open (the metrics text, the detailed health JSON)."""
    links = []
    for name in ("django_observe_metrics", "django_observe_health_detailed"):
        try:
            url = reverse(name)
            links.append({"name": url, "url": url})
        except NoReverseMatch:  # the host did not include django_observe.urls
            pass
    return links


def _errors(now: datetime.datetime) -> dict[str, Any]:
    from ..models import ErrorGroup, ErrorGroupHourly

    first_hour = now.replace(minute=0, second=0, microsecond=0) - datetime.timedelta(hours=SPARK_HOURS - 1)
    recent_rows = (
        ErrorGroupHourly.objects.filter(hour__gte=first_hour)
        .values("group_id")
        .annotate(events=Sum("count"))
        .order_by("-events", "group_id")
    )
    top = list(recent_rows[:TOP_ERRORS])
    groups = ErrorGroup.objects.in_bulk([row["group_id"] for row in top])
    hourly: dict[int, dict[datetime.datetime, int]] = {}
    for group_id, hour, count in ErrorGroupHourly.objects.filter(group_id__in=groups, hour__gte=first_hour).values_list(
        "group_id", "hour", "count"
    ):
        hourly.setdefault(group_id, {})[hour] = count
    return {
        "events_24h": sum(row["events"] for row in recent_rows),
        "unresolved": ErrorGroup.objects.filter(status=ErrorGroup.Status.UNRESOLVED).count(),
        "new_24h": ErrorGroup.objects.filter(first_seen__gte=now - datetime.timedelta(hours=24)).count(),
        "top": [
            {
                "group": groups[row["group_id"]],
                "events": row["events"],
                "url": reverse("admin:django_observe_errorgroup_change", args=[row["group_id"]]),
                "spark": sparkline(
                    [hourly.get(row["group_id"], {}).get(first_hour + datetime.timedelta(hours=i), 0) for i in range(SPARK_HOURS)]
                ),
            }
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
        "incidents_url": reverse("admin:django_observe_healthincident_changelist"),
    }


@register.simple_tag
def sparkline(counts: Sequence[int], width: int = 120, height: int = 24) -> SafeString:
    """An inline SVG line of ``counts`` (oldest first, one per hour), in the admin's link colour."""
    counts = list(counts) or [0]
    peak = max(counts) or 1
    step = width / max(len(counts) - 1, 1)
    points = " ".join(f"{i * step:.1f},{height - 2 - (count / peak) * (height - 4):.1f}" for i, count in enumerate(counts))
    total = sum(counts)
    return format_html(
        '<svg class="observe-sparkline" width="{}" height="{}" viewBox="0 0 {} {}" role="img" aria-label="{}">'
        '<title>{}</title><polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{}"/></svg>',
        width, height, width, height,
        f"{total} events in the last {len(counts)} hours", f"{total} in {len(counts)} h, peak {max(counts)}/h", points,
    )  # fmt: skip


@register.filter
def percent(value: float | None, digits: int = 1) -> str:
    """0.0123 -> '1.2 %'; None -> '–'."""
    return "–" if value is None else f"{value * 100:.{digits}f} %"


@register.filter
def milliseconds(seconds: float | None) -> str:
    """0.0456 -> '46 ms', 1.5 -> '1,500 ms'; None -> '–'."""
    if seconds is None:
        return "–"
    ms = seconds * 1000
    return f"{ms:,.1f} ms" if ms < 10 else f"{ms:,.0f} ms"
