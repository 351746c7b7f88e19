"""Admin pages of the local error tracker: the Errors list, a group's detail page, events.

Everything here is read-only except the lifecycle actions (resolve, mute, reopen) and
"Send a test error", which need the ``change`` permission on errors. Views go through
``admin_site.admin_view`` (login, staff, never_cache) like every admin page.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from ..conf import get_settings
from ..errors import capture, lifecycle
from ..models import ErrorEvent, ErrorGroup, ErrorGroupHourly

SPARK_HOURS = 24
RECENT_EVENTS = 20


def _actor(request: HttpRequest) -> str:
    return request.user.get_username() if request.user.is_authenticated else ""


def sparkline(counts: list[int], width: int = 120, height: int = 24) -> SafeString:
    """An inline SVG polyline of ``counts`` (oldest first); no JavaScript, follows the admin's colours."""
    peak = max(counts) or 1
    step = width / max(len(counts) - 1, 1)
    points = " ".join(f"{i * step:.1f},{height - 2 - (c / peak) * (height - 4):.1f}" for i, c in enumerate(counts))
    total = sum(counts)
    return format_html(
        '<svg class="observe-sparkline" width="{}" height="{}" viewBox="0 0 {} {}" role="img" aria-label="{}">'
        '<title>{}</title><polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{}"/></svg>',
        width,
        height,
        width,
        height,
        f"{total} events in the last 24 hours",
        f"{total} in 24 h, peak {max(counts)}/h",
        points,
    )


def hourly_counts(rows: list[ErrorGroupHourly], now: datetime) -> list[int]:
    """Events per hour for the last 24 hours, oldest first, zeros where nothing happened."""
    current = now.replace(minute=0, second=0, microsecond=0)
    by_hour = {row.hour: row.count for row in rows}
    return [by_hour.get(current - timedelta(hours=SPARK_HOURS - 1 - i), 0) for i in range(SPARK_HOURS)]


