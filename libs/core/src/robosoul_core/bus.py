"""The NATS bus: connections, traced request/reply, and `nats.micro` endpoints.

Every payload is a protobuf message from `robosoul.bus.v1` / `robosoul.v1`;
trace context rides in NATS headers; errors ride in nats.micro's error headers
and come back as the same RoboSoulError the service raised.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import nats
import nats.errors
from google.protobuf.message import DecodeError, Message
from nats.aio.client import Client
from nats.micro.request import Request
from opentelemetry import trace

from robosoul_core.config import NatsConfig
from robosoul_core.errors import (
    DeadlineExceeded,
    Internal,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    RoboSoulError,
    Unavailable,
    from_bus,
)
from robosoul_core.telemetry import ServiceMetrics, extract, inject

log = logging.getLogger(__name__)
tracer = trace.get_tracer("robosoul.bus")

ERROR_HEADER = "Nats-Service-Error"
ERROR_CODE_HEADER = "Nats-Service-Error-Code"

M = TypeVar("M", bound=Message)


async def connect(config: NatsConfig, name: str, **options: Any) -> Client:
    """Connect to NATS and stay connected (reconnecting forever once connected).

    The first connection must succeed within `config.connect_timeout_s` times a
    few attempts; otherwise Unavailable says where NATS was expected.
    """

    async def quiet_error(exc: Exception) -> None:
        log.debug("nats %s: %s", name, exc)

    options.setdefault("error_cb", quiet_error)
    try:
        return await asyncio.wait_for(
            nats.connect(
                servers=[config.url],
                name=name,
                connect_timeout=config.connect_timeout_s,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.25,
                **options,
            ),
            timeout=config.connect_timeout_s * 3,
        )
    except (TimeoutError, OSError, nats.errors.Error) as exc:
        raise Unavailable(f"cannot reach NATS at {config.url}: {exc or type(exc).__name__}") from None


async def key_value(nc: Client, bucket: str, *, timeout: float):
    """A JetStream KV bucket, created on first use (file storage, latest value only)."""
    from nats.js.errors import BucketNotFoundError

    js = nc.jetstream(timeout=timeout)
    try:
        return await js.key_value(bucket)
    except BucketNotFoundError:
        return await js.create_key_value(bucket=bucket, history=1)


async def kv_read(kv, key: str, message_type: type[M], *, timeout: float, missing: str) -> tuple[M, int]:
    """A protobuf record of a KV bucket and its revision; NotFound(`missing`) if there is none."""
    import nats.js.errors

    try:
        entry = await asyncio.wait_for(kv.get(key), timeout)
    except (nats.js.errors.KeyNotFoundError, nats.js.errors.KeyDeletedError):
        raise NotFound(missing) from None
    return message_type.FromString(entry.value), entry.revision


async def kv_values(kv, key_filter: str, *, timeout: float) -> list[bytes]:
    """The current value of every key of `kv` matching `key_filter`; deleted keys are left out.

    Not `kv.watch`: nats-py 2.16 can put its end-of-snapshot marker before values the
    server has already sent but the client has not read yet, and the list comes back
    short. A pull consumer delivers nothing until asked, so the pending count it is
    created with is exact. (nats-py's KeyValue has no public handle on its stream.)
    """
    from nats.js import api

    js, stream = kv._js, kv._stream
    name = f"values-{uuid.uuid4().hex}"
    config = api.ConsumerConfig(
        name=name, filter_subject=kv._pre + key_filter, deliver_policy=api.DeliverPolicy.LAST_PER_SUBJECT,
        ack_policy=api.AckPolicy.NONE, mem_storage=True, inactive_threshold=max(timeout, 5.0),
    )
    info = await asyncio.wait_for(js.add_consumer(stream, config=config), timeout)
    values: dict[str, bytes] = {}  # by subject: a key written again while listing comes back once, latest value
    try:
        remaining = info.num_pending
        if remaining:
            sub = await js.pull_subscribe_bind(name=name, stream=stream)
            try:
                while remaining:
                    for msg in await sub.fetch(batch=min(remaining, 256), timeout=timeout):
                        remaining = msg.metadata.num_pending
                        if msg.data and (msg.headers or {}).get("KV-Operation") not in ("DEL", "PURGE"):
                            values[msg.subject] = msg.data
                        else:
                            values.pop(msg.subject, None)
            finally:
                await sub.unsubscribe()
    finally:
        try:  # best effort: the server drops an idle consumer after `inactive_threshold` anyway
            await asyncio.wait_for(js.delete_consumer(stream, name), timeout)
        except Exception as exc:  # noqa: BLE001 - a failed clean-up must not hide the listing or its error
            log.warning("could not delete the listing consumer %s on %s: %s", name, stream, exc)
    return list(values.values())


async def kv_modify(
    kv, key: str, message_type: type[M], change: Callable[[M], None], *, timeout: float, missing: str, what: str, attempts: int = 5
) -> M:
    """Apply `change` to a protobuf record atomically: compare-and-set, retried on a concurrent write."""
    import nats.js.errors

    for _ in range(attempts):
        record, revision = await kv_read(kv, key, message_type, timeout=timeout, missing=missing)
        change(record)
        try:
            await asyncio.wait_for(kv.update(key, record.SerializeToString(), last=revision), timeout)
            return record
        except nats.js.errors.KeyWrongLastSequenceError:
            continue
    raise Unavailable(f"{what} kept changing under {attempts} attempts to update it; retry")


async def request(
    nc: Client,
    subject: str,
    message: Message,
    reply_type: type[M],
    *,
    timeout: float,
    headers: dict[str, str] | None = None,
) -> M:
    """Send a protobuf request and return the parsed reply, with trace context and a deadline.

    Raises Unavailable (nobody serves `subject`), DeadlineExceeded, or the
    RoboSoulError the service answered with.
    """
    with tracer.start_as_current_span(f"request {subject}", kind=trace.SpanKind.CLIENT) as span:
        span.set_attribute("messaging.destination", subject)
        try:
            msg = await nc.request(subject, message.SerializeToString(), timeout=timeout, headers=inject(dict(headers or {})))
        except nats.errors.NoRespondersError:
            raise Unavailable(f"no service is answering on {subject}") from None
        except (TimeoutError, nats.errors.TimeoutError):
            raise DeadlineExceeded(f"{subject} did not answer within {timeout * 1000:.0f} ms") from None
        except nats.errors.ConnectionClosedError:
            raise Unavailable("the NATS connection is closed") from None
        if msg.headers and ERROR_CODE_HEADER in msg.headers:
            err = from_bus(msg.headers[ERROR_CODE_HEADER], msg.headers.get(ERROR_HEADER, ""))
            span.set_status(trace.Status(trace.StatusCode.ERROR, str(err)))
            raise err
        try:
            return reply_type.FromString(msg.data)
        except DecodeError:
            raise Internal(f"{subject} answered with something that is not a {reply_type.__name__}") from None


Handler = Callable[[M, dict[str, str]], Awaitable[Message]]


class Endpoints:
    """Wraps protobuf handlers as `nats.micro` endpoint handlers.

    nats-py delivers a subscription's messages one at a time, so each request is
    handled in its own task: concurrent requests overlap (and Triton can batch
    them). At most `max_in_flight` run at once; beyond that a request is refused
    at once with 429 rather than queued behind a deadline it would miss.
    """

    def __init__(self, service: str, metrics: ServiceMetrics | None, *, max_in_flight: int = 512):
        self._service = service
        self._metrics = metrics
        self._max_in_flight = max_in_flight
        self._tasks: set[asyncio.Task] = set()
        self._tracer = trace.get_tracer(f"robosoul.{service}")

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def wrap(self, name: str, request_type: type[M], handler: Handler) -> Callable[[Request], Awaitable[None]]:
        async def on_request(req: Request) -> None:
            if len(self._tasks) >= self._max_in_flight:
                await self._respond_error(req, name, ResourceExhausted(f"{self._service} is at capacity ({self._max_in_flight} requests in flight)"), time.perf_counter())
                return
            task = asyncio.create_task(self._process(req, name, request_type, handler))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        return on_request

    async def _process(self, req: Request, name: str, request_type: type[M], handler: Handler) -> None:
        started = time.perf_counter()
        headers = dict(req.headers or {})
        with self._tracer.start_as_current_span(f"{self._service}.{name}", context=extract(headers), kind=trace.SpanKind.SERVER) as span:
            try:
                try:
                    message = request_type.FromString(req.data)
                except DecodeError:
                    raise InvalidArgument(f"payload is not a valid {request_type.DESCRIPTOR.full_name}") from None
                reply = await handler(message, headers)
                await req.respond(reply.SerializeToString())
            except RoboSoulError as err:
                span.set_status(trace.Status(trace.StatusCode.ERROR, str(err)))
                await self._respond_error(req, name, err, started)
                return
            except Exception as exc:  # a bug: answer, log, keep serving
                log.exception("%s.%s failed", self._service, name)
                span.record_exception(exc)
                await self._respond_error(req, name, Internal(f"{self._service} failed: {type(exc).__name__}"), started)
                return
        if self._metrics:
            self._metrics.observe(name, "200", time.perf_counter() - started)

    async def _respond_error(self, req: Request, name: str, err: RoboSoulError, started: float) -> None:
        if self._metrics:
            self._metrics.observe(name, err.bus_code, time.perf_counter() - started)
        try:
            await req.respond_error(err.bus_code, err.message)
        except Exception:  # the requester is gone; nothing to tell it
            log.debug("could not deliver error reply", exc_info=True)

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait for in-flight requests to finish (on shutdown)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)
