"""What `Session.send_camera_frame` and `send_depth_frame` put on the wire (against an in-process gateway that records it)."""

import asyncio
import re

import cv2
import numpy as np
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from robosoul.v1 import robot_pb2, robot_service_pb2_grpc
from robosoul.v1 import session_pb2 as sp
from robosoul_core.tensors import to_numpy
from robosoul_sdk import JointReading, RoboSoulClient, RobotDriver, embodiment, revolute
from robosoul_sdk.errors import InvalidArgument, Unavailable

KEY = "rsk_0123456789abcdef_" + "A" * 43


def _robot() -> robot_pb2.Robot:
    emb = embodiment([revolute("a", -1, 1, max_velocity=5)], control_rate_hz=50)
    emb.cameras.extend([
        robot_pb2.CameraSpec(name="head", width=64, height=48, fps=30, has_depth=True),
        robot_pb2.CameraSpec(name="wide", width=1280, height=720, fps=30, has_depth=False),
    ])
    return robot_pb2.Robot(robot_id="arm-1", embodiment=emb)


class Recorder(robot_service_pb2_grpc.RobotServiceServicer):
    """Starts every session and keeps each observation the robot sends."""

    def __init__(self):
        self.observations: list[sp.Observation] = []

    async def Connect(self, request_iterator, context):
        await anext(aiter(request_iterator))
        limits = sp.SessionLimits(max_frame_bytes=2_000_000)  # the gateway's own, smaller than the SDK's default
        await context.write(sp.BrainMessage(started=sp.SessionStarted(session_id="s1", robot=_robot(), limits=limits)))
        async for msg in request_iterator:
            if msg.WhichOneof("body") == "observation":
                self.observations.append(msg.observation)

    def frames(self, kind: str) -> list:
        return [getattr(o, kind) for o in self.observations if o.WhichOneof("payload") == kind]


class Still(RobotDriver):
    def read_joints(self):
        return JointReading(positions=[0.0])

    def command_joints(self, positions):
        pass


