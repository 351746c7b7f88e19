"""A view that calls another service, for the request-id propagation tests (ROOT_URLCONF override)."""

from __future__ import annotations

import httpx
import requests
from django.http import HttpRequest, JsonResponse
from django.urls import include, path


def call(request: HttpRequest) -> JsonResponse:
    url = request.GET["url"]
    if request.GET.get("client") == "httpx":
        status = httpx.get(url).status_code
    else:
        status = requests.get(url, timeout=5).status_code
    return JsonResponse({"status": status})


async def call_async(request: HttpRequest) -> JsonResponse:
    async with httpx.AsyncClient() as client:
        response = await client.get(request.GET["url"])
    return JsonResponse({"status": response.status_code})


urlpatterns = [
    path("call/", call),
    path("call-async/", call_async),
    path("", include("django_observe.urls")),
]
