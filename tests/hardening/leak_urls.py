"""A URLconf for the secret-parity test: one view that writes every kind of secret everywhere it can."""

from __future__ import annotations

import logging

import structlog
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable

logger = logging.getLogger("tests.leaky")

#: Each value must reach no output. Unique, so a hit names what leaked.
SECRETS = {
    "query": "QTOK-1a1",
    "header": "HDR-2b2",
    "cookie": "CK-3c3",
    "form": "FORMPW-4d4",
    "api_key_header": "APIKEY-5e5",
    "auth": "AUTH-6f6",
    "access_key": "AK-7a7",
    "passphrase": "PP-8b8",
    "pin": "PIN-9c9",
    "ssn": "SSN-0d0",
    "deep": "DEEP-1e1",
    "url_token": "URLTOK-2f2",
    "dsn_password": "DBPW-3a3",
    "exception_pair": "EXCPW-4b4",
    "exception_url": "EXCURL-5c5",
    "struct_token": "STRUCT-6d6",
    "health": "HCPW-7e7",
}


def leak(request: HttpRequest) -> HttpResponse:
    extra = {
        "X-Api-Key": SECRETS["api_key_header"],
        "auth": SECRETS["auth"],
        "access_key": SECRETS["access_key"],
        "passphrase": SECRETS["passphrase"],
        "pin": SECRETS["pin"],
        "ssn": SECRETS["ssn"],
        "payload": {"a": {"b": {"c": {"d": {"session_id": SECRETS["deep"]}}}}},
        "url": f"/cb?token={SECRETS['url_token']}&page=2",
    }
    logger.warning("callback %s failed, database %s", extra["url"], f"postgres://app:{SECRETS['dsn_password']}@db:5432/app", extra=extra)
    structlog.get_logger("tests.leaky").warning("outbound call", headers={"Authorization": f"Bearer {SECRETS['struct_token']}"}, **extra)
    raise RuntimeError(f"upstream said password={SECRETS['exception_pair']} for https://svc:{SECRETS['exception_url']}@api.example.com/")


class LeakyCheck(HealthCheck):
    def run(self) -> None:
        raise ServiceUnavailable(f"cannot reach redis://:{SECRETS['health']}@cache:6379/0 (password={SECRETS['health']})")


def reset_confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    raise RuntimeError("the reset link expired")


urlpatterns = [
    path("leak/", leak),
    path("reset/<uidb64>/<token>/", reset_confirm),
    path("admin/", __import__("django.contrib.admin", fromlist=["site"]).site.urls),
    path("", include("django_observe.urls")),
]
