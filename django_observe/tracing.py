"""Trace ids of the active OpenTelemetry span (or Sentry transaction) for log lines and captured errors.

When the host runs OpenTelemetry (``opentelemetry-instrumentation-django`` or its own
set-up), every log line and stored error event of a request carries the span's
``trace_id`` and ``span_id`` in hex, as OTel's log correlation writes them, and the
request id is set on the span as its ``request_id`` attribute, so a trace, its log lines
and its error link both ways. With Sentry tracing on (``SENTRY_TRACES_SAMPLE_RATE`` > 0)
and no OTel span, the Sentry transaction's ids are carried the same way.

Nothing here imports OpenTelemetry or sentry-sdk: a span can only be active when the host
imported them, so we look in ``sys.modules``. A project that uses neither pays a dict lookup.
"""

from __future__ import annotations

import sys
from typing import Any

from .conf import get_settings

TRACE_ID = "trace_id"
SPAN_ID = "span_id"
SPAN_ATTRIBUTE = "request_id"


def _otel_span() -> Any:
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return None
    span = trace.get_current_span()
    return span if span.get_span_context().is_valid else None


def _sentry_span(conf: Any) -> Any:
    if not conf.SENTRY_TRACES_SAMPLE_RATE:
        return None
    sentry_sdk = sys.modules.get("sentry_sdk")
    return sentry_sdk.get_current_span() if sentry_sdk is not None else None


def current_ids() -> tuple[str, str] | None:
    """(trace_id, span_id) in hex of the active OTel span, else of the Sentry span when Sentry tracing is on."""
    conf = get_settings()
    if not conf.TRACE_IDS:
        return None
    span = _otel_span()
    if span is not None:
        span_context = span.get_span_context()
        return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")
    span = _sentry_span(conf)
    if span is not None and span.trace_id:
        return str(span.trace_id), str(span.span_id)
    return None


def add_ids(fields: dict[str, Any]) -> None:
    """Put ``trace_id`` and ``span_id`` into a log line's fields (what the line already has wins)."""
    ids = current_ids()
    if ids is not None:
        fields.setdefault(TRACE_ID, ids[0])
        fields.setdefault(SPAN_ID, ids[1])


def tag_event(event: dict[str, Any]) -> None:
    """Tag a captured error event with the ids, so the stored event and Sentry both carry them."""
    ids = current_ids()
    if ids is None:
        return
    tags = event.get("tags")
    if not isinstance(tags, dict):
        tags = event["tags"] = {}
    tags.setdefault(TRACE_ID, ids[0])
    tags.setdefault(SPAN_ID, ids[1])


def tag_span(request_id: str, conf: Any = None) -> None:
    """Set the request id on the active span (OTel attribute, or a Sentry span tag); ``conf``: the settings, if read already."""
    conf = conf or get_settings()
    if not conf.TRACE_IDS:
        return
    span = _otel_span()
    if span is not None:
        if span.is_recording():
            span.set_attribute(SPAN_ATTRIBUTE, request_id)
        return
    span = _sentry_span(conf)
    if span is not None:
        span.set_tag(SPAN_ATTRIBUTE, request_id)
