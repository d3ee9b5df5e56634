import grpc
import pytest

from robosoul_core import errors, subjects


@pytest.mark.parametrize("cls", [errors.InvalidArgument, errors.NotFound, errors.PermissionDenied, errors.Unauthenticated,
                                 errors.ResourceExhausted, errors.Unavailable, errors.DeadlineExceeded, errors.Aborted,
                                 errors.FailedPrecondition, errors.AlreadyExists, errors.Internal])
def test_every_error_round_trips_through_grpc_and_bus_codes(cls):
    assert type(errors.from_grpc(cls.grpc_code, "m")) is cls
    assert type(errors.from_bus(cls.bus_code, "m")) is cls
    assert type(errors.from_grpc_int(errors.grpc_code_int(cls.grpc_code), "m")) is cls


def test_unknown_codes_fall_back_sensibly():
    assert isinstance(errors.from_grpc(grpc.StatusCode.CANCELLED, ""), errors.Unavailable)
    assert isinstance(errors.from_bus("999", "x"), errors.Internal)
    assert isinstance(errors.from_grpc_int(12345, "x"), errors.Internal)


@pytest.mark.parametrize("bad", ["", "A", "a.b", "a*", "a>", "a b", "-a", "x" * 64, "svc.x"])
def test_ids_that_could_escape_a_subject_are_refused(bad):
    with pytest.raises(errors.InvalidArgument):
        subjects.robot_subject(bad, "r", "cmd")
    with pytest.raises(errors.InvalidArgument):
        subjects.robot_subject("t", bad, "cmd")


def test_subjects_read_broad_to_narrow():
    assert subjects.robot_subject("acme", "arm-1", "cmd") == "rs.acme.arm-1.cmd"
    assert subjects.MOTION_CHUNK == "rs.svc.motion.chunk"
    assert subjects.tenant_key_filter("acme") == "acme.*"
    with pytest.raises(errors.InvalidArgument, match="reserved"):
        subjects.check_tenant("svc")
