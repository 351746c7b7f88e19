"""Shaping events: what our own capture adds to an SDK event, and how a stored event is described and capped.

Used by ``sentry`` (lean mode builds events itself: request data, source context, which
frames keep their locals) and by ``store`` (titles, culprits, the size cap).
"""

from __future__ import annotations

import json
import linecache
import sysconfig
from typing import Any

from django.http import HttpRequest

from ..conf import get_settings
from ..redact import mask_values, path_secrets, safe_path, secret_words
from . import fingerprint as grouping

# Headers that identify the client: kept only with SENTRY_SEND_DEFAULT_PII.
_PII_HEADERS = ("x_forwarded_for", "x_real_ip", "forwarded", "true_client_ip", "cf_connecting_ip")
_MAX_BODY_BYTES = 10_000
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Dropped from stored payloads: large, the same on every event, or shown elsewhere.
_UNSTORED_KEYS = ("sdk", "modules", "_meta", "debug_meta", "spans")


def _text(value: Any, limit: int) -> str:
    if value is None:
        return ""
    return str(value)[:limit]


# Where installed libraries and the standard library live (not the project's code).
_LIBRARY_PREFIXES = tuple(
    sorted({path.rstrip("/") + "/" for key in ("stdlib", "platstdlib", "purelib", "platlib") if (path := sysconfig.get_paths().get(key))})
)
_LIBRARY_MARKERS = ("/site-packages/", "/dist-packages/")


def is_library(path: str) -> bool:
    return not path or path.startswith(_LIBRARY_PREFIXES) or any(marker in path for marker in _LIBRARY_MARKERS)


_CONTEXT_LINES = 5
_MAX_LINE = 1024


def add_source_context(event: dict[str, Any]) -> None:
    """pre_context / context_line / post_context (5 lines each side, as the SDK) from linecache."""
    for value in (event.get("exception") or {}).get("values") or []:
        for frame in (value.get("stacktrace") or {}).get("frames") or []:
            path, lineno = frame.get("abs_path"), frame.get("lineno")
            if frame.pop("_observe_no_source", False) or not path or not isinstance(lineno, int) or lineno < 1:
                continue
            source = linecache.getlines(path)
            if len(source) < lineno:
                continue
            index = lineno - 1
            frame["pre_context"] = [line.rstrip("\r\n")[:_MAX_LINE] for line in source[max(0, index - _CONTEXT_LINES) : index]]
            frame["context_line"] = source[index].rstrip("\r\n")[:_MAX_LINE]
            frame["post_context"] = [line.rstrip("\r\n")[:_MAX_LINE] for line in source[index + 1 : index + 1 + _CONTEXT_LINES]]


def trim_library_frames(event: dict[str, Any]) -> None:
    """Local variables for the project's own frames only; source lines for those and the crash frame.

    Serializing the locals and source lines of Django's and other libraries' frames
    (requests, responses, resolvers) was most of an event's cost (the SDK's serializer
    costs microseconds per value), and they rarely explain a bug. Applies to the events we
    build (lean mode); sentry-sdk's own integrations keep everything.
    """
    for value in (event.get("exception") or {}).get("values") or []:
        frames = (value.get("stacktrace") or {}).get("frames") or []
        for index, frame in enumerate(frames):
            if is_library(frame.get("abs_path") or ""):
                frame.pop("vars", None)
                if index != len(frames) - 1:
                    frame["_observe_no_source"] = True


def add_request(event: dict[str, Any], request: HttpRequest, send_pii: bool) -> None:
    """What the SDK's Django integration would attach: url, method, headers, query, body, route."""
    meta = request.META
    host = meta.get("HTTP_HOST") or meta.get("SERVER_NAME") or ""
    scheme = "https" if request.is_secure() else "http"
    headers = {}
    for name, value in request.headers.items():
        if not send_pii and name.lower().replace("-", "_") in _PII_HEADERS:
            continue
        headers[name] = value
    data: dict[str, Any] = {
        "url": f"{scheme}://{host}{safe_path(request, secret_words(get_settings().REDACT_KEYS))}",
        "method": request.method,
        "query_string": meta.get("QUERY_STRING", ""),
        "headers": headers,
        "env": {"SERVER_NAME": meta.get("SERVER_NAME", ""), "SERVER_PORT": meta.get("SERVER_PORT", "")},
    }
    if send_pii:
        data["env"]["REMOTE_ADDR"] = meta.get("REMOTE_ADDR", "")
    if request.COOKIES:
        data["cookies"] = dict(request.COOKIES)
    body = request_body(request)
    if body is not None:
        data["data"] = body
    event["request"] = data
    match = getattr(request, "resolver_match", None)
    if match is not None and match.route:
        event.setdefault("transaction", "/" + match.route.lstrip("^"))
    else:
        event.setdefault("transaction", request.path)
    if secrets := path_secrets(request, secret_words(get_settings().REDACT_KEYS)):
        mask_values(event, secrets)  # a reset token in the path is also in the frames' request reprs


