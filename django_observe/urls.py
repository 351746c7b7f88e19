"""URLs for the host project: ``path("", include("django_observe.urls"))``.

Gives the metrics endpoint and the health endpoints at the paths set in OBSERVE
(``METRICS_PATH``, ``METRICS_PATH_ALIASES``, ``HEALTH_PATH``).
"""

from __future__ import annotations

from django.urls import URLPattern, path

from .conf import get_settings
from .health import views as health_views
from .metrics.export import metrics_view


def _patterns() -> list[URLPattern]:
    conf = get_settings()
    health = conf.HEALTH_PATH.strip("/")
    patterns = [
        path(health, health_views.summary, name="django_observe_health"),
        path(f"{health}/live", health_views.live, name="django_observe_health_live"),
        path(f"{health}/ready", health_views.ready, name="django_observe_health_ready"),
        path(f"{health}/detailed", health_views.detailed, name="django_observe_health_detailed"),
    ]
    # Metrics: the main path plus its aliases (e.g. api/v1/metrics), one view.
    patterns.append(path(conf.METRICS_PATH.strip("/"), metrics_view, name="django_observe_metrics"))
    patterns += [
        path(alias.strip("/"), metrics_view, name=f"django_observe_metrics_alias_{index}")
        for index, alias in enumerate(conf.METRICS_PATH_ALIASES)
    ]
    return patterns


urlpatterns = _patterns()
