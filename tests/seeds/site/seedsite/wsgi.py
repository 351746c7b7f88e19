import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seedsite.settings")

if os.environ.get("SEED_OTEL_SPANS_FILE"):
    # Guide 001 traces with OpenTelemetry: the Django instrumentation, spans written to a file.
    from opentelemetry import trace
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

    provider = TracerProvider()
    spans_file = open(os.environ["SEED_OTEL_SPANS_FILE"], "a", buffering=1)
    provider.add_span_processor(
        SimpleSpanProcessor(ConsoleSpanExporter(out=spans_file, formatter=lambda span: span.to_json(indent=None) + "\n"))
    )
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument()

application = get_wsgi_application()
