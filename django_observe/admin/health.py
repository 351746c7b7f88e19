"""Admin: the Health page (status per check, uptime, latency chart, incidents, recent runs) and read-only history.

The page lives at the changelist of the ``Health`` proxy model, so it shows up in
the admin index under "Observability". Everything is rendered on the server: the
latency chart is inline SVG, no JavaScript, no CDN.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..health import history
from ..health import runner as health_runner
from ..models import Health, HealthCheckResult, HealthCheckRun, HealthIncident, HealthRollup

CHART_WIDTH = 240
CHART_HEIGHT = 48
CHART_HOURS = 24


class _ReadOnly(admin.ModelAdmin):
    """History is written by the recorder only: no add, change or delete through the admin.

    Reading follows the model's view permission, as the Errors pages do (a superuser has it;
    grant "Can view health", "Can view health check run", ... to other staff).
    """

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@dataclass
class CheckRow:
    """One line of the Health page."""

    name: str
    critical: bool
    status: str
    response_time_ms: float
    message: str
    uptime_24h: float | None = None
    uptime_7d: float | None = None
    uptime_30d: float | None = None
    chart: dict[str, Any] = field(default_factory=dict)


@admin.register(Health)
class HealthAdmin(_ReadOnly):
    """The Health page: the changelist of the Health proxy model is replaced by the dashboard."""

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if not self.has_view_permission(request):
            # ModelAdmin.changelist_view checks this; the dashboard replaces that view, so it checks itself.
            raise PermissionDenied
        now = timezone.now()
        results = health_runner.runner.run(health_runner.specs())
        names = [result.name for result in results]
        uptime = {label: history.uptimes(names, hours, now) for label, hours in (("24h", 24), ("7d", 24 * 7), ("30d", 24 * 30))}
        charts = latency_charts(names, now)
        rows = [
            CheckRow(
                name=result.name,
                critical=result.critical,
                status=result.status,
                response_time_ms=result.response_time_ms,
                message=result.message,
                uptime_24h=uptime["24h"][result.name],
                uptime_7d=uptime["7d"][result.name],
                uptime_30d=uptime["30d"][result.name],
                chart=charts[result.name],
            )
            for result in results
        ]
        incidents = HealthIncident.objects.all()
        runs = HealthCheckRun.objects.prefetch_related(Prefetch("results", queryset=HealthCheckResult.objects.order_by("check_name")))[:20]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Health"),
            "opts": self.model._meta,
            "overall": health_runner.overall(results),
            "rows": rows,
            "open_incidents": list(incidents.filter(resolved_at__isnull=True)[:50]),
            "recent_incidents": list(incidents.filter(resolved_at__isnull=False)[:20]),
            "runs": list(runs),
            "chart_hours": CHART_HOURS,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/django_observe/health/index.html", context)


def latency_charts(names: list[str], now: datetime.datetime) -> dict[str, dict[str, Any]]:
    """Per check: SVG polyline points of hourly mean and p95 latency over the last 24 hours."""
    first = history.bucket_start(now, "hour") - datetime.timedelta(hours=CHART_HOURS - 1)
    rollups: dict[str, list[HealthRollup]] = {name: [] for name in names}
    for rollup in HealthRollup.objects.filter(check_name__in=names, period="hour", bucket_start__gte=first).order_by("bucket_start"):
        rollups[rollup.check_name].append(rollup)
    charts = {}
    for name in names:
        rows = rollups[name]
        top = max((row.p95_ms for row in rows), default=0.0) or 1.0
        step = CHART_WIDTH / (CHART_HOURS - 1)

        def point(row: HealthRollup, value: float, top: float = top, step: float = step) -> str:
            hours = (row.bucket_start - first).total_seconds() / 3600
            y = CHART_HEIGHT - 2 - (value / top) * (CHART_HEIGHT - 4)
            return f"{hours * step:.1f},{y:.1f}"

        charts[name] = {
            "avg": " ".join(point(row, row.avg_ms) for row in rows),
            "p95": " ".join(point(row, row.p95_ms) for row in rows),
            "failures": [{"x": f"{(row.bucket_start - first).total_seconds() / 3600 * step:.1f}"} for row in rows if row.failures],
            "dot": point(rows[0], rows[0].avg_ms).split(",") if rows else None,
            "top_ms": round(top, 1) if rows else None,
            "points": len(rows),
            "width": CHART_WIDTH,
            "height": CHART_HEIGHT,
        }
    return charts


class HealthCheckResultInline(admin.TabularInline):
    model = HealthCheckResult
    fields = ("check_name", "status", "critical", "duration_ms", "message", "error_class", "observed_value")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(HealthCheckRun)
class HealthCheckRunAdmin(_ReadOnly):
    list_display = ["started_at", "status", "trigger", "host", "duration_ms"]
    list_filter = ["status", "trigger"]
    date_hierarchy = "started_at"
    inlines = [HealthCheckResultInline]
    show_full_result_count = False  # skips a second COUNT(*) over a table that grows every minute


@admin.register(HealthIncident)
class HealthIncidentAdmin(_ReadOnly):
    list_display = ["check_name", "started_at", "resolved_at", "failure_count", "first_error_class", "flapping"]
    list_filter = ["check_name", "flapping", ("resolved_at", admin.EmptyFieldListFilter)]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[HealthIncident]:
        return super().get_queryset(request).order_by("-started_at")
