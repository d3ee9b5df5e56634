"""One place to set up tracing and metrics, and to carry trace context.

Trace context travels as W3C `traceparent`/`tracestate`: in gRPC metadata, in
NATS headers, in Triton request headers, and (on the long-lived Connect stream)
in each ClientMessage's `trace_context` map. `inject()` / `extract()` work on
any of those as plain string dicts.

The SDK imports only the API parts of this module (no exporter is loaded until
`setup_tracing` is called).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

from robosoul_core.config import MetricsConfig, TelemetryConfig

log = logging.getLogger(__name__)

TRACE_KEYS = ("traceparent", "tracestate")


def setup_tracing(service_name: str, config: TelemetryConfig, *, exporter: Any = None):
    """Install a TracerProvider for this process and return it (call `.shutdown()` to flush).

    Exports over OTLP when `config.exporter_otlp_endpoint` is set, or to `exporter`
    when one is given (tests). Without either, tracing stays a no-op.
    """
    if exporter is None and not config.exporter_otlp_endpoint:
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    if exporter is None:
        exporter = _otlp_exporter(config)
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}),
        sampler=ParentBased(TraceIdRatioBased(config.traces_sampler_ratio)),
    )
    provider.add_span_processor(
        BatchSpanProcessor(exporter, schedule_delay_millis=int(config.bsp_schedule_delay_s * 1000))
    )
    trace.set_tracer_provider(provider)
    return provider


def _otlp_exporter(config: TelemetryConfig):
    endpoint = config.exporter_otlp_endpoint.rstrip("/")
    if config.exporter_otlp_protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter(endpoint=endpoint, insecure=endpoint.startswith("http://"), timeout=5)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    if not endpoint.endswith("/v1/traces"):
        endpoint += "/v1/traces"
    return HttpExporter(endpoint=endpoint, timeout=5)


def inject(carrier: dict[str, str] | None = None, context: otel_context.Context | None = None) -> dict[str, str]:
    """Write the current (or given) trace context into `carrier` and return it."""
    carrier = {} if carrier is None else carrier
    propagate.inject(carrier, context=context)
    return carrier


def extract(carrier: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> otel_context.Context:
    """Read a trace context from a dict, NATS headers or gRPC metadata (pairs)."""
    if carrier is None:
        return otel_context.Context()
    if not isinstance(carrier, Mapping):
        carrier = {k: v for k, v in carrier if k in TRACE_KEYS and isinstance(v, str)}
    return propagate.extract(carrier)


class ServiceMetrics:
    """Prometheus metrics every service exposes, in a registry of its own.

    - robosoul_requests_total{service, method, code}
    - robosoul_request_seconds{service, method}  (histogram, ms resolution)
    - robosoul_sessions{service}                 (gauge)
    """

    BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5)

    def __init__(self, service: str):
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.service = service
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "robosoul_requests", "Requests handled", ["service", "method", "code"], registry=self.registry
        )
        self._latency = Histogram(
            "robosoul_request_seconds", "Request latency", ["service", "method"],
            buckets=self.BUCKETS, registry=self.registry,
        )
        self.sessions = Gauge("robosoul_sessions", "Live sessions", ["service"], registry=self.registry).labels(service)

    def observe(self, method: str, code: str, seconds: float) -> None:
        self._requests.labels(self.service, method, code).inc()
        self._latency.labels(self.service, method).observe(seconds)

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


class OpsServer:
    """Tiny HTTP server for Kubernetes probes and Prometheus: GET /metrics, GET /healthz.

    `healthy` is called on each probe; it should be cheap (a flag check).
    """

    def __init__(self, metrics: ServiceMetrics, config: MetricsConfig, healthy: Callable[[], bool]):
        self._metrics = metrics
        self._config = config
        self._healthy = healthy
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self._config.host, self._config.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with suppress(Exception):
                await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), timeout=5)
            while (await asyncio.wait_for(reader.readline(), timeout=5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = request_line.decode("latin-1").split()
            path = parts[1] if len(parts) >= 2 else ""
            if path == "/metrics":
                status, body, ctype = "200 OK", self._metrics.render(), "text/plain; version=0.0.4"
            elif path == "/healthz":
                ok = self._healthy()
                status, body, ctype = ("200 OK" if ok else "503 Service Unavailable"), (b"ok\n" if ok else b"unhealthy\n"), "text/plain"
            else:
                status, body, ctype = "404 Not Found", b"not found\n", "text/plain"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
