"""Bad input through the real stack: each gets its status code and a message a
vendor can act on, and the very next good request still gets an action chunk
from the real motion service and Triton."""

import asyncio
import time

import grpc
import numpy as np
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from robosoul.v1 import dialogue_pb2 as dp
from robosoul.v1 import robot_pb2, robot_service_pb2_grpc
from robosoul.v1 import robot_service_pb2 as rs
from robosoul.v1 import session_pb2 as sp
from robosoul_core.tensors import from_numpy
from robosoul_simulation.bodies import embodiment_for

ROBOT = "input-checker"


def ts(offset=0.0):
    t = Timestamp()
    t.FromNanoseconds(int((time.time() + offset) * 1e9))
    return t


def body():
    return embodiment_for("rs-arm4")


def state(seq, positions=None, names=None, offset=0.0):
    emb = body()
    names = names if names is not None else [j.name for j in emb.joints]
    positions = positions if positions is not None else [0.0] * len(emb.joints)
    return sp.ClientMessage(observation=sp.Observation(
        seq=seq, request_actions=True, joint_state=sp.JointState(timestamp=ts(offset), names=names, positions=positions)))


N = len(body().joints)
# Built when the test runs (timestamps must be fresh).
BAD = [
    ("too few joints", lambda: state(0, positions=[0.0] * (N - 1)), grpc.StatusCode.INVALID_ARGUMENT, f"expected {N}"),
    ("wrong joint order", lambda: state(0, names=[j.name for j in reversed(body().joints)]), grpc.StatusCode.INVALID_ARGUMENT, "order as registered"),
    ("NaN position", lambda: state(0, positions=[float("nan")] + [0.0] * (N - 1)), grpc.StatusCode.INVALID_ARGUMENT, "not a finite number"),
    ("degrees instead of radians", lambda: state(0, positions=[90.0] + [0.0] * (N - 1)), grpc.StatusCode.INVALID_ARGUMENT, "check units"),
    ("clock an hour off", lambda: state(0, offset=3600), grpc.StatusCode.INVALID_ARGUMENT, "sync the robot's clock"),
    ("reach target NaN", lambda: sp.ClientMessage(set_goal=sp.Goal(skill=sp.SKILL_REACH, position={"x": float("nan")})), grpc.StatusCode.INVALID_ARGUMENT, "finite"),
    ("reach target in millimetres", lambda: sp.ClientMessage(set_goal=sp.Goal(skill=sp.SKILL_REACH, position={"x": 300.0})), grpc.StatusCode.INVALID_ARGUMENT, "metres"),
    ("unsupported skill", lambda: sp.ClientMessage(set_goal=sp.Goal(skill=sp.SKILL_UNSPECIFIED)), grpc.StatusCode.INVALID_ARGUMENT, "not supported"),
    ("frame from an unknown camera", lambda: sp.ClientMessage(observation=sp.Observation(seq=0, camera_frame=sp.CameraFrame(timestamp=ts(), camera="nope", encoding=1, encoded=b"\xff\xd8\xff"))), grpc.StatusCode.INVALID_ARGUMENT, "not a camera"),
    ("float audio", lambda: sp.ClientMessage(observation=sp.Observation(seq=0, audio=sp.AudioChunk(timestamp=ts(), samples=from_numpy(np.zeros(16, np.float32))))), grpc.StatusCode.INVALID_ARGUMENT, "microphone"),
    ("empty message", lambda: sp.ClientMessage(), grpc.StatusCode.INVALID_ARGUMENT, "empty ClientMessage"),
    ("blank utterance", lambda: sp.ClientMessage(text=dp.UserText(utterance_id="u1", text="  ")), grpc.StatusCode.INVALID_ARGUMENT, "text is empty"),
    ("utterance too long", lambda: sp.ClientMessage(text=dp.UserText(utterance_id="u1", text="a" * 2001)), grpc.StatusCode.INVALID_ARGUMENT, "at most 2000"),
    ("utterance id with spaces", lambda: sp.ClientMessage(text=dp.UserText(utterance_id="u 1", text="hi")), grpc.StatusCode.INVALID_ARGUMENT, "utterance_id"),
    ("emotion scores not summing to 1", lambda: sp.ClientMessage(text=dp.UserText(utterance_id="u1", text="hi", emotion=dp.Emotion(happy=0.3))), grpc.StatusCode.INVALID_ARGUMENT, "sum to 1"),
    ("scene object in millimetres", lambda: sp.ClientMessage(scene=dp.Scene(objects=[dp.SceneObject(object_id="o", label="cube", position={"x": 300.0})])), grpc.StatusCode.INVALID_ARGUMENT, "metres"),
    ("scene object ids repeated", lambda: sp.ClientMessage(scene=dp.Scene(objects=[dp.SceneObject(object_id="o", label="cube")] * 2)), grpc.StatusCode.INVALID_ARGUMENT, "appears twice"),
]


