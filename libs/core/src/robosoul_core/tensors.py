"""numpy arrays <-> `robosoul.v1.Tensor`, with the checks a receiver must make.

Tensors are typed on the wire (dtype, shape, raw little-endian bytes); nothing
is ever unpickled. `to_numpy` refuses anything inconsistent before reading it.

    >>> import numpy as np
    >>> t = from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3))
    >>> list(t.shape), to_numpy(t).sum()
    ([2, 3], 15.0)
"""

from __future__ import annotations

import math

import numpy as np

from robosoul.v1 import tensor_pb2
from robosoul_core.errors import InvalidArgument

_TO_NUMPY: dict[int, np.dtype] = {
    tensor_pb2.DTYPE_FLOAT32: np.dtype("<f4"),
    tensor_pb2.DTYPE_FLOAT64: np.dtype("<f8"),
    tensor_pb2.DTYPE_INT16: np.dtype("<i2"),
    tensor_pb2.DTYPE_INT32: np.dtype("<i4"),
    tensor_pb2.DTYPE_INT64: np.dtype("<i8"),
    tensor_pb2.DTYPE_UINT8: np.dtype("u1"),
    tensor_pb2.DTYPE_UINT16: np.dtype("<u2"),
    tensor_pb2.DTYPE_FLOAT16: np.dtype("<f2"),
}
# Keyed by (kind, itemsize) so either byte order of an input array is accepted.
_FROM_NUMPY = {(dt.kind, dt.itemsize): code for code, dt in _TO_NUMPY.items()}

MAX_TENSOR_RANK = 8


def from_numpy(array: np.ndarray) -> tensor_pb2.Tensor:
    """Pack an array (any supported dtype) into a Tensor message."""
    array = np.asarray(array)
    code = _FROM_NUMPY.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise InvalidArgument(f"unsupported tensor dtype {array.dtype}; use one of "
                              f"{sorted(str(d) for d in _TO_NUMPY.values())}")
    little = array.astype(_TO_NUMPY[code], copy=False)
    return tensor_pb2.Tensor(dtype=code, shape=list(array.shape), data=np.ascontiguousarray(little).tobytes())


def to_numpy(
    tensor: tensor_pb2.Tensor,
    *,
    field: str = "tensor",
    dtypes: tuple[int, ...] | None = None,
    max_elements: int = 1 << 24,
    require_finite: bool = True,
) -> np.ndarray:
    """Unpack a Tensor after checking dtype, shape, size and (for floats) finiteness.

    Raises InvalidArgument naming `field` and what is wrong.
    """
    dtype = _TO_NUMPY.get(tensor.dtype)
    if dtype is None:
        raise InvalidArgument(f"{field}: dtype {tensor.dtype} is not a supported DType")
    if dtypes is not None and tensor.dtype not in dtypes:
        names = [tensor_pb2.DType.Name(d) for d in dtypes]
        raise InvalidArgument(f"{field}: dtype {tensor_pb2.DType.Name(tensor.dtype)} not allowed here; expected {names}")
    shape = tuple(tensor.shape)
    if len(shape) > MAX_TENSOR_RANK:
        raise InvalidArgument(f"{field}: rank {len(shape)} exceeds {MAX_TENSOR_RANK}")
    if any(d < 0 for d in shape):
        raise InvalidArgument(f"{field}: negative dimension in shape {list(shape)}")
    count = math.prod(shape)
    if count > max_elements:
        raise InvalidArgument(f"{field}: {count} elements exceeds the limit of {max_elements}")
    expected = count * dtype.itemsize
    if len(tensor.data) != expected:
        raise InvalidArgument(
            f"{field}: shape {list(shape)} of {tensor_pb2.DType.Name(tensor.dtype)} needs {expected} bytes, got {len(tensor.data)}"
        )
    array = np.frombuffer(tensor.data, dtype=dtype).reshape(shape)
    if require_finite and dtype.kind == "f" and not np.isfinite(array).all():
        raise InvalidArgument(f"{field}: contains NaN or infinity")
    return array
