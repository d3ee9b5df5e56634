"""Errors the SDK raises: the platform's one exception tree, mapped from gRPC status codes.

    >>> import grpc
    >>> from robosoul_sdk.errors import from_grpc, NotFound
    >>> isinstance(from_grpc(grpc.StatusCode.NOT_FOUND, "no robot 'x'"), NotFound)
    True
"""

from robosoul_core.errors import (
    Aborted,
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    RoboSoulError,
    Unauthenticated,
    Unavailable,
    from_grpc,
    from_grpc_int,
)

__all__ = [
    "Aborted", "AlreadyExists", "DeadlineExceeded", "FailedPrecondition", "Internal", "InvalidArgument", "NotFound",
    "PermissionDenied", "ResourceExhausted", "RoboSoulError", "Unauthenticated", "Unavailable", "from_grpc", "from_grpc_int",
]