def request_body(request: HttpRequest) -> Any:
    """The form fields, or the JSON (or other text) body, of a request of at most ~10 KB; scrubbed later by ``scrub``.

    Chosen by content type, not by what the view touched: a view that read ``request.POST``
    on a JSON request got an empty form, and the body is still there to read.
    """
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length <= 0 or length > _MAX_BODY_BYTES:
        return None
    if request.content_type in _FORM_TYPES:
        return _form(request)
    try:
        raw = request.body
    except Exception:  # the stream was consumed without caching (RawPostDataException)
        return _form(request) if "_post" in request.__dict__ and request.POST else None
    return raw.decode("utf-8", "replace")


def _form(request: HttpRequest) -> dict[str, Any]:
    return {key: values[0] if len(values) == 1 else values for key, values in request.POST.lists()}


def describe(event: dict[str, Any]) -> tuple[str, str, str]:
    """(title, culprit, exception type) of an event, as the admin lists it."""
    exception = grouping.last_exception(event)
    transaction_name = event.get("transaction") or ""
    if exception is not None:
        exc_type = grouping.exception_type(exception) or "Exception"
        value = str(exception.get("value") or "").strip().splitlines()
        name = str(exception.get("type") or exc_type)
        if value and value[0].startswith(name + ": "):
            value[0] = value[0][len(name) + 2 :]  # Django's SystemCheckError message starts with its own name
        title = f"{name}: {value[0]}" if value else name
        frames = (exception.get("stacktrace") or {}).get("frames") or []
        crash = next((f for f in reversed(frames) if f.get("in_app")), frames[-1] if frames else None)
        culprit = transaction_name or (f"{crash.get('module') or crash.get('filename')} in {crash.get('function')}" if crash else "")
        return title[:255], str(culprit)[:255], exc_type[:255]
    logentry = event.get("logentry") or {}
    message = logentry.get("formatted") or logentry.get("message") or event.get("message") or "(no message)"
    lines = str(message).strip().splitlines() or ["(no message)"]
    return lines[0][:255], str(transaction_name or event.get("logger") or "")[:255], ""


def cap_size(text: str, limit: int) -> dict[str, Any]:
    """The event JSON ``text`` parsed, minus what is never stored, trimmed to ``limit`` bytes least useful parts first."""
    copy = json.loads(text)
    for key in _UNSTORED_KEYS:
        copy.pop(key, None)
    if len(text) <= limit or len(json.dumps(copy, default=str)) <= limit:
        return copy
    copy["_observe_truncated"] = True
    trims = (
        lambda d: d.pop("breadcrumbs", None),
        lambda d: d.pop("extra", None),
        lambda d: _each_frame(d, lambda f: f.pop("vars", None)),
        lambda d: _each_frame(d, lambda f: (f.pop("pre_context", None), f.pop("post_context", None))),
        lambda d: d.get("request", {}).pop("data", None) if isinstance(d.get("request"), dict) else None,
        lambda d: d.pop("contexts", None),
        lambda d: _keep_last_frames(d, 20),
    )
    for trim in trims:
        trim(copy)
        if len(json.dumps(copy, default=str)) <= limit:
            return copy
    exception = grouping.last_exception(copy) or {}
    return {
        "_observe_truncated": True,
        "level": copy.get("level"),
        "logger": copy.get("logger"),
        "exception": {"values": [{"type": exception.get("type"), "value": _text(exception.get("value"), 1000)}]},
        "logentry": {"formatted": _text((copy.get("logentry") or {}).get("formatted"), 1000)},
    }


def _each_frame(data: dict[str, Any], action: Any) -> None:
    for exception in (data.get("exception") or {}).get("values") or []:
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            action(frame)


def _keep_last_frames(data: dict[str, Any], keep: int) -> None:
    for exception in (data.get("exception") or {}).get("values") or []:
        stacktrace = exception.get("stacktrace") or {}
        if len(stacktrace.get("frames") or []) > keep:
            stacktrace["frames"] = stacktrace["frames"][-keep:]
