"""Request ids: kept when valid, replaced when not, on every response, never leaking between requests."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.test import AsyncClient, Client, override_settings

from django_observe import context
from tests.asgi import call_asgi

pytestmark = pytest.mark.django_db

HEX32 = r"^[0-9a-f]{32}$"


@pytest.mark.parametrize("value", ["abc-123", "a" * 128, "svc:1.2_3-x", "0f8fad5b-d9cb-469f-a165-70867728950e"])
def test_valid_incoming_id_is_kept(client: Client, value: str, json_logs) -> None:
    response = client.get("/fast/", HTTP_X_REQUEST_ID=value)
    assert response["X-Request-ID"] == value
    assert response.json()["request_id"] == value
    assert json_logs.events("request_finished")[0]["request_id"] == value


@pytest.mark.parametrize(
    "value",
    ["abc\r\nX-Injected: 1", "a" * 129, "ünïcode-id", "", "<script>alert(1)</script>", 'x" level="critical'],
    ids=["crlf", "129-chars", "unicode", "empty", "script", "quote"],
)
def test_invalid_incoming_id_is_replaced_and_never_logged(client: Client, value: str, json_logs) -> None:
    response = client.get("/log-error/", HTTP_X_REQUEST_ID=value)
    new_id = response["X-Request-ID"]
    assert new_id != value
    assert len(new_id) == 32 and int(new_id, 16) >= 0
    assert json_logs.lines, "the request wrote log lines"
    assert all(line["request_id"] == new_id for line in json_logs.lines if "request_id" in line)
    if value:
        assert value not in json_logs.text
        assert value.encode("unicode_escape").decode() not in json_logs.text


def test_new_id_when_header_missing(client: Client) -> None:
    first = client.get("/fast/")["X-Request-ID"]
    second = client.get("/fast/")["X-Request-ID"]
    assert first != second and len(first) == 32


@pytest.mark.parametrize("path,status", [("/does-not-exist/", 404), ("/items/99999/", 404), ("/boom/", 500)])
def test_error_responses_carry_the_id(path: str, status: int) -> None:
    client = Client(raise_request_exception=False)
    response = client.get(path, HTTP_X_REQUEST_ID="err-id-1")
    assert response.status_code == status
    assert response["X-Request-ID"] == "err-id-1"


@override_settings(OBSERVE={"REQUEST_ID_HEADER": "X-Correlation-ID"})
def test_header_name_is_configurable(client: Client) -> None:
    response = client.get("/fast/", HTTP_X_CORRELATION_ID="corr-7", HTTP_ORIGIN="https://app.example")
    assert response["X-Correlation-ID"] == "corr-7"
    assert response["Access-Control-Expose-Headers"] == "X-Correlation-ID"
    assert "X-Request-ID" not in response


@override_settings(OBSERVE={"TRUST_REQUEST_ID": False})
def test_untrusted_mode_always_makes_a_new_id(client: Client) -> None:
    assert client.get("/fast/", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] != "abc-123"


def test_expose_headers_is_appended_not_overwritten(client: Client) -> None:
    response = client.get("/cors/", HTTP_ORIGIN="https://app.example")
    assert response["Access-Control-Expose-Headers"] == "X-Total-Count, X-Request-ID"


def test_only_cross_origin_requests_get_the_header_exposed_and_caches_are_told(client: Client) -> None:
    """Browsers send Origin with every cross-origin request: only those need the id exposed to their script."""
    same_origin = client.get("/fast/")
    assert "X-Request-ID" in same_origin and "Access-Control-Expose-Headers" not in same_origin
    assert "Origin" not in same_origin.get("Vary", "")
    cross = client.get("/fast/", HTTP_ORIGIN="https://app.example")
    assert cross["Access-Control-Expose-Headers"] == "X-Request-ID"
    assert "Origin" in [part.strip() for part in cross["Vary"].split(",")]


def test_context_is_cleared_after_a_streaming_response(client: Client, json_logs) -> None:
    response = client.get("/stream/", HTTP_X_REQUEST_ID="stream-1")
    assert json_logs.events("request_finished") == [], "the access line waits for the body"
    assert b"".join(response.streaming_content) == b"chunk 0\nchunk 1\nchunk 2\n"
    response.close()
    [finished] = json_logs.events("request_finished")
    assert finished["request_id"] == "stream-1"
    chunk_lines = [line for line in json_logs.lines if line["event"].startswith("streaming chunk")]
    assert [line["request_id"] for line in chunk_lines] == ["stream-1"] * 3
    assert context.get_request_id() is None


def test_no_leak_into_the_next_request_on_the_same_thread(json_logs) -> None:
    handler = WSGIHandler()
    environ = _environ("/fast/", "first-id")
    response = handler(environ, lambda *args: None)
    body = b"".join(response)
    assert b"first-id" in body
    assert context.get_request_id() == "first-id", "still bound while the server sends the body"
    response.close()  # what every WSGI server does after sending
    assert context.get_request_id() is None, "cleared once the response was closed"
    import logging

    logging.getLogger("outside").warning("between requests")
    [outside] = [line for line in json_logs.lines if line["event"] == "between requests"]
    assert "request_id" not in outside


def _environ(path: str, request_id: str) -> dict:  # type: ignore[type-arg]
    import io

    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "HTTP_X_REQUEST_ID": request_id,
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "SERVER_PROTOCOL": "HTTP/1.1",
    }


@pytest.mark.django_db(transaction=True)
def test_200_concurrent_wsgi_requests_each_see_only_their_id(json_logs) -> None:
    """Threads, as a threaded WSGI server runs them: every line of a request carries its own id."""
    handler = WSGIHandler()
    errors: list[BaseException] = []
    barrier = threading.Barrier(20)

    def worker(batch: int) -> None:
        try:
            barrier.wait(timeout=10)
            for number in range(10):
                request_id = f"wsgi-{batch}-{number}"
                response = handler(_environ("/interleave/", request_id), lambda *args: None)
                body = b"".join(response)
                response.close()
                assert request_id.encode() in body
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(batch,)) for batch in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    _assert_lines_match_their_request(json_logs.lines, expected_requests=200)


def _assert_lines_match_their_request(lines: list[dict], expected_requests: int) -> None:  # type: ignore[type-arg]
    steps = [line for line in lines if line["event"] == "interleave step"]
    assert len(steps) == expected_requests * 3
    for line in steps:
        assert line["request_id"] == line["own_id"], line
    finished = [line for line in lines if line["event"] == "request_finished" and line["route"] == "interleave/"]
    assert len({line["request_id"] for line in finished}) == expected_requests


@pytest.mark.django_db(transaction=True)
def test_200_concurrent_asgi_requests_each_see_only_their_id(json_logs) -> None:
    """Tasks on one event loop, as an ASGI server runs them."""
    application = ASGIHandler()

    async def one(request_id: str) -> bytes:
        _, _, body = await call_asgi(application, "/interleave-async/", {"X-Request-ID": request_id})
        return body

    async def main() -> list[bytes]:
        return await asyncio.gather(*(one(f"asgi-{number}") for number in range(200)))

    bodies = asyncio.run(main())
    assert all(f"asgi-{number}".encode() in body for number, body in enumerate(bodies))
    lines = [dict(line, event="interleave step") if line["event"] == "interleave async step" else line for line in json_logs.lines]
    lines = [dict(line, route="interleave/") if line.get("route") == "interleave-async/" else line for line in lines]
    _assert_lines_match_their_request(lines, expected_requests=200)


@pytest.mark.asyncio
async def test_async_client_gets_id_and_header() -> None:
    response = await AsyncClient().get("/async/", headers={"X-Request-ID": "async-1"})
    assert response["X-Request-ID"] == "async-1"
    assert response.json()["request_id"] == "async-1"