@admin.register(ErrorGroup)
class ErrorGroupAdmin(admin.ModelAdmin):
    """The Errors list and each group's detail page."""

    list_display = ["title_link", "status_badge", "level", "count", "last_24h", "first_seen", "last_seen"]
    list_display_links = None  # the title links to our own detail page
    list_filter = ["status", "level", "logger", "last_release", "last_environment"]
    search_fields = ["title", "culprit", "exc_type", "logger", "=fingerprint"]
    ordering = ["-last_seen"]
    show_full_result_count = False  # skips a second COUNT(*) over the whole table on filtered pages
    list_per_page = 50
    actions = ["resolve", "resolve_in_current_release", "mute_24h", "mute_100_events", "reopen"]
    change_list_template = "admin/django_observe/errors/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # groups are created by captured errors only

    def get_queryset(self, request: HttpRequest) -> QuerySet[ErrorGroup]:
        since = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=SPARK_HOURS - 1)
        recent = ErrorGroupHourly.objects.filter(hour__gte=since)
        return super().get_queryset(request).prefetch_related(Prefetch("hourly", queryset=recent, to_attr="recent_hourly"))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[ErrorGroup], search_term: str
    ) -> tuple[QuerySet[ErrorGroup], bool]:
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term and " " not in term and len(term) <= 128:
            # A request id pasted from a log line finds the errors of that request.
            found = found | queryset.filter(pk__in=ErrorEvent.objects.filter(request_id=term).values("group_id"))
        return found, may_have_duplicates

    @admin.display(description=_("title"), ordering="title")
    def title_link(self, group: ErrorGroup) -> SafeString:
        url = reverse("admin:django_observe_errorgroup_change", args=[group.pk])
        return format_html('<a href="{}">{}</a><div class="help">{}</div>', url, group.title, group.culprit)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, group: ErrorGroup) -> SafeString:
        return format_html('<span class="observe-status {}">{}</span>', group.status, group.get_status_display())

    @admin.display(description=_("last 24 h"))
    def last_24h(self, group: ErrorGroup) -> SafeString:
        return sparkline(hourly_counts(getattr(group, "recent_hourly", []), timezone.now()))

    # --- bulk actions ------------------------------------------------------------------

    @admin.action(description=_("Resolve selected errors"), permissions=["change"])
    def resolve(self, request: HttpRequest, queryset: QuerySet[ErrorGroup]) -> None:
        changed = lifecycle.resolve(list(queryset), actor=_actor(request))
        self.message_user(request, f"{changed} error(s) resolved.", messages.SUCCESS)

    @admin.action(description=_("Resolve selected errors in the running release"), permissions=["change"])
    def resolve_in_current_release(self, request: HttpRequest, queryset: QuerySet[ErrorGroup]) -> None:
        release = get_settings().VERSION
        changed = lifecycle.resolve(list(queryset), actor=_actor(request), release="" if release == "unknown" else release)
        self.message_user(request, f"{changed} error(s) resolved in release {release}.", messages.SUCCESS)

    @admin.action(description=_("Mute selected errors for 24 hours"), permissions=["change"])
    def mute_24h(self, request: HttpRequest, queryset: QuerySet[ErrorGroup]) -> None:
        changed = lifecycle.mute(list(queryset), actor=_actor(request), until=timezone.now() + timedelta(hours=24))
        self.message_user(request, f"{changed} error(s) muted for 24 hours.", messages.SUCCESS)

    @admin.action(description=_("Mute selected errors until 100 more events"), permissions=["change"])
    def mute_100_events(self, request: HttpRequest, queryset: QuerySet[ErrorGroup]) -> None:
        changed = lifecycle.mute(list(queryset), actor=_actor(request), more_events=100)
        self.message_user(request, f"{changed} error(s) muted until 100 more events.", messages.SUCCESS)

    @admin.action(description=_("Reopen selected errors"), permissions=["change"])
    def reopen(self, request: HttpRequest, queryset: QuerySet[ErrorGroup]) -> None:
        changed = lifecycle.reopen(list(queryset), actor=_actor(request))
        self.message_user(request, f"{changed} error(s) reopened.", messages.SUCCESS)

    # --- pages -------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(require_POST(self.test_error_view))
        return [path("test-error/", view, name="django_observe_errorgroup_test_error"), *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = {"can_send_test_error": self.has_change_permission(request), **(extra_context or {})}
        return super().changelist_view(request, extra)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The detail page (read-only); POST runs one lifecycle action on this group."""
        group = self.get_object(request, unquote(object_id))  # None for a missing or malformed id
        if group is None:
            raise Http404(f"No error with id {object_id!r}.")
        if not self.has_view_permission(request, group):
            raise PermissionDenied
        if request.method == "POST":
            return self._detail_action(request, group)
        events = group.events.order_by("-timestamp")
        recent = list(events[:RECENT_EVENTS])
        selected = None
        if event_pk := request.GET.get("event"):
            selected = events.filter(pk=event_pk).first() if event_pk.isdigit() else None
        selected = selected or (recent[0] if recent else None)
        context = {
            **self.admin_site.each_context(request),
            "title": group.title,
            "opts": self.model._meta,
            "group": group,
            "can_change": self.has_change_permission(request, group),
            "spark": sparkline(
                hourly_counts(list(group.hourly.filter(hour__gte=timezone.now() - timedelta(hours=SPARK_HOURS))), timezone.now()),
                width=480,
                height=60,
            ),
            "recent_events": recent,
            "stored_events": events.count(),
            "history": list(group.changes.all()[:50]),
            "running_release": get_settings().VERSION,
            **event_context(selected),
        }
        return TemplateResponse(request, "admin/django_observe/errors/group_detail.html", context)

    def _detail_action(self, request: HttpRequest, group: ErrorGroup) -> HttpResponse:
        if not self.has_change_permission(request, group):
            raise PermissionDenied
        action = request.POST.get("action")
        actor = _actor(request)
        if action == "resolve":
            lifecycle.resolve([group], actor=actor, release=request.POST.get("release", "").strip())
        elif action == "mute":
            hours = _positive_int(request.POST.get("hours"), maximum=24 * 366)
            more = _positive_int(request.POST.get("events"), maximum=10**9)
            until = timezone.now() + timedelta(hours=hours) if hours else None
            lifecycle.mute([group], actor=actor, until=until, more_events=more)
        elif action == "reopen":
            lifecycle.reopen([group], actor=actor)
        else:
            messages.error(request, "Unknown action.")
            return HttpResponseRedirect(request.path)
        messages.success(request, {"resolve": "Error resolved.", "mute": "Error muted.", "reopen": "Error reopened."}[action])
        return HttpResponseRedirect(request.path)

    def test_error_view(self, request: HttpRequest) -> HttpResponse:
        """Send a test error through the whole pipeline (Sentry when a DSN is set, and the local store)."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        event_id = capture.send_test_error(actor=_actor(request))
        messages.success(request, f"Test error sent (event id {event_id}). It appears in this list once stored.")
        return HttpResponseRedirect(reverse("admin:django_observe_errorgroup_changelist"))


def _positive_int(value: str | None, maximum: int) -> int | None:
    """A whole number from 1 to ``maximum`` (larger ones are capped: a year of hours, a billion events), else None."""
    try:
        number = int((value or "")[:20])
    except ValueError:
        return None
    return min(number, maximum) if number > 0 else None


def event_context(event: ErrorEvent | None) -> dict[str, Any]:
    """Template context for one stored event: exceptions with frames, request, tags, same-request events."""
    if event is None:
        return {"event": None}
    data = event.data if isinstance(event.data, dict) else {}
    exceptions = []
    for value in reversed((data.get("exception") or {}).get("values") or []):  # raised last first
        frames = []
        for frame in (value.get("stacktrace") or {}).get("frames") or []:
            lineno = frame.get("lineno") or 0
            pre = frame.get("pre_context") or []
            post = frame.get("post_context") or []
            lines = [(lineno - len(pre) + i, text, False) for i, text in enumerate(pre)]
            if frame.get("context_line") is not None:
                lines.append((lineno, frame.get("context_line"), True))
            lines += [(lineno + 1 + i, text, False) for i, text in enumerate(post)]
            frames.append(
                {
                    **frame,
                    "lines": lines,
                    "vars_items": sorted((frame.get("vars") or {}).items()) if isinstance(frame.get("vars"), dict) else [],
                }
            )
        exceptions.append({"type": value.get("type"), "value": value.get("value"), "module": value.get("module"), "frames": frames})
    request = data.get("request") if isinstance(data.get("request"), dict) else None
    same_request = []
    if event.request_id:
        same_request = list(ErrorEvent.objects.filter(request_id=event.request_id).exclude(pk=event.pk).select_related("group")[:20])
    logentry = data.get("logentry") or {}
    return {
        "event": event,
        "exceptions": exceptions,
        "message": logentry.get("formatted") or data.get("message") or "",
        "request_data": request,
        "tags": sorted((data.get("tags") or {}).items()) if isinstance(data.get("tags"), dict) else [],
        "extra": sorted((data.get("extra") or {}).items()) if isinstance(data.get("extra"), dict) else [],
        "same_request": same_request,
        "truncated": bool(data.get("_observe_truncated")),
    }


@admin.register(ErrorEvent)
class ErrorEventAdmin(admin.ModelAdmin):
    """Stored events, searchable by request id (the join to the logs) and event id."""

    list_display = ["timestamp", "group_link", "level", "request_id", "release", "environment"]
    list_display_links = ["timestamp"]
    list_filter = ["level", "environment", "release"]
    search_fields = ["=request_id", "=event_id"]
    list_select_related = ["group"]
    show_full_result_count = False
    ordering = ["-timestamp"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # events are evidence: never edited

    @admin.display(description=_("error"), ordering="group__title")
    def group_link(self, event: ErrorEvent) -> SafeString:
        url = reverse("admin:django_observe_errorgroup_change", args=[event.group_id])
        return format_html('<a href="{}?event={}">{}</a>', url, event.pk, event.group.title)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        event = self.get_object(request, unquote(object_id))
        if event is None:
            raise Http404(f"No error event with id {object_id!r}.")
        if not self.has_view_permission(request, event):
            raise PermissionDenied
        url = reverse("admin:django_observe_errorgroup_change", args=[event.group_id])
        return HttpResponseRedirect(f"{url}?event={event.pk}")
