"""Structured logs: fields on every line, Django's own lines, redaction, console escaping, slow requests."""

from __future__ import annotations

import json
import logging

import pytest
import structlog
from django.dispatch import receiver
from django.test import Client, override_settings
from django_structlog import signals as structlog_signals

pytestmark = pytest.mark.django_db

STATIC_FIELDS = {"service": "observe-demo", "environment": "development", "version": "unknown"}
EVERY_LINE = {"event", "timestamp", "level", "logger", "service", "environment", "version"}


def test_access_line_has_the_documented_fields(client: Client, json_logs) -> None:
    client.get("/items/3/", HTTP_X_REQUEST_ID="fields-1")
    [line] = json_logs.events("request_finished")
    assert EVERY_LINE <= set(line)
    assert {k: line[k] for k in STATIC_FIELDS} == STATIC_FIELDS
    assert (line["request_id"], line["method"], line["route"], line["code"], line["level"]) == (
        "fields-1",
        "GET",
        "items/<int:pk>/",
        200,
        "info",
    )
    assert line["logger"] == "django_observe.request"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["timestamp"].endswith("Z")
    assert "ip" not in line, "client IP is off by default"


@override_settings(OBSERVE={"LOG_CLIENT_IP": True})
def test_client_ip_when_enabled(client: Client, json_logs) -> None:
    client.get("/fast/", REMOTE_ADDR="10.1.2.3")
    assert json_logs.events("request_finished")[0]["ip"] == "10.1.2.3"


def test_every_line_is_one_json_object(client: Client, json_logs) -> None:
    Client(raise_request_exception=False).get("/boom/")
    client.get("/log-error/?order=7")
    client.get("/missing/")
    raw_lines = json_logs.text.splitlines()
    assert len(raw_lines) >= 6
    for raw in raw_lines:
        line = json.loads(raw)
        assert EVERY_LINE <= set(line), line


def test_django_404_and_500_lines_carry_the_request_id(json_logs) -> None:
    client = Client(raise_request_exception=False)
    client.get("/missing/", HTTP_X_REQUEST_ID="nf-1")
    client.get("/boom/", HTTP_X_REQUEST_ID="boom-1")
    django_lines = [line for line in json_logs.lines if line["logger"] == "django.request"]
    assert [(line["event"], line["request_id"], line["level"]) for line in django_lines] == [
        ("Not Found: /missing/", "nf-1", "warning"),
        ("Internal Server Error: /boom/", "boom-1", "error"),
    ]
    assert "RuntimeError: demo failure" in django_lines[1]["exception"]
    assert "Traceback (most recent call last)" in django_lines[1]["exception"]


def test_raising_view_gives_one_request_failed_line_with_the_exception(json_logs) -> None:
    Client(raise_request_exception=False).get("/boom/", HTTP_X_REQUEST_ID="failed-1")
    assert json_logs.events("request_finished") == []
    [failed] = json_logs.events("request_failed")
    assert (failed["code"], failed["level"], failed["request_id"], failed["route"]) == (500, "error", "failed-1", "boom/")
    assert failed["exception"] == "RuntimeError: demo failure: the boom view always raises"
    assert json_logs.text.count("Traceback (most recent call last)") == 1, "the traceback is written once, by Django's line"


def test_host_stdlib_and_structlog_lines_carry_the_context(client: Client, json_logs) -> None:
    client.get("/log-error/?order=42", HTTP_X_REQUEST_ID="ctx-1")
    stdlib_line = next(line for line in json_logs.lines if line["event"] == "order 42 not found")
    structlog_line = next(line for line in json_logs.lines if line["event"] == "structlog line from a view")
    for line in (stdlib_line, structlog_line):
        assert line["request_id"] == "ctx-1"
        assert {k: line[k] for k in STATIC_FIELDS} == STATIC_FIELDS
        assert line["logger"] == "testproject.demo.views"
    assert structlog_line["order"] == "42"
    assert stdlib_line["level"] == "error"


def test_user_id_once_authentication_has_run(client: Client, django_user_model, json_logs) -> None:
    user = django_user_model.objects.create_user("alice", password="pw-alice-123")
    client.force_login(user)
    client.get("/whoami/", HTTP_X_REQUEST_ID="user-1")
    view_line = next(line for line in json_logs.lines if line["event"] == "whoami")
    assert view_line["user_id"] == user.pk
    assert json_logs.events("request_finished")[0]["user_id"] == user.pk


def test_anonymous_request_has_no_user_id_and_no_session_query(client: Client, json_logs, django_assert_num_queries) -> None:
    with django_assert_num_queries(0):
        client.get("/fast/")
    assert "user_id" not in json_logs.events("request_finished")[0]


