"""Frames larger than one NATS message: the gateway stores them in JetStream's object store
(rs_frames) and publishes a reference; small frames still go inline. Real NATS, in-process gateway."""

import asyncio

import grpc
import numpy as np
import pytest

from robosoul.bus.v1 import control_pb2
from robosoul.v1 import robot_pb2, robot_service_pb2_grpc
from robosoul.v1 import robot_service_pb2 as rs
from robosoul.v1 import session_pb2 as sp
from robosoul_core import subjects
from robosoul_core.frames import FrameStore
from robosoul_core.telemetry import ServiceMetrics
from robosoul_core.tensors import from_numpy, to_numpy
from robosoul_gateway.config import GatewayConfig
from robosoul_gateway.server import start_gateway

from .conftest import arm, auth
from .test_service import next_of, now_ts, open_session

W, H = 800, 600  # raw RGB 1.44 MB, float32 depth 1.92 MB: both over NATS's 1 MiB


def wide_arm() -> robot_pb2.Robot:
    robot = arm("wide-arm")
    robot.embodiment.cameras.append(robot_pb2.CameraSpec(name="wide", width=W, height=H, fps=5, has_depth=True))
    return robot


class HeldFrameStore(FrameStore):
    """The real store, but each put waits until the test lets it go (to fill the gateway's in-flight slots)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.release = asyncio.Event()

    async def put(self, envelope):
        await self.release.wait()
        return await super().put(envelope)


@pytest.fixture
async def big_gateway(nc):
    config = GatewayConfig(listen="127.0.0.1:0", max_stored_frames_in_flight=2)
    gw = await start_gateway(nc, config, ServiceMetrics("gateway"))
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{gw.port}", options=[("grpc.max_receive_message_length", 16 << 20)])
    yield gw, robot_service_pb2_grpc.RobotServiceStub(channel)
    await channel.close()
    await gw.stop(grace=0.5)


def raw_frame(seq: int, rgb: np.ndarray) -> sp.ClientMessage:
    frame = sp.CameraFrame(timestamp=now_ts(), camera="wide", encoding=sp.IMAGE_ENCODING_RGB8, width=W, height=H, raw=from_numpy(rgb))
    return sp.ClientMessage(observation=sp.Observation(seq=seq, camera_frame=frame))


def depth_frame(seq: int, depth: np.ndarray) -> sp.ClientMessage:
    frame = sp.DepthFrame(timestamp=now_ts(), camera="wide", depth=from_numpy(depth))
    return sp.ClientMessage(observation=sp.Observation(seq=seq, depth_frame=frame))


async def test_large_frames_travel_through_the_object_store(big_gateway, nc, tenant, operator_key):
    gw, stub = big_gateway
    await stub.RegisterRobot(rs.RegisterRobotRequest(robot=wide_arm()), metadata=auth(operator_key))
    sub = await nc.subscribe(subjects.robot_subject(tenant, "wide-arm", "obs.*"))
    call, started = await open_session(stub, operator_key, "wide-arm")
    assert started.limits.max_frame_bytes == 8 << 20 and started.limits.max_message_bytes >= (8 << 20) + (64 << 10)
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    depth = rng.uniform(0.2, 3.0, (H, W)).astype(np.float32)
    await call.write(raw_frame(1, rgb))
    await call.write(depth_frame(2, depth))
    small = sp.CameraFrame(timestamp=now_ts(), camera="front", encoding=sp.IMAGE_ENCODING_JPEG, width=4, height=2, encoded=b"\xff\xd8\xff\xe0")
    await call.write(sp.ClientMessage(observation=sp.Observation(seq=3, camera_frame=small)))

    reader = FrameStore(nc, timeout_s=5)
    got = {}
    for _ in range(3):
        msg = await sub.next_msg(timeout=10)
        envelope = control_pb2.ObservationEnvelope.FromString(msg.data)
        got[envelope.stored_observation.name or "inline"] = (len(msg.data), envelope, await reader.resolve(envelope))
    prefix = f"{tenant}/wide-arm/{started.session_id}"
    assert set(got) == {f"{prefix}/1", f"{prefix}/2", "inline"}
    size, stored, whole = got[f"{prefix}/1"]
    assert size < 512 and stored.stored_observation.bucket == "rs_frames" and not stored.HasField("observation")
    assert whole.tenant == tenant and whole.session_id == started.session_id and whole.observation.seq == 1
    assert np.array_equal(to_numpy(whole.observation.camera_frame.raw), rgb)
    size, stored, whole = got[f"{prefix}/2"]
    assert size < 512 and np.array_equal(to_numpy(whole.observation.depth_frame.depth), depth)
    size, inline, whole = got["inline"]
    assert inline.HasField("observation") and whole is inline and whole.observation.camera_frame.encoded == small.encoded
    call.cancel()


async def test_a_robot_outpacing_the_store_loses_frames_and_is_told(big_gateway, nc, tenant, operator_key):
    gw, stub = big_gateway
    held = HeldFrameStore(nc, timeout_s=5)
    gw.service.frames = held
    await stub.RegisterRobot(rs.RegisterRobotRequest(robot=wide_arm()), metadata=auth(operator_key))
    sub = await nc.subscribe(subjects.robot_subject(tenant, "wide-arm", "obs.camera_frame"))
    call, started = await open_session(stub, operator_key, "wide-arm")
    rgb = np.zeros((H, W, 3), np.uint8)
    for seq in (1, 2, 3, 4):  # two slots: frames 3 and 4 find them taken
        await call.write(raw_frame(seq, rgb))
    error = await next_of(call, "error")
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    assert "large frame(s) dropped: 2 are already being stored" in error.message, error.message
    held.release.set()
    names = sorted([control_pb2.ObservationEnvelope.FromString((await sub.next_msg(timeout=10)).data).stored_observation.name for _ in range(2)])
    assert names == [f"{tenant}/wide-arm/{started.session_id}/{seq}" for seq in (1, 2)]
    await call.write(raw_frame(5, rgb))  # the slots are free again
    msg = await sub.next_msg(timeout=10)
    assert control_pb2.ObservationEnvelope.FromString(msg.data).stored_observation.name.endswith("/5")
    call.cancel()


async def test_frames_over_the_gateway_limit_are_refused_naming_the_size(big_gateway, nc, operator_key):
    gw, stub = big_gateway
    robot = wide_arm()
    robot.embodiment.cameras.append(robot_pb2.CameraSpec(name="huge", width=2048, height=1536, fps=5))
    await stub.RegisterRobot(rs.RegisterRobotRequest(robot=robot), metadata=auth(operator_key))
    call, _ = await open_session(stub, operator_key, "wide-arm")
    frame = sp.CameraFrame(
        timestamp=now_ts(), camera="huge", encoding=sp.IMAGE_ENCODING_RGB8, width=2048, height=1536,
        raw=from_numpy(np.zeros((1536, 2048, 3), np.uint8)),
    )
    await call.write(sp.ClientMessage(observation=sp.Observation(seq=1, camera_frame=frame)))
    error = await next_of(call, "error")
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0] and error.observation_seq == 1
    assert error.message == f"camera_frame.raw is {2048 * 1536 * 3} bytes; at most {8 << 20} (send JPEG)"
    call.cancel()
