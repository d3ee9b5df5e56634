"""What every unary RPC does around its body: authenticate, trace, measure, and
translate errors to gRPC status codes (once, here)."""

from __future__ import annotations

import functools
import logging
import time

import grpc
from opentelemetry import trace

from robosoul_core.errors import DeadlineExceeded, Internal, RoboSoulError
from robosoul_core.telemetry import extract

log = logging.getLogger(__name__)
tracer = trace.get_tracer("robosoul.gateway")


def unary_rpc(method: str, service: str = "robosoul.v1.RobotService"):
    """Authenticate, trace, measure and translate errors for one unary RPC."""

    def decorate(fn):
        @functools.wraps(fn)
        async def wrapper(self, request, context: grpc.aio.ServicerContext):
            started = time.perf_counter()
            metadata = context.invocation_metadata()
            error: RoboSoulError | None = None
            with tracer.start_as_current_span(f"{service}/{method}", context=extract(metadata), kind=trace.SpanKind.SERVER) as span:
                try:
                    principal = await self.keys.authenticate_metadata(metadata)
                    span.set_attribute("robosoul.tenant", principal.tenant)
                    return await fn(self, request, principal)
                except RoboSoulError as err:
                    error = err
                except TimeoutError:
                    error = DeadlineExceeded("the registry did not answer in time; retry")
                except Exception:
                    log.exception("%s failed", method)
                    error = Internal(f"{method} failed on the server; it has been logged")
                finally:
                    self.metrics.observe(method, error.grpc_code.name if error else "OK", time.perf_counter() - started)
                span.set_status(trace.Status(trace.StatusCode.ERROR, str(error)))
            await context.abort(error.grpc_code, error.message)

        return wrapper

    return decorate