@pytest.fixture
async def channel(stack, keys):
    async with grpc.aio.insecure_channel(stack.gateway_target) as ch:
        stub = robot_service_pb2_grpc.RobotServiceStub(ch)
        md = (("authorization", f"Bearer {keys['alpha']}"),)
        try:
            await stub.DeleteRobot(rs.DeleteRobotRequest(robot_id=ROBOT), metadata=md)
        except grpc.aio.AioRpcError:
            pass
        await stub.RegisterRobot(rs.RegisterRobotRequest(robot=robot_pb2.Robot(robot_id=ROBOT, embodiment=body())), metadata=md)
        yield stub, md


async def read_kind(call, kind, timeout=10.0):
    while True:
        msg = await asyncio.wait_for(call.read(), timeout)
        assert msg is not grpc.aio.EOF
        if msg.WhichOneof("body") == kind:
            return getattr(msg, kind)


async def test_every_bad_input_is_refused_and_the_next_good_request_is_served(channel):
    stub, md = channel
    call = stub.Connect(metadata=md)
    await call.write(sp.ClientMessage(open=sp.SessionOpen(robot_id=ROBOT)))
    await read_kind(call, "started")
    await call.write(sp.ClientMessage(set_goal=sp.Goal(skill=sp.SKILL_REACH, position={"x": 0.3, "z": 0.25})))
    seq = 0
    for name, make_bad, code, fragment in BAD:
        bad = make_bad()
        seq += 1
        if bad.HasField("observation"):
            bad.observation.seq = seq
        await call.write(bad)
        error = await read_kind(call, "error")
        assert (error.code, fragment in error.message) == (code.value[0], True), f"{name}: {error}"
        seq += 1
        await call.write(state(seq))
        chunk = await read_kind(call, "actions")
        assert chunk.observation_seq == seq and chunk.model_version.startswith("robosoul_policy/"), name
    call.cancel()


async def test_a_body_the_policy_does_not_know_is_told_to_onboard(channel):
    stub, md = channel
    emb = body()
    emb.embodiment_tag = "never-seen-arm"
    try:
        await stub.DeleteRobot(rs.DeleteRobotRequest(robot_id="stranger"), metadata=md)
    except grpc.aio.AioRpcError:
        pass
    await stub.RegisterRobot(rs.RegisterRobotRequest(robot=robot_pb2.Robot(robot_id="stranger", embodiment=emb)), metadata=md)
    call = stub.Connect(metadata=md)
    await call.write(sp.ClientMessage(open=sp.SessionOpen(robot_id="stranger")))
    await read_kind(call, "started")
    await call.write(sp.ClientMessage(set_goal=sp.Goal(skill=sp.SKILL_REACH, position={"x": 0.3, "z": 0.25})))
    await call.write(state(1))
    error = await read_kind(call, "error")
    assert error.code == grpc.StatusCode.FAILED_PRECONDITION.value[0] and "onboard" in error.message
    # HOLD needs no policy: the robot can still be held safely
    await call.write(sp.ClientMessage(set_goal=sp.Goal(skill=sp.SKILL_HOLD)))
    await call.write(state(2))
    assert (await read_kind(call, "actions")).model_version == "hold"
    call.cancel()
