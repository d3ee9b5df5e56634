import asyncio

from opentelemetry import trace

from robosoul_core.config import MetricsConfig, TelemetryConfig
from robosoul_core.telemetry import OpsServer, ServiceMetrics, extract, inject, setup_tracing


async def _get(port: int, path: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def test_ops_server_serves_metrics_and_health():
    metrics = ServiceMetrics("svc")
    metrics.observe("do", "OK", 0.004)
    healthy = {"ok": True}
    ops = OpsServer(metrics, MetricsConfig(port=0), healthy=lambda: healthy["ok"])
    await ops.start()
    try:
        status, body = await _get(ops.port, "/metrics")
        assert status == 200 and b'robosoul_request_seconds_bucket{le="0.005",method="do",service="svc"} 1.0' in body
        assert (await _get(ops.port, "/healthz"))[0] == 200
        healthy["ok"] = False
        assert (await _get(ops.port, "/healthz"))[0] == 503
        assert (await _get(ops.port, "/nope"))[0] == 404
    finally:
        await ops.stop()


def test_tracing_is_a_noop_without_an_endpoint():
    assert setup_tracing("svc", TelemetryConfig()) is None


def test_inject_extract_round_trip_through_dicts_and_metadata(span_exporter):
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("parent") as span:
        carrier = inject()
    assert carrier["traceparent"].split("-")[1] == format(span.get_span_context().trace_id, "032x")
    ctx_from_dict = extract(carrier)
    ctx_from_metadata = extract([("authorization", "secret"), *carrier.items()])
    for ctx in (ctx_from_dict, ctx_from_metadata):
        assert trace.get_current_span(ctx).get_span_context().trace_id == span.get_span_context().trace_id
    assert not trace.get_current_span(extract(None)).get_span_context().is_valid