def test_slow_request_logs_a_warning(client: Client, json_logs) -> None:
    with override_settings(OBSERVE={"SLOW_REQUEST_THRESHOLD": 0.05}):
        client.get("/slow/")
    [line] = json_logs.events("request_finished")
    assert (line["level"], line["slow"]) == ("warning", True)
    assert line["duration_ms"] > 50


@pytest.mark.parametrize(
    "kwargs",
    [
        {"password": "hunter2-secret"},
        {"api_token": "hunter2-secret"},
        {"Authorization": "Bearer hunter2-secret"},
        {"headers": {"Cookie": "sessionid=hunter2-secret", "Accept": "x"}},
        {"payload": [{"client_secret": "hunter2-secret"}]},
        {"csrfmiddlewaretoken": "hunter2-secret"},
        {"sessionid": "hunter2-secret"},
        {"stripe_api_key": "hunter2-secret"},
    ],
)
def test_secret_keys_are_redacted(kwargs: dict, json_logs) -> None:  # type: ignore[type-arg]
    structlog.get_logger("host").info("with secrets", **kwargs)
    logging.getLogger("host.stdlib").info("stdlib with secrets", extra=kwargs)
    assert "hunter2-secret" not in json_logs.text
    assert json_logs.text.count("[Filtered]") == 2


@override_settings(OBSERVE={"EXTRA_REDACT_KEYS": ["pin"]})
def test_extra_redact_keys_add_to_the_defaults(json_logs) -> None:
    structlog.get_logger("host").info("custom", card_pin="1234-secret", password="pw-secret")
    assert "1234-secret" not in json_logs.text and "pw-secret" not in json_logs.text


def test_secrets_posted_in_a_form_never_reach_the_logs(client: Client, json_logs) -> None:
    client.post(
        "/login-form/?token=qs-secret-token",
        {"username": "bob", "password": "posted-secret-pw"},
        HTTP_AUTHORIZATION="Bearer header-secret",
        HTTP_COOKIE="sessionid=cookie-secret",
    )
    Client(raise_request_exception=False).post(
        "/boom/?api_key=qs-secret-key", {"password": "posted-secret-pw"}, HTTP_COOKIE="csrftoken=cookie-secret-csrf"
    )
    for secret in ("posted-secret-pw", "qs-secret-token", "header-secret", "cookie-secret", "qs-secret-key"):
        assert secret not in json_logs.text


def test_console_format_cannot_forge_a_line(console_logs) -> None:
    structlog.get_logger("host").info("user said\nINFO forged line", comment="a\r\nb")
    logging.getLogger("host").warning("stdlib\nforged")
    text = console_logs.text
    assert len(text.splitlines()) == 2
    assert "user said\\nINFO forged line" in text
    assert "comment=" in text and "a\\r\\nb" in text


def test_console_format_keeps_tracebacks_readable(console_logs) -> None:
    try:
        raise ValueError("bad value")
    except ValueError:
        logging.getLogger("host").exception("failed")
    assert "Traceback (most recent call last)" in console_logs.text
    assert "ValueError: bad value" in console_logs.text


def test_log_level_setting_filters_lines(json_logs) -> None:
    from django_observe.logging import configure

    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        with override_settings(OBSERVE={"LOG_LEVEL": "warning"}):
            root.removeHandler(json_logs.handler)
            configure()
            root.addHandler(json_logs.handler)
            structlog.get_logger("host").info("hidden info")
            logging.getLogger("host").info("hidden stdlib info")
            structlog.get_logger("host").warning("shown warning")
    finally:
        root.handlers = saved_handlers
        root.setLevel(saved_level)
    assert [line["event"] for line in json_logs.lines] == ["shown warning"]


def test_configure_installs_one_root_handler() -> None:
    from django_observe.logging import ObserveFormatter, configure

    root = logging.getLogger()
    saved = root.handlers[:]
    try:
        configure()
        configure()
        ours = [h for h in root.handlers if isinstance(h.formatter, ObserveFormatter)]
        assert len(ours) == 1
    finally:
        root.handlers = saved


def test_django_structlog_receivers_still_work(client: Client, json_logs) -> None:
    @receiver(structlog_signals.bind_extra_request_metadata)
    def bind_domain(request, logger, log_kwargs, **kwargs):  # type: ignore[no-untyped-def]
        structlog.contextvars.bind_contextvars(tenant="acme")

    @receiver(structlog_signals.bind_extra_request_finished_metadata)
    def add_finished(request, logger, response, log_kwargs, **kwargs):  # type: ignore[no-untyped-def]
        log_kwargs["view_flag"] = "seen"

    try:
        client.get("/log-error/", HTTP_X_REQUEST_ID="sig-1")
    finally:
        structlog_signals.bind_extra_request_metadata.disconnect(bind_domain)
        structlog_signals.bind_extra_request_finished_metadata.disconnect(add_finished)
    view_line = next(line for line in json_logs.lines if line["event"] == "order 42 not found")
    assert view_line["tenant"] == "acme"
    [finished] = json_logs.events("request_finished")
    assert (finished["tenant"], finished["view_flag"]) == ("acme", "seen")


