"""The private APIs of other libraries we rely on (django_observe/_compat.py), pinned to the supported versions.

If an upgrade of Django, structlog or django-health-check renames one of them, these tests fail
here, with the name of the function to fix, instead of somewhere deep in a request.
"""

from __future__ import annotations

import logging.handlers
from pathlib import Path

import pytest
import structlog
from django.contrib.auth.models import AnonymousUser
from django.core.cache import caches
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.functional import SimpleLazyObject

from django_observe import _compat


@pytest.mark.django_db  # closing a response sends request_finished, which closes old DB connections
def test_response_closers_run_when_the_server_closes_the_response() -> None:
    calls: list[str] = []
    response = HttpResponse(b"ok")
    _compat.add_response_closer(response, lambda: calls.append("closed"))
    assert calls == []
    response.close()
    assert calls == ["closed"]


def test_evaluated_user_never_evaluates_a_lazy_user() -> None:
    request = RequestFactory().get("/")
    evaluated: list[bool] = []

    def load() -> AnonymousUser:
        evaluated.append(True)
        return AnonymousUser()

    request.user = SimpleLazyObject(load)
    assert _compat.evaluated_user(request) is None and evaluated == []
    assert request.user.is_authenticated is False  # the view evaluates it
    assert isinstance(_compat.evaluated_user(request), AnonymousUser)


@pytest.mark.asyncio
async def test_evaluated_user_sees_the_user_cached_by_auser() -> None:
    from django.contrib.auth.middleware import AuthenticationMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware

    request = RequestFactory().get("/")
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    AuthenticationMiddleware(lambda r: HttpResponse()).process_request(request)
    assert _compat.evaluated_user(request) is None
    user = await request.auser()
    assert _compat.evaluated_user(request) is user


def test_existing_cache_never_creates_one() -> None:
    caches["default"].get("observe-compat")  # this thread has the default cache now
    assert _compat.existing_cache(caches, "default") is caches["default"]
    assert _compat.existing_cache(caches, "no-such-alias") is None


def test_reopen_gives_a_writable_stream(tmp_path: Path) -> None:
    handler = logging.handlers.WatchedFileHandler(tmp_path / "app.log", encoding="utf-8")
    handler.close()
    stream = _compat.reopen(handler)
    stream.write("line\n")
    stream.close()
    assert (tmp_path / "app.log").read_text() == "line\n"


def test_structlog_context_flag_follows_binding() -> None:
    structlog.contextvars.bind_contextvars(observe_compat="1")
    try:
        assert _compat.structlog_context_used() is True
    finally:
        structlog.contextvars.unbind_contextvars("observe_compat")


@pytest.mark.django_db
def test_select_one_compiles_on_this_backend() -> None:
    compiler = connection.ops.compiler("SQLCompiler")(_compat.select_one(), connection, None)
    with connection.cursor() as cursor:
        cursor.execute(*compiler.compile(_compat.select_one()))
        assert cursor.fetchone()[0] == 1


def test_metric_children_take_prometheus_clients_value_class_when_created(monkeypatch: pytest.MonkeyPatch) -> None:
    from prometheus_client import Counter, values

    created: list[str] = []

    class Recording(values.MutexValue):
        def __init__(self, *args: object, **kwargs: object) -> None:
            created.append(str(args[2]))
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(values, "ValueClass", Recording)
    Counter("compat_probe", "A probe of ValueClass.", registry=None).inc()
    assert created == ["compat_probe_total"]
    _compat.keep_metric_values_in_memory()
    assert values.ValueClass is values.MutexValue
