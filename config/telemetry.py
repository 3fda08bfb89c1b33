"""OpenTelemetry traces from the API through Temporal to the activities (README "Health
and metrics"). Off unless ``otel_endpoint`` is set (or a test hands in its exporter):
then each part installs a tracer provider once, the Temporal client carries the SDK's
TracingInterceptor (workers built from that client use it too) and the API is
instrumented by ``api.observability``."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor

from config.settings import Settings

_provider: TracerProvider | None = None


def install_tracing(settings: Settings, part: str, exporter: SpanExporter | None = None) -> bool:
    """Start tracing in this process, once; whether it is on. ``exporter`` is for tests:
    spans go to it at once and the process-wide provider is left alone."""
    global _provider
    if _provider is not None:
        return True
    if exporter is None and not settings.otel_endpoint:
        return False
    provider = TracerProvider(
        resource=Resource.create({"service.name": f"{settings.otel_service_name}-{part}"})
    )
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otel_endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        trace.set_tracer_provider(provider)  # for any library that traces on its own
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    _provider = provider
    return True


def tracer_provider() -> TracerProvider | None:
    """The provider install_tracing made; None while tracing is off."""
    return _provider


def stop_tracing() -> None:
    """Export what is buffered and turn tracing off (at exit; between tests)."""
    global _provider
    if _provider is not None:
        _provider.shutdown()
    _provider = None


def temporal_interceptors() -> list[Interceptor]:
    """The Temporal client's interceptors: the tracing one while tracing is on."""
    if _provider is None:
        return []
    return [TracingInterceptor(_provider.get_tracer("temporalio"))]
