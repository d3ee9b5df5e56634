"""The bus against a real nats-server: replies, error mapping, capacity, trace context."""

import asyncio

import pytest
from nats.micro import add_service
from opentelemetry import trace

from robosoul.v1 import session_pb2
from robosoul_core import bus
from robosoul_core.config import NatsConfig
from robosoul_core.errors import DeadlineExceeded, Internal, InvalidArgument, NotFound, ResourceExhausted, Unavailable
from robosoul_core.telemetry import ServiceMetrics


@pytest.fixture
async def nc(nats_server):
    conn = await bus.connect(NatsConfig(url=nats_server), "test")
    yield conn
    await conn.close()


async def echo(msg: session_pb2.Ping, headers):
    if msg.nonce == 404:
        raise NotFound("no such thing")
    if msg.nonce == 500:
        raise ZeroDivisionError("boom")
    if msg.nonce == 7:
        await asyncio.sleep(0.3)
    return session_pb2.Pong(nonce=msg.nonce + 1)


@pytest.fixture
async def service(nc):
    metrics = ServiceMetrics("echo")
    endpoints = bus.Endpoints("echo", metrics, max_in_flight=2)
    svc = await add_service(nc, name="echo", version="0.1.0")
    group = svc.add_group(name="rs.svc.echo")
    await group.add_endpoint(name="ping", handler=endpoints.wrap("ping", session_pb2.Ping, echo))
    yield metrics
    await svc.stop()


async def test_reply_is_parsed(nc, service):
    reply = await bus.request(nc, "rs.svc.echo.ping", session_pb2.Ping(nonce=1), session_pb2.Pong, timeout=2)
    assert reply.nonce == 2
    assert b'robosoul_requests_total{code="200",method="ping",service="echo"} 1.0' in service.render()


async def test_service_errors_come_back_as_the_same_error(nc, service):
    with pytest.raises(NotFound, match="no such thing"):
        await bus.request(nc, "rs.svc.echo.ping", session_pb2.Ping(nonce=404), session_pb2.Pong, timeout=2)
    with pytest.raises(Internal, match="ZeroDivisionError"):
        await bus.request(nc, "rs.svc.echo.ping", session_pb2.Ping(nonce=500), session_pb2.Pong, timeout=2)
    # the service survived both
    assert (await bus.request(nc, "rs.svc.echo.ping", session_pb2.Ping(nonce=2), session_pb2.Pong, timeout=2)).nonce == 3


async def test_garbage_payload_is_invalid_argument(nc, service):
    msg = await nc.request("rs.svc.echo.ping", b"\xff\xff\xff", timeout=2)
    assert msg.headers["Nats-Service-Error-Code"] == "400"
    assert "robosoul.v1.Ping" in msg.headers["Nats-Service-Error"]


async def test_no_responders_and_timeouts(nc, service):
    with pytest.raises(Unavailable, match="no service is answering"):
        await bus.request(nc, "rs.svc.nobody.here", session_pb2.Ping(), session_pb2.Pong, timeout=1)
    with pytest.raises(DeadlineExceeded, match="did not answer within 50 ms"):
        await bus.request(nc, "rs.svc.echo.ping", session_pb2.Ping(nonce=7), session_pb2.Pong, timeout=0.05)


async def test_requests_overlap_and_excess_is_refused(nc, service):
    slow = [bus.request(nc, "rs.svc.echo.ping", session_pb2.Ping(nonce=7), session_pb2.Pong, timeout=2) for _ in range(3)]
    results = await asyncio.gather(*slow, return_exceptions=True)
    ok = [r for r in results if isinstance(r, session_pb2.Pong)]
    refused = [r for r in results if isinstance(r, ResourceExhausted)]
    assert len(ok) == 2 and len(refused) == 1  # max_in_flight=2: two run concurrently, the third is refused
    assert "at capacity" in str(refused[0])


async def test_trace_context_crosses_the_bus(nc, service, span_exporter):
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("caller") as caller:
        await bus.request(nc, "rs.svc.echo.ping", session_pb2.Ping(nonce=1), session_pb2.Pong, timeout=2)
    trace_id = caller.get_span_context().trace_id
    await asyncio.sleep(0.05)
    names = {s.name for s in span_exporter.get_finished_spans() if s.context.trace_id == trace_id}
    assert {"caller", "request rs.svc.echo.ping", "echo.ping"} <= names
    server = next(s for s in span_exporter.get_finished_spans() if s.name == "echo.ping" and s.context.trace_id == trace_id)
    assert server.kind == trace.SpanKind.SERVER and server.parent is not None


async def test_connect_fails_fast_when_nats_is_absent():
    from robosoul_devstack.procs import free_port

    with pytest.raises(Unavailable, match="cannot reach NATS"):
        await bus.connect(NatsConfig(url=f"nats://127.0.0.1:{free_port()}", connect_timeout_s=0.5), "t")


def test_invalid_argument_is_a_robosoul_error():
    assert InvalidArgument("x").bus_code == "400"
