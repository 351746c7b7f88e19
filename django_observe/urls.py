"""URLs for the host project: ``path("", include("django_observe.urls"))``.

Gives the metrics endpoint and the health endpoints at the paths set in OBSERVE
(``METRICS_PATH``, ``METRICS_PATH_ALIASES``, ``HEALTH_PATH``).
"""

from __future__ import annotations

from django.urls import URLPattern, path

from .conf import get_settings
from .health import views as health_views


def _patterns() -> list[URLPattern]:
    conf = get_settings()
    health = conf.HEALTH_PATH.strip("/")
    return [
        path(f"{health}/live", health_views.live, name="django_observe_health_live"),
    ]


urlpatterns = _patterns()