def test_bound_keys_from_one_request_do_not_leak_into_the_next(client: Client, json_logs) -> None:
    structlog.contextvars.bind_contextvars(tenant="leftover")
    client.get("/fast/")
    assert "tenant" not in json_logs.events("request_finished")[0]


@override_settings(OBSERVE={"ACCESS_LOG": False})
def test_access_log_can_be_turned_off(client: Client, json_logs) -> None:
    client.get("/fast/")
    assert json_logs.events("request_finished") == []


def test_logging_config_is_a_working_logging_dict(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import logging.config

    from django_observe.logging import logging_config

    config = logging_config(level="INFO", log_file=str(tmp_path / "app.jsonl"))
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        logging.config.dictConfig(config)
        logging.getLogger("host.configured").warning("through logging_config", extra={"password": "pw-in-extra"})
        for handler in root.handlers:
            handler.flush()
    finally:
        for handler in root.handlers:
            if handler not in saved_handlers:
                handler.close()
        root.handlers = saved_handlers
        root.setLevel(saved_level)
    [line] = [json.loads(raw) for raw in (tmp_path / "app.jsonl").read_text().splitlines()]
    assert (line["event"], line["password"], line["service"]) == ("through logging_config", "[Filtered]", "observe-demo")


@pytest.mark.django_db(transaction=True)
def test_user_id_in_async_view_after_auser(django_user_model, json_logs) -> None:
    import asyncio

    from django.test import AsyncClient

    user = django_user_model.objects.create_user("carol", password="pw-carol-123")
    from asgiref.sync import sync_to_async
    from django.db import connections

    client = AsyncClient()
    client.force_login(user)
    asyncio.run(client.get("/whoami-async/"))
    # auser() ran its query on asgiref's thread-sensitive thread, which outlives the test: close
    # that thread's connection, or PostgreSQL refuses to drop the test database at the end.
    asyncio.run(sync_to_async(connections.close_all)())
    view_line = next(line for line in json_logs.lines if line["event"] == "whoami async")
    assert view_line["user_id"] == user.pk
    assert json_logs.events("request_finished")[0]["user_id"] == user.pk


def test_access_line_fast_path_writes_the_same_line_as_the_logging_path(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """With our handler alone on the root the access line skips LogRecord; the line must not change."""
    from django_observe import context
    from django_observe.logging import ObserveFormatter, ObserveHandler, log_access, sole_observe_handler

    root = logging.getLogger()
    saved = root.handlers[:]
    handler = ObserveHandler(log_file=str(tmp_path / "access.jsonl"))
    handler.setFormatter(ObserveFormatter("json"))
    context.bind_request("fast-path-1")
    try:
        root.handlers = [handler, logging.NullHandler(logging.ERROR)]
        assert sole_observe_handler(logging.WARNING) is handler
        log_access(logging.WARNING, "request_finished", {"route": "x/", "code": 404, "token": "tok-secret"})
        root.handlers = [handler, logging.NullHandler()]
        assert sole_observe_handler(logging.WARNING) is None
        log_access(logging.WARNING, "request_finished", {"route": "x/", "code": 404, "token": "tok-secret"})
    finally:
        root.handlers = saved
        handler.close()
        context.clear()
    fast, slow = [json.loads(line) for line in (tmp_path / "access.jsonl").read_text().splitlines()]
    assert fast.pop("timestamp") and slow.pop("timestamp")
    assert list(fast.items()) == list(slow.items())
    assert fast["token"] == "[Filtered]" and fast["request_id"] == "fast-path-1" and fast["level"] == "warning"


def test_log_file_handler_survives_a_second_logging_setup(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A second dictConfig (Celery, a second django.setup()) closes our handler: it reopens, no line is lost."""
    import logging.config

    from django_observe.logging import ObserveFormatter, ObserveHandler

    path = tmp_path / "app.jsonl"
    handler = ObserveHandler(log_file=str(path))
    handler.setFormatter(ObserveFormatter("json"))
    log = logging.getLogger("host.reopen")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("before")
        handler.close()  # what logging.config.dictConfig does to every existing handler
        log.warning("after")
    finally:
        log.removeHandler(handler)
        log.propagate = True
        handler.close()
    assert [json.loads(line)["event"] for line in path.read_text().splitlines()] == ["before", "after"]
