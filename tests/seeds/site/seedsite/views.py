"""The guide teams' own views: ordinary work, failures, a Gemini call, sign-ups, business metrics."""

import logging
import os
import sys
import time
from pathlib import Path

import requests
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from django_observe import observe

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root: the docs example loader
from tests.seeds.docs_blocks import business_metrics_module

logger = logging.getLogger(__name__)
business = business_metrics_module()  # docs/seeds.md's example, as written
CREDITS = observe.counter("analytics_credits_consumed_total", "Credits consumed.", ["workspace"])


def work(request: HttpRequest) -> JsonResponse:
    logger.info("Processing job", extra={"job_id": "job456"})
    return JsonResponse({"ok": True})


def fail(request: HttpRequest) -> JsonResponse:
    raise RuntimeError("seed failure")


def slow(request: HttpRequest) -> JsonResponse:
    time.sleep(float(request.GET.get("seconds", "0.3")))
    return JsonResponse({"slow": True})


def db(request: HttpRequest) -> JsonResponse:
    count = get_user_model().objects.count()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")
    except DatabaseError:
        pass
    return JsonResponse({"users": count})


def cached(request: HttpRequest) -> JsonResponse:
    cache.set("seed", 1)
    return JsonResponse({"hit": cache.get("seed"), "miss": cache.get("seed-missing")})


def gemini(request: HttpRequest) -> JsonResponse:
    """A call to the (local, fake) Gemini API through requests: the hooks count it as service "gemini"."""
    path = "/fail" if request.GET.get("fail") else "/ok"
    status = requests.post(os.environ["GEMINI_URL"] + path, json={"prompt": "x"}, timeout=5).status_code
    return JsonResponse({"gemini": status})


def analyze(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"score": business.analyze(request.GET.get("prompt", "a prompt to analyze"))})


def workspace(request: HttpRequest, name: str) -> JsonResponse:
    business.workspace_opened(name)
    CREDITS.labels(name).inc(5)
    return JsonResponse({"workspace": name})


@csrf_exempt
def signup(request: HttpRequest) -> JsonResponse:
    # A back-office sign-up: staff, so the admin login form accepts the account.
    user = get_user_model().objects.create_user(request.POST["username"], password=request.POST["password"], is_staff=True)
    return JsonResponse({"id": user.pk}, status=201)
