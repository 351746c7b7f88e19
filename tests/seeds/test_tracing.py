"""Trace ids: a request's log lines and its stored error event carry the active OpenTelemetry span's ids."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from django_observe import tracing
from django_observe.models import ErrorEvent

from .conftest import observe

pytestmark = pytest.mark.django_db

otel_sdk = pytest.importorskip("opentelemetry.sdk.trace", reason="opentelemetry-sdk is in the dev extra")
from opentelemetry.instrumentation.django import DjangoInstrumentor  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    """opentelemetry-instrumentation-django with an SDK provider exporting to memory (as a host sets it up)."""
    exporter = InMemorySpanExporter()
    provider = otel_sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = DjangoInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        yield exporter
    finally:
        instrumentor.uninstrument()


@pytest.fixture
def spans(exporter: InMemorySpanExporter) -> InMemorySpanExporter:
    exporter.clear()
    return exporter


def _hex(span: Any) -> tuple[str, str]:
    return format(span.context.trace_id, "032x"), format(span.context.span_id, "016x")


def test_log_lines_and_the_stored_error_carry_the_span_ids(spans: InMemorySpanExporter, json_logs: Any) -> None:
    response = Client(raise_request_exception=False).get("/boom/", HTTP_X_REQUEST_ID="traced-1")
    assert response.status_code == 500
    [span] = [span for span in spans.get_finished_spans() if span.kind.name == "SERVER"]
    trace_id, span_id = _hex(span)
    assert span.attributes["request_id"] == "traced-1"
    lines = [line for line in json_logs.lines if line.get("request_id") == "traced-1"]
    assert {line["logger"] for line in lines} >= {"django.request", "django_observe.request"}
    assert {(line["trace_id"], line["span_id"]) for line in lines} == {(trace_id, span_id)}
    event = ErrorEvent.objects.get(request_id="traced-1")
    assert (event.data["tags"]["trace_id"], event.data["tags"]["span_id"]) == (trace_id, span_id)


def test_a_span_of_the_hosts_own_set_up_is_used_too(spans: InMemorySpanExporter, json_logs: Any) -> None:
    tracer = otel_sdk.TracerProvider().get_tracer("host")
    with tracer.start_as_current_span("nightly-job") as span:
        import logging

        logging.getLogger("host.jobs").warning("job step")
    [line] = [line for line in json_logs.lines if line["event"] == "job step"]
    assert (line["trace_id"], line["span_id"]) == _hex(span)


def test_no_ids_without_a_span_or_when_switched_off(spans: InMemorySpanExporter, json_logs: Any) -> None:
    import logging

    logging.getLogger("host").warning("outside any span")
    with observe(TRACE_IDS=False):
        Client().get("/fast/", HTTP_X_REQUEST_ID="untraced-1")
    assert "trace_id" not in json_logs.events("outside any span")[0]
    assert all("trace_id" not in line for line in json_logs.lines if line.get("request_id") == "untraced-1")
    assert tracing.current_ids() is None


def test_sentry_transaction_ids_when_sentry_tracing_is_on(json_logs: Any) -> None:
    import logging

    import sentry_sdk

    with observe(SENTRY_TRACES_SAMPLE_RATE=1.0):
        with sentry_sdk.start_span(op="task", name="sentry-traced") as span:
            logging.getLogger("host").warning("inside a sentry span")
    [line] = json_logs.events("inside a sentry span")
    assert (line["trace_id"], line["span_id"]) == (span.trace_id, span.span_id)


def test_nothing_is_imported_when_neither_is_used() -> None:
    """OpenTelemetry made unimportable: the app serves and logs as before; and no module of ours imports it."""
    import ast
    from pathlib import Path

    import django_observe

    package = Path(django_observe.__file__).parent
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(name.startswith("opentelemetry") for name in names), path
    code = (
        "import sys, os; sys.modules['opentelemetry'] = None; os.environ['DJANGO_SETTINGS_MODULE'] = 'testproject.settings';"
        "import django; django.setup(); from django.test import Client;"
        "status = Client().get('/fast/').status_code; import django_observe.tracing as t; print(status, t.current_ids())"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().splitlines()[-1] == "200 None", result.stderr[-2000:]
