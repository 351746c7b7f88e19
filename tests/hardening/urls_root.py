"""A URLconf whose root comes from an include: ``path("", include(...))`` around ``path("", view)``."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("home")


inner = [path("", home, name="home")]

urlpatterns = [
    path("", include(inner)),
    path("", include("django_observe.urls")),
]