@pytest.fixture
async def connected():
    import grpc

    server = grpc.aio.server()
    recorder = Recorder()
    robot_service_pb2_grpc.add_RobotServiceServicer_to_server(recorder, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with RoboSoulClient(f"127.0.0.1:{port}", KEY) as client:
        session = client.session("arm-1", Still())
        task = asyncio.create_task(session.run())
        await session.wait_connected()
        yield session, recorder
        session.close()
        await task
    await server.stop(0)


async def arrived(recorder: Recorder, kind: str, n: int = 1) -> list:
    for _ in range(500):  # a hang guard
        if len(recorder.frames(kind)) >= n:
            return recorder.frames(kind)
        await asyncio.sleep(0.01)
    raise AssertionError(f"{kind}: {len(recorder.frames(kind))} of {n} arrived")


def picture() -> np.ndarray:
    rgb = np.full((48, 64, 3), (40, 160, 220), np.uint8)
    rgb[10:30, 20:44] = (220, 30, 30)
    return rgb


async def test_camera_frames_go_as_jpeg_png_raw_or_your_own_bytes(connected):
    session, recorder = connected
    rgb = picture()
    await session.send_camera_frame(rgb, camera="head", timestamp=1_700_000_000.25)
    await session.send_camera_frame(rgb, camera="head", encoding="png")
    await session.send_camera_frame(rgb, camera="head", encoding="rgb8")
    own = cv2.imencode(".png", rgb)[1].tobytes()
    await session.send_camera_frame(own, camera="head", encoding="png")
    jpeg, png, raw, mine = await arrived(recorder, "camera_frame", 4)
    assert [f.encoding for f in (jpeg, png, raw, mine)] == [sp.IMAGE_ENCODING_JPEG, sp.IMAGE_ENCODING_PNG, sp.IMAGE_ENCODING_RGB8, sp.IMAGE_ENCODING_PNG]
    assert all((f.camera, f.width, f.height) == ("head", 64, 48) for f in (jpeg, png, raw, mine))
    assert jpeg.timestamp.ToNanoseconds() == 1_700_000_000_250_000_000 and png.timestamp.seconds > 1_700_000_000
    decoded = cv2.cvtColor(cv2.imdecode(np.frombuffer(jpeg.encoded, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    error = np.abs(decoded.astype(int) - rgb)  # JPEG is lossy (edges most); the colours stay
    assert error.mean() < 6 and error[20, 32].max() < 20 and error[40, 5].max() < 20
    assert (cv2.cvtColor(cv2.imdecode(np.frombuffer(png.encoded, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB) == rgb).all()
    assert (to_numpy(raw.raw) == rgb).all() and mine.encoded == own
    seqs = [o.seq for o in recorder.observations]
    assert seqs == sorted(set(seqs))  # one sequence with the joint states, strictly increasing


async def test_depth_goes_as_millimetres_with_zero_for_no_reading(connected):
    session, recorder = connected
    depth = np.full((48, 64), 0.5, np.float32)
    depth[0, :5] = [np.nan, np.inf, -0.1, 0.0, 70.0]  # no readings, and one beyond the range
    depth[1, 0] = 1.2344
    ts = Timestamp(seconds=1_700_000_000, nanos=5)
    await session.send_depth_frame(depth, camera="head", timestamp=ts)
    await session.send_depth_frame(depth, camera="head", millimetres=False)
    await session.send_depth_frame(np.full((48, 64), 700, np.uint16), camera="head")
    mm, metres, passed = await arrived(recorder, "depth_frame", 3)
    got = to_numpy(mm.depth)
    assert got.dtype == np.uint16 and got.shape == (48, 64) and mm.camera == "head" and mm.timestamp == ts
    assert got[0, :5].tolist() == [0, 0, 0, 0, 65535] and got[1, 0] == 1234 and got[2, 2] == 500
    as_float = to_numpy(metres.depth)
    assert as_float.dtype == np.float32 and as_float[0, :4].tolist() == [0, 0, 0, 0] and as_float[2, 2] == pytest.approx(0.5)
    assert (to_numpy(passed.depth) == 700).all()


BAD_CAMERA_FRAMES = [
    (dict(rgb=picture(), camera="tail"), "camera 'tail' is not in this robot's embodiment (its cameras: 'head', 'wide')"),
    (dict(rgb=picture()[:, :32], camera="head"), "rgb has shape (48, 32, 3); camera 'head' is 64x48: expected (48, 64, 3)"),
    (dict(rgb=picture().astype(np.float32), camera="head"), "rgb must be uint8, not float32"),
    (dict(rgb=picture(), camera="head", encoding="gif"), "encoding 'gif' is not one of ['jpeg', 'png', 'rgb8']"),
    (dict(rgb=b"GIF89a....", camera="head"), "the bytes are not a JPEG image"),
    (dict(rgb=b"\xff\xd8\xff...", camera="head", encoding="rgb8"), "encoded bytes must be JPEG or PNG"),
    (dict(rgb=np.zeros((720, 1280, 3), np.uint8), camera="wide", encoding="rgb8"), "a raw 1280x720 frame is 2764800 bytes; at most 2000000"),
    (dict(rgb=picture(), camera="head", quality=0), "quality must be in 1..100, got 0"),
    (dict(rgb=picture(), camera="head", timestamp="now"), "timestamp must be seconds since the epoch or a Timestamp, got 'now'"),
]

BAD_DEPTH_FRAMES = [
    (dict(depth=np.ones((48, 64), np.float32), camera="wide"), "camera 'wide' is registered without depth"),
    (dict(depth=np.ones((64, 48), np.float32), camera="head"), "depth has shape (64, 48); camera 'head' is 64x48: expected (48, 64)"),
    (dict(depth=np.ones((48, 64), np.int32), camera="head"), "depth must be float metres or uint16 millimetres, not int32"),
    (dict(depth=np.ones((48, 64), np.float32), camera="tail"), "camera 'tail' is not in this robot's embodiment"),
]


@pytest.mark.parametrize("kwargs, message", BAD_CAMERA_FRAMES)
async def test_bad_camera_frames_are_refused_before_they_leave(connected, kwargs, message):
    session, recorder = connected
    kwargs = dict(kwargs)
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        await session.send_camera_frame(kwargs.pop("rgb"), **kwargs)
    assert recorder.frames("camera_frame") == []


@pytest.mark.parametrize("kwargs, message", BAD_DEPTH_FRAMES)
async def test_bad_depth_frames_are_refused_before_they_leave(connected, kwargs, message):
    session, recorder = connected
    kwargs = dict(kwargs)
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        await session.send_depth_frame(kwargs.pop("depth"), **kwargs)
    assert recorder.frames("depth_frame") == []


async def test_frames_need_a_connection():
    async with RoboSoulClient("127.0.0.1:1", KEY) as client:
        session = client.session("arm-1", Still())
        with pytest.raises(Unavailable, match="not connected"):
            await session.send_camera_frame(picture(), camera="head")
        with pytest.raises(Unavailable, match="not connected"):
            await session.send_depth_frame(np.ones((48, 64), np.float32), camera="head")
