"""Demo views: one per kind of request an observability stack must get right."""

from __future__ import annotations

import asyncio
import logging
import time

import structlog
from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render

from .models import Item

logger = logging.getLogger(__name__)
slog = structlog.get_logger(__name__)


def index(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/index.html", {"items": Item.objects.order_by("pk")[:5]})


def fast(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True, "request_id": getattr(request, "request_id", None)})


def db(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"items": list(Item.objects.order_by("pk").values_list("name", flat=True)[:5])})


def slow(request: HttpRequest) -> JsonResponse:
    # Just above the slow threshold, so the access line is a WARNING.
    time.sleep(float(settings.OBSERVE.get("SLOW_REQUEST_THRESHOLD", 1.0)) + 0.1)
    return JsonResponse({"slow": True})


def boom(request: HttpRequest) -> HttpResponse:
    password = "local-secret-in-frame"  # noqa: F841  (a local a scrubber must hide)
    raise RuntimeError("demo failure: the boom view always raises")


def boom_db(request: HttpRequest) -> HttpResponse:
    """Writes a row, logs an error, then raises: under ATOMIC_REQUESTS the row is rolled back, the errors are kept."""
    Item.objects.create(name="rolled-back-by-boom-db")
    logger.error("order %s could not be saved", request.GET.get("order", "42"))
    raise RuntimeError("demo failure after a database write")


def db_error(request: HttpRequest) -> JsonResponse:
    """A query that fails (a missing table), caught by the view: counted in database_errors_total, answered 200."""
    from django.db import DatabaseError, connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM observe_demo_no_such_table")
    except DatabaseError:
        return JsonResponse({"database_error": True})
    return JsonResponse({"database_error": False})


def cached(request: HttpRequest) -> JsonResponse:
    """Reads through the default cache: a miss (and a set) on the first call, hits after."""
    from django.core.cache import cache

    value = cache.get("demo:cached")
    if value is None:
        value = {"computed_at": time.time()}
        cache.set("demo:cached", value, 300)
    return JsonResponse(value)


def log_error(request: HttpRequest) -> JsonResponse:
    order = request.GET.get("order", "42")
    logger.error("order %s not found", order)
    slog.warning("structlog line from a view", order=order)
    return JsonResponse({"logged": True})


class LoginForm(forms.Form):
    username = forms.CharField()
    password = forms.CharField(widget=forms.PasswordInput)


def login_form(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        logger.info("login attempt", extra={"username": form.cleaned_data["username"], "password": form.cleaned_data["password"]})
        return JsonResponse({"ok": True})
    return render(request, "demo/form.html", {"form": form})


def item_detail(request: HttpRequest, pk: int) -> JsonResponse:
    item = get_object_or_404(Item, pk=pk)
    return JsonResponse({"id": item.pk, "name": item.name})


def stream(request: HttpRequest) -> StreamingHttpResponse:
    def chunks():
        for number in range(3):
            logger.info("streaming chunk %d", number)
            yield f"chunk {number}\n"

    return StreamingHttpResponse(chunks(), content_type="text/plain")


async def async_view(request: HttpRequest) -> JsonResponse:
    await asyncio.sleep(0)
    slog.info("async view ran")
    return JsonResponse({"ok": True, "request_id": getattr(request, "request_id", None)})


def cors(request: HttpRequest) -> JsonResponse:
    """A view that sets CORS expose headers itself, as django-cors-headers would."""
    response = JsonResponse({"ok": True})
    response["Access-Control-Expose-Headers"] = "X-Total-Count"
    return response


def interleave(request: HttpRequest) -> HttpResponse:
    """Logs three lines with a thread switch between each, to catch context bleeding between threads."""
    own_id = request.request_id  # type: ignore[attr-defined]
    for step in range(3):
        time.sleep(0.001)
        slog.info("interleave step", step=step, own_id=own_id)
    return HttpResponse(own_id)


async def interleave_async(request: HttpRequest) -> HttpResponse:
    """The same, with task switches on one event loop."""
    own_id = request.request_id  # type: ignore[attr-defined]
    for step in range(3):
        await asyncio.sleep(0.001)
        logger.info("interleave async step", extra={"own_id": own_id, "step": step})
    return HttpResponse(own_id)


def whoami(request: HttpRequest) -> JsonResponse:
    """Touches request.user (runs authentication), then logs."""
    user_id = request.user.pk if request.user.is_authenticated else None
    slog.info("whoami")
    return JsonResponse({"user_id": user_id})


def enqueue(request: HttpRequest) -> JsonResponse:
    """Publishes a Celery task from inside a request (the request id travels with it).

    ?task=work (with &fail=1 it raises), ?task=publish_child (publishes a task itself), ?task=chain
    (demo.work, then demo.record_context), else demo.record_context.
    """
    from . import tasks

    label = request.GET.get("label", "demo")
    chosen = request.GET.get("task", "")
    if chosen == "work":
        result = tasks.work.delay(label, fail=request.GET.get("fail") == "1")
    elif chosen == "publish_child":
        result = tasks.publish_child.delay(label)
    elif chosen == "chain":
        from celery import chain

        result = chain(tasks.work.si(label), tasks.record_context.si(f"{label}-tail")).apply_async()
        return JsonResponse({"task_id": result.id, "first_task_id": result.parent.id})
    else:
        result = tasks.record_context.delay(label)
    return JsonResponse({"task_id": result.id})


async def whoami_async(request: HttpRequest) -> JsonResponse:
    """Authenticates the async way (request.auser), then logs."""
    user = await request.auser()
    slog.info("whoami async")
    return JsonResponse({"user_id": user.pk if user.is_authenticated else None})
