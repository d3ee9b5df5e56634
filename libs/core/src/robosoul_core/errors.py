"""One exception tree for the whole platform, translated at the edges.

Services raise these; the gateway maps them to gRPC status codes, NATS
services to `nats.micro` error headers, and the SDK maps gRPC status codes
back to them. A message is written for the person who must act on it.
"""

from __future__ import annotations

import grpc


class RoboSoulError(Exception):
    """Base of every error RoboSoul raises on purpose."""

    grpc_code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    # nats.micro error codes are strings; we use the HTTP-like numbers it suggests.
    bus_code: str = "500"
    retryable: bool = False

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidArgument(RoboSoulError):
    """The request is malformed or violates a limit; fix it and retry."""

    grpc_code = grpc.StatusCode.INVALID_ARGUMENT
    bus_code = "400"


class Unauthenticated(RoboSoulError):
    """No API key, or one that is unknown or revoked."""

    grpc_code = grpc.StatusCode.UNAUTHENTICATED
    bus_code = "401"


class PermissionDenied(RoboSoulError):
    """The API key is valid but its role does not allow this call."""

    grpc_code = grpc.StatusCode.PERMISSION_DENIED
    bus_code = "403"


class NotFound(RoboSoulError):
    """No such resource in the caller's tenant."""

    grpc_code = grpc.StatusCode.NOT_FOUND
    bus_code = "404"


class AlreadyExists(RoboSoulError):
    grpc_code = grpc.StatusCode.ALREADY_EXISTS
    bus_code = "409"


class Aborted(RoboSoulError):
    """The operation was overtaken by another (e.g. a newer session for the same robot)."""

    grpc_code = grpc.StatusCode.ABORTED
    bus_code = "410"


class FailedPrecondition(RoboSoulError):
    """The call is valid but the system is not in a state to perform it."""

    grpc_code = grpc.StatusCode.FAILED_PRECONDITION
    bus_code = "412"


class ResourceExhausted(RoboSoulError):
    """A quota or rate limit was hit; slow down."""

    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED
    bus_code = "429"
    retryable = True


class Unavailable(RoboSoulError):
    """A dependency is down or unreachable; retry with backoff."""

    grpc_code = grpc.StatusCode.UNAVAILABLE
    bus_code = "503"
    retryable = True


class DeadlineExceeded(RoboSoulError):
    grpc_code = grpc.StatusCode.DEADLINE_EXCEEDED
    bus_code = "504"
    retryable = True


class Internal(RoboSoulError):
    """A bug on our side; the message says where."""


_ALL: tuple[type[RoboSoulError], ...] = (
    InvalidArgument,
    Unauthenticated,
    PermissionDenied,
    NotFound,
    AlreadyExists,
    Aborted,
    FailedPrecondition,
    ResourceExhausted,
    Unavailable,
    DeadlineExceeded,
    Internal,
)
_BY_GRPC = {cls.grpc_code: cls for cls in _ALL}
_BY_BUS = {cls.bus_code: cls for cls in _ALL}


def from_grpc(code: grpc.StatusCode, message: str) -> RoboSoulError:
    """The RoboSoulError for a gRPC status (CANCELLED and the like become Unavailable)."""
    cls = _BY_GRPC.get(code)
    if cls is None:
        cls = Unavailable if code == grpc.StatusCode.CANCELLED else Internal
    return cls(message or code.name)


def from_grpc_int(code: int, message: str) -> RoboSoulError:
    """Same as from_grpc, for a numeric status code carried in a message."""
    for status in grpc.StatusCode:
        if status.value[0] == code:
            return from_grpc(status, message)
    return Internal(f"unknown status code {code}: {message}")


def from_bus(code: str, description: str) -> RoboSoulError:
    """The RoboSoulError for a nats.micro error code."""
    return _BY_BUS.get(code, Internal)(description)


def grpc_code_int(code: grpc.StatusCode) -> int:
    return int(code.value[0])
