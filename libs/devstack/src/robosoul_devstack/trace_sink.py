"""A minimal OTLP/HTTP trace receiver for the local stack: every service (and
Triton) exports spans here, and tests and the demo read them back.

It accepts POST /v1/traces with protobuf (`application/x-protobuf`) bodies, as
the OpenTelemetry SDK and Triton send them. In a cluster, point
OTEL_EXPORTER_OTLP_ENDPOINT at a real collector instead.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2


@dataclass(frozen=True)
class SpanRecord:
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    service: str
    start_ns: int
    end_ns: int

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6


class TraceSink:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, max_spans: int = 200_000):
        sink = self
        self._spans: list[SpanRecord] = []
        self._lock = threading.Lock()
        self._max = max_spans

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, 64 << 20))
                ok = self.path.rstrip("/").endswith("/v1/traces") and sink._ingest(body)
                reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString() if ok else b""
                self.send_response(200 if ok else 400)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="trace-sink", daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> TraceSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _ingest(self, body: bytes) -> bool:
        try:
            request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
        except Exception:
            return False
        records = []
        for resource_spans in request.resource_spans:
            service = next(
                (a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name"), "unknown"
            )
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    records.append(SpanRecord(
                        trace_id=span.trace_id.hex(), span_id=span.span_id.hex(), parent_span_id=span.parent_span_id.hex(),
                        name=span.name, service=service, start_ns=span.start_time_unix_nano, end_ns=span.end_time_unix_nano,
                    ))
        with self._lock:
            self._spans.extend(records)
            del self._spans[: max(0, len(self._spans) - self._max)]
        return True

    def spans(self, trace_id: str | None = None) -> list[SpanRecord]:
        with self._lock:
            return [s for s in self._spans if trace_id is None or s.trace_id == trace_id]

    def services(self, trace_id: str) -> set[str]:
        return {s.service for s in self.spans(trace_id)}
