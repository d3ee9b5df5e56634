"""A minimal OTLP/HTTP trace receiver for the local stack: every service (and
Triton) exports spans here, and tests and the demo read them back.

It accepts POST /v1/traces in both encodings OTLP/HTTP allows: binary protobuf
(`application/x-protobuf`, what the OpenTelemetry SDK sends) and JSON
(`application/json`, what Triton 2.51 sends, ids as hex). In a cluster, point
OTEL_EXPORTER_OTLP_ENDPOINT at a real collector instead.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

PROTOBUF, JSON = "application/x-protobuf", "application/json"


@dataclass(frozen=True)
class SpanRecord:
    trace_id: str  # hex
    span_id: str
    parent_span_id: str  # "" for a root
    name: str
    service: str
    start_ns: int
    end_ns: int
    attributes: dict = field(default_factory=dict, compare=False)

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6


def _decode_protobuf(body: bytes) -> list[SpanRecord]:
    def value(v):
        kind = v.WhichOneof("value")
        return getattr(v, kind) if kind else None

    request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
    out = []
    for rs in request.resource_spans:
        service = next((a.value.string_value for a in rs.resource.attributes if a.key == "service.name"), "unknown")
        for ss in rs.scope_spans:
            out += [
                SpanRecord(
                    trace_id=s.trace_id.hex(), span_id=s.span_id.hex(), parent_span_id=s.parent_span_id.hex(), name=s.name,
                    service=service, start_ns=s.start_time_unix_nano, end_ns=s.end_time_unix_nano,
                    attributes={a.key: value(a.value) for a in s.attributes},
                )
                for s in ss.spans
            ]
    return out


def _decode_json(body: bytes) -> list[SpanRecord]:
    def value(v: dict):
        return next(iter(v.values()), None)

    out = []
    for rs in json.loads(body).get("resourceSpans", []):
        attrs = {a["key"]: value(a.get("value", {})) for a in rs.get("resource", {}).get("attributes", [])}
        service = attrs.get("service.name") or "unknown"
        for ss in rs.get("scopeSpans", []):
            out += [
                SpanRecord(
                    trace_id=s["traceId"].lower(), span_id=s["spanId"].lower(), parent_span_id=s.get("parentSpanId", "").lower(),
                    name=s["name"], service=service, start_ns=int(s.get("startTimeUnixNano", 0)), end_ns=int(s.get("endTimeUnixNano", 0)),
                    attributes={a["key"]: value(a.get("value", {})) for a in s.get("attributes", [])},
                )
                for s in ss.get("spans", [])
            ]
    return out


class TraceSink:
    """Collects spans on a free loopback port (`endpoint` is the OTLP base URL).

        with TraceSink() as sink:
            ...  # export to f"{sink.endpoint}/v1/traces"
            spans = sink.wait_for(lambda spans: any(s.name == "x" for s in spans))
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, max_spans: int = 200_000):
        self._spans: list[SpanRecord] = []
        self.content_types: set[str] = set()
        self._changed = threading.Condition()
        self._max = max_spans
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(min(int(self.headers.get("Content-Length") or 0), 64 << 20))
                ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                if self.path.rstrip("/") != "/v1/traces":
                    self.send_error(404)
                    return
                if ctype not in (PROTOBUF, JSON):
                    self.send_error(415)
                    return
                try:
                    spans = _decode_json(body) if ctype == JSON else _decode_protobuf(body)
                except Exception:
                    self.send_error(400)
                    return
                sink._add(spans, ctype)
                reply = b"{}" if ctype == JSON else trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", ctype)
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

    def __enter__(self) -> TraceSink:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _add(self, spans: list[SpanRecord], ctype: str) -> None:
        with self._changed:
            self.content_types.add(ctype)
            self._spans.extend(spans)
            del self._spans[: max(0, len(self._spans) - self._max)]
            self._changed.notify_all()

    def spans(self, trace_id: str | None = None) -> list[SpanRecord]:
        with self._changed:
            return [s for s in self._spans if trace_id is None or s.trace_id == trace_id]

    def services(self, trace_id: str) -> set[str]:
        return {s.service for s in self.spans(trace_id)}

    def wait_for(self, predicate: Callable[[list[SpanRecord]], bool], timeout: float = 30.0) -> list[SpanRecord]:
        """Block until `predicate(spans)` holds (a hang guard, not a timing assertion)."""
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self._spans), timeout=timeout):
                raise AssertionError(f"spans never satisfied the condition; received {len(self._spans)} spans")
            return list(self._spans)
