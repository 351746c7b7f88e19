"""The same four views for every stack; each stack adds the URLs its packages document."""

import os

from core import views
from django.conf import settings
from django.urls import include, path

urlpatterns = [
    path("ping", views.ping),
    path("aping", views.aping),
    path("db", views.db),
    path("boom", views.boom),
]

if settings.STACK == "peers":
    from health_check.views import HealthCheckView

    # django-prometheus exposition endpoint at /metrics.
    urlpatterns.append(path("", include("django_prometheus.urls")))
    # What a peer-stack user adds for a readiness probe: django-health-check 4.x with the
    # database and cache checks (the same two dependencies observe's /health/ready checks).
    urlpatterns.append(
        path(
            "health/ready",
            HealthCheckView.as_view(checks=["health_check.checks.Database", "health_check.checks.Cache"]),
        )
    )
if settings.PROJECT:
    from django.contrib import admin

    # What startproject's urls.py has.
    urlpatterns.append(path("admin/", admin.site.urls))
if settings.WITH_OBSERVE:
    # /metrics and /health, /health/live, /health/ready, /health/detailed (whatever has landed).
    urlpatterns.append(path("", include("django_observe.urls")))

if os.environ.get("BENCH_MANY_ROUTES"):
    from benchsite import many_routes

    # scale.py memory: thousands of distinct routes under /m/ (bench only).
    urlpatterns.append(path("m/", include(many_routes.urlpatterns(int(os.environ["BENCH_MANY_ROUTES"])))))
