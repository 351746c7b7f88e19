from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("work/", views.work),
    path("fail/", views.fail),
    path("slow/", views.slow),
    path("db/", views.db),
    path("cached/", views.cached),
    path("gemini/", views.gemini),
    path("analyze/", views.analyze),
    path("workspace/<str:name>/", views.workspace),
    path("signup/", views.signup),
    path("admin/", admin.site.urls),
    path("", include("django_observe.urls")),
]
