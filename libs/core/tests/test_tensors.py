import numpy as np
import pytest

from robosoul.v1 import tensor_pb2
from robosoul_core.errors import InvalidArgument
from robosoul_core.tensors import from_numpy, to_numpy


@pytest.mark.parametrize("dtype", ["float32", "float64", "int16", "int32", "int64", "uint8", "uint16", "float16"])
def test_round_trip_keeps_dtype_shape_and_values(dtype):
    a = (np.arange(24) % 7).astype(dtype).reshape(2, 3, 4)
    b = to_numpy(from_numpy(a))
    assert b.dtype == a.dtype and b.shape == a.shape
    np.testing.assert_array_equal(a, b)


def test_big_endian_input_is_stored_little_endian():
    a = np.arange(3, dtype=">f4")
    t = from_numpy(a)
    assert t.data == np.arange(3, dtype="<f4").tobytes()


def test_unsupported_dtype_is_refused():
    with pytest.raises(InvalidArgument, match="unsupported tensor dtype"):
        from_numpy(np.array(["a", "b"]))


def _t(dtype=tensor_pb2.DTYPE_FLOAT32, shape=(2,), data=b"\0" * 8):
    return tensor_pb2.Tensor(dtype=dtype, shape=list(shape), data=data)


@pytest.mark.parametrize(
    "tensor, kwargs, message",
    [
        (_t(dtype=0), {}, "not a supported DType"),
        (_t(dtype=99), {}, "not a supported DType"),
        (_t(shape=(3,)), {}, "needs 12 bytes, got 8"),
        (_t(shape=(-1, -2)), {}, "negative dimension"),
        (_t(shape=(1,) * 9, data=b"\0" * 4), {}, "rank 9 exceeds"),
        (_t(shape=(1 << 20, 1 << 10), data=b""), {}, "exceeds the limit"),
        (_t(data=np.array([1.0, np.nan], "<f4").tobytes()), {}, "NaN or infinity"),
        (_t(data=np.array([np.inf, 0], "<f4").tobytes()), {}, "NaN or infinity"),
        (_t(), {"dtypes": (tensor_pb2.DTYPE_INT16,)}, "not allowed here"),
    ],
)
def test_bad_tensors_get_precise_errors(tensor, kwargs, message):
    with pytest.raises(InvalidArgument, match=message):
        to_numpy(tensor, field="x", **kwargs)


def test_error_names_the_field():
    with pytest.raises(InvalidArgument, match=r"^audio\.samples:"):
        to_numpy(_t(shape=(5,)), field="audio.samples")


def test_non_finite_allowed_when_asked():
    t = _t(data=np.array([np.nan, 1], "<f4").tobytes())
    assert np.isnan(to_numpy(t, require_finite=False)[0])
