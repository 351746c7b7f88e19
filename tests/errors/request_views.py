"""Views for the capture tests of issue 12 (items 7, 13, 15): most read or set something, then fail."""

from __future__ import annotations

import logging

import sentry_sdk
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

logger = logging.getLogger("shop.orders")


class OrderFailed(Exception):
    pass


def post_then_fail(request: HttpRequest) -> HttpResponse:
    # Reading request.POST on a JSON request gives an empty form (the body is not form-encoded).
    fields = len(request.POST)
    raise OrderFailed(f"could not place the order ({fields} form fields)")


def tag_then_fail(request: HttpRequest) -> HttpResponse:
    sentry_sdk.set_tag("customer_tier", request.GET.get("tier", "gold"))
    sentry_sdk.set_extra("cart_size", 3)
    raise OrderFailed("tagged failure")


def fail(request: HttpRequest) -> HttpResponse:
    raise OrderFailed("untagged failure")


async def tag_then_fail_async(request: HttpRequest) -> HttpResponse:
    sentry_sdk.set_tag("customer_tier", "async-gold")
    raise OrderFailed("tagged async failure")


async def fail_async(request: HttpRequest) -> HttpResponse:
    raise OrderFailed("untagged async failure")


def log_then_fail(request: HttpRequest) -> HttpResponse:
    logger.error("order %s could not be saved", request.GET.get("order", "42"))
    raise OrderFailed("failure after a logged error")


def ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def missing(request: HttpRequest) -> HttpResponse:
    raise Http404("no such order")


urlpatterns = [
    path("post-then-fail/", post_then_fail),
    path("tag-then-fail/", tag_then_fail),
    path("fail/", fail),
    path("tag-then-fail-async/", tag_then_fail_async),
    path("fail-async/", fail_async),
    path("log-then-fail/", log_then_fail),
    path("ok/", ok),
    path("missing/", missing),
]
