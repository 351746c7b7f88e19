"""Health endpoints: /health/live (no I/O), /health/ready, /health, /health/detailed."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from ..conf import get_settings


@never_cache
def live(request: HttpRequest) -> HttpResponse:
    """Liveness: 200 while the process serves requests. Touches no dependency."""
    if request.method not in ("GET", "HEAD"):
        response = HttpResponse(status=405)
        response["Allow"] = "GET, HEAD"
        return response
    return JsonResponse({"status": "alive"})


def probe_view(path_info: str) -> Callable[[HttpRequest], HttpResponse] | None:
    """The probe view ObserveMiddleware answers for ``path_info`` itself, before other middleware runs."""
    prefix = "/" + get_settings().HEALTH_PATH.strip("/")
    if path_info == prefix + "/live" or path_info == prefix + "/live/":
        return live
    return None
