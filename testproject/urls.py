from django.contrib import admin
from django.urls import include, path

from testproject.demo import views

urlpatterns = [
    path("", views.index, name="index"),
    path("fast/", views.fast, name="fast"),
    path("db/", views.db, name="db"),
    path("slow/", views.slow, name="slow"),
    path("boom/", views.boom, name="boom"),
    path("boom-db/", views.boom_db, name="boom-db"),
    path("db-error/", views.db_error, name="db-error"),
    path("cached/", views.cached, name="cached"),
    path("log-error/", views.log_error, name="log-error"),
    path("login-form/", views.login_form, name="login-form"),
    path("items/<int:pk>/", views.item_detail, name="item-detail"),
    path("stream/", views.stream, name="stream"),
    path("async/", views.async_view, name="async"),
    path("cors/", views.cors, name="cors"),
    path("whoami/", views.whoami, name="whoami"),
    path("whoami-async/", views.whoami_async, name="whoami-async"),
    path("enqueue/", views.enqueue, name="enqueue"),
    path("interleave/", views.interleave, name="interleave"),
    path("interleave-async/", views.interleave_async, name="interleave-async"),
    path("admin/", admin.site.urls),
    path("", include("django_observe.urls")),
]
