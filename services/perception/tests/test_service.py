"""The perception service in process: camera and depth envelopes in, Scenes out (NATS and the registry injected)."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from robosoul.bus.v1 import control_pb2
from robosoul.v1 import dialogue_pb2, robot_pb2, session_pb2
from robosoul_core.camera import PinholeCamera, depth_to_millimetres
from robosoul_core.errors import FailedPrecondition, InvalidArgument, NotFound
from robosoul_core.telemetry import ServiceMetrics, inject
from robosoul_core.tensors import from_numpy
from robosoul_core.validation import validate_scene
from robosoul_perception.config import PerceptionConfig
from robosoul_perception.people import PeopleConfig, PeopleDetector
from robosoul_perception.service import PerceptionService, image_size
from robosoul_perception.synthetic import Box, Sphere, render

T0 = 1_700_000_000
CUBE = (0.45, 0.05, 0.02)
BALL = (0.50, -0.10, 0.03)


@pytest.fixture(scope="module")
def head():
    return PinholeCamera.look_at((0.0, 0.0, 0.6), (0.5, 0.0, 0.0), width=640, height=480, fov_y_deg=55, name="head")


@pytest.fixture(scope="module")
def view(head):
    """(rgb, depth in float metres) of a red cube and a blue ball on a grey table."""
    return render(head, [Box(center=CUBE, size=0.04, color=(220, 30, 30)), Sphere(center=BALL, radius=0.03, color=(30, 60, 220))])


def robot_record(head: PinholeCamera) -> robot_pb2.Robot:
    eye = PinholeCamera.look_at((0.0, 0.0, 0.6), (0.5, 0.0, 0.0), width=640, height=480, fov_y_deg=55, name="eye")
    emb = robot_pb2.Embodiment(cameras=[head.to_spec(has_depth=True), eye.to_spec(has_depth=False)])
    return robot_pb2.Robot(robot_id="r1", embodiment=emb)


def stamp(t: float) -> Timestamp:
    ts = Timestamp()
    ts.FromNanoseconds(int(round(t * 1e9)))
    return ts


def jpeg(rgb: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def camera_env(rgb, *, t=T0, camera="head", encoding="jpeg", session="s1", tenant="acme", robot="r1"):
    h, w = rgb.shape[:2]
    frame = session_pb2.CameraFrame(timestamp=stamp(t), camera=camera, width=w, height=h)
    if encoding == "jpeg":
        frame.encoding, frame.encoded = session_pb2.IMAGE_ENCODING_JPEG, jpeg(rgb)
    elif encoding == "png":
        frame.encoding, frame.encoded = session_pb2.IMAGE_ENCODING_PNG, cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()
    else:
        frame.encoding = session_pb2.IMAGE_ENCODING_RGB8
        frame.raw.CopyFrom(from_numpy(rgb))
    return control_pb2.ObservationEnvelope(tenant=tenant, robot_id=robot, session_id=session,
                                           observation=session_pb2.Observation(camera_frame=frame))


def depth_env(depth, *, t=T0, camera="head", session="s1", millimetres=True):
    if millimetres:
        depth = depth_to_millimetres(depth)  # as the SDK sends it
    frame = session_pb2.DepthFrame(timestamp=stamp(t), camera=camera, depth=from_numpy(depth))
    return control_pb2.ObservationEnvelope(tenant="acme", robot_id="r1", session_id=session,
                                           observation=session_pb2.Observation(depth_frame=frame))


class Harness:
    def __init__(self, record, *, people=None, metrics=None, **config):
        self.scenes: list[dialogue_pb2.Scene] = []
        self.headers: list[dict[str, str]] = []
        self.lookups = 0
        self.gate: asyncio.Event | None = None

        async def get_robot(tenant, robot_id):
            self.lookups += 1
            if robot_id != "r1":
                raise NotFound(f"no robot {robot_id!r}")
            return record

        async def publish(tenant, robot_id, scene):
            if self.gate is not None:
                await self.gate.wait()
            assert (tenant, robot_id) == ("acme", "r1")
            self.headers.append(inject())
            self.scenes.append(scene)

        self.service = PerceptionService(
            get_robot=get_robot, publish=publish, people=people, metrics=metrics,
            config=PerceptionConfig(**{"people_interval_ms": 0, **config}),
        )

    async def scene_count(self, n: int, guard_s: float = 20.0) -> dialogue_pb2.Scene:
        for _ in range(int(guard_s / 0.01)):  # a hang guard, not a speed limit
            if len(self.scenes) >= n:
                return self.scenes[n - 1]
            await asyncio.sleep(0.01)
        raise AssertionError(f"only {len(self.scenes)} scene(s), wanted {n}")

    async def frame(self, rgb, depth=None, *, t=T0, session="s1", **kw) -> dialogue_pb2.Scene:
        if depth is not None:
            await self.service.on_depth_frame(depth_env(depth, t=t, session=session))
        await self.service.on_camera_frame(camera_env(rgb, t=t, session=session, **kw))
        return await self.scene_count(len(self.scenes) + 1)


def by_id(scene):
    return {o.object_id: o for o in scene.objects}


def near(obj, point, tol=0.015):
    return np.linalg.norm(np.array([obj.position.x, obj.position.y, obj.position.z]) - point) <= tol


@pytest.mark.parametrize("encoding", ["jpeg", "png", "rgb8"])
async def test_rgb_and_depth_give_objects_in_the_base_frame_with_stable_ids(head, view, encoding):
    rgb, depth = view
    h = Harness(robot_record(head))
    first = await h.frame(rgb, depth, t=T0, encoding=encoding)
    assert first.objects == [] and first.camera == "head"  # new objects are confirmed on their second sighting
    second = await h.frame(rgb, depth, t=T0 + 0.1, encoding=encoding)
    third = await h.frame(rgb, depth, t=T0 + 0.2, encoding=encoding)
    assert set(by_id(second)) == set(by_id(third)) == {"red-cube-1", "blue-ball-1"}
    cube, ball = by_id(third)["red-cube-1"], by_id(third)["blue-ball-1"]
    assert near(cube, CUBE) and near(ball, BALL)
    assert (cube.label, cube.color, ball.label, ball.color) == ("cube", "red", "ball", "blue")
    assert third.timestamp == stamp(T0 + 0.2)  # the frame's capture time, to the nanosecond
    validate_scene(third)
    await h.service.close()


async def test_a_colour_frame_waits_for_its_depth_and_pairs_by_capture_time(head, view):
    rgb, depth = view
    h = Harness(robot_record(head), depth_tolerance_ms=500)
    for k in range(2):
        t = T0 + 0.1 * k
        await h.service.on_camera_frame(camera_env(rgb, t=t))  # colour first: depth arrives a little later
        await asyncio.sleep(0.05)
        await h.service.on_depth_frame(depth_env(depth, t=t + 0.02))
        await h.scene_count(k + 1)
    cube = by_id(h.scenes[-1])["red-cube-1"]
    assert cube.HasField("position") and near(cube, CUBE)
    await h.service.close()


async def test_without_depth_objects_are_found_but_not_placed(head, view):
    rgb, depth = view
    h = Harness(robot_record(head), depth_tolerance_ms=30)
    # "eye" has no depth; "head" gets depth from a second too early (out of tolerance): both use colour alone.
    await h.service.on_depth_frame(depth_env(depth, t=T0 - 1))
    for camera in ("eye", "head"):
        for k in range(2):
            await h.frame(rgb, t=T0 + 0.1 * k, camera=camera)
        scene = h.scenes[-1]
        assert scene.camera == camera and {(o.color, o.label) for o in scene.objects} == {("red", "cube"), ("blue", "ball")}
        assert not any(o.HasField("position") for o in scene.objects)
    await h.service.close()


def _good(rgb):
    return camera_env(rgb)


def _bad_jpeg_header(rgb):
    env = camera_env(rgb)
    env.observation.camera_frame.encoded = b"\xff\xd8\xff\xe0" + bytes(300)
    return env


def _corrupt_png(rgb):
    env = camera_env(rgb, encoding="png")
    env.observation.camera_frame.encoded = env.observation.camera_frame.encoded[:40] + bytes(200)
    return env


def _small_jpeg(rgb):
    env = camera_env(rgb)
    env.observation.camera_frame.encoded = jpeg(np.ascontiguousarray(rgb[:240, :320]))
    return env


def _raw_wrong_shape(rgb):
    env = camera_env(rgb, encoding="rgb8")
    env.observation.camera_frame.raw.CopyFrom(from_numpy(np.ascontiguousarray(rgb[:, :, 0])))
    return env


def _raw_wrong_dtype(rgb):
    env = camera_env(rgb, encoding="rgb8")
    env.observation.camera_frame.raw.CopyFrom(from_numpy(rgb.astype(np.float32)))
    return env


def _with(change):
    def build(rgb):
        env = camera_env(rgb)
        change(env)
        return env
    return build


BAD_CAMERA_FRAMES = [
    ("unknown camera", _with(lambda e: setattr(e.observation.camera_frame, "camera", "tail")),
     "camera_frame.camera 'tail' is not a camera of robot 'r1' (its cameras: 'head', 'eye')"),
    ("undecodable jpeg", _bad_jpeg_header, "camera_frame.encoded is not a readable JPEG image"),
    ("corrupt png", _corrupt_png, "camera_frame.encoded could not be decoded as a PNG image"),
    ("jpeg of another size", _small_jpeg, "camera_frame.encoded is a 320x240 JPEG image; camera 'head' is registered as 640x480"),
    ("raw of the wrong shape", _raw_wrong_shape, "camera_frame.raw has shape [480, 640]; expected [480, 640, 3]"),
    ("raw of the wrong dtype", _raw_wrong_dtype, "camera_frame.raw: dtype DTYPE_FLOAT32 not allowed here"),
    ("no encoding", _with(lambda e: setattr(e.observation.camera_frame, "encoding", session_pb2.IMAGE_ENCODING_UNSPECIFIED)),
     "camera_frame.encoding is unspecified"),
    ("no timestamp", _with(lambda e: e.observation.camera_frame.ClearField("timestamp")), "camera_frame.timestamp is missing"),
    ("missing tenant", _with(lambda e: setattr(e, "tenant", "")), "tenant '' is invalid"),
    ("bad robot id", _with(lambda e: setattr(e, "robot_id", "R1*")), "robot_id 'R1*' is invalid"),
    ("not a camera frame", _with(lambda e: e.observation.audio.SetInParent()), "observation carries audio, not camera_frame"),
]


def _depth_of_another_size(depth):
    return depth_env(np.ascontiguousarray(depth[:240, :320]))


def _depth_int16(depth):
    return depth_env(np.nan_to_num(depth * 1000).astype(np.int16), millimetres=False)


def _depth_camera(name):
    def build(depth):
        env = depth_env(depth)
        env.observation.depth_frame.camera = name
        return env
    return build


BAD_DEPTH_FRAMES = [
    ("depth of another size", _depth_of_another_size, "depth_frame.depth has shape [240, 320]; expected [480, 640] (camera 'head')"),
    ("depth as int16", _depth_int16, "depth_frame.depth: dtype DTYPE_INT16 not allowed here"),
    ("depth for a camera without depth", _depth_camera("eye"), "depth_frame.camera 'eye' is registered without depth"),
    ("depth for an unknown camera", _depth_camera("tail"), "depth_frame.camera 'tail' is not a camera of robot 'r1'"),
]


@pytest.mark.parametrize("name, build, message", BAD_CAMERA_FRAMES, ids=[c[0] for c in BAD_CAMERA_FRAMES])
async def test_a_bad_camera_frame_is_refused_precisely_and_the_next_good_one_still_works(head, view, name, build, message):
    rgb, depth = view
    h = Harness(robot_record(head))
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        await h.service.on_camera_frame(build(rgb))
    await h.frame(rgb, depth, t=T0)
    scene = await h.frame(rgb, depth, t=T0 + 0.1)
    assert {o.object_id for o in scene.objects} == {"red-cube-1", "blue-ball-1"}
    await h.service.close()


@pytest.mark.parametrize("name, build, message", BAD_DEPTH_FRAMES, ids=[c[0] for c in BAD_DEPTH_FRAMES])
async def test_a_bad_depth_frame_is_refused_precisely_and_the_next_good_one_still_works(head, view, name, build, message):
    rgb, depth = view
    h = Harness(robot_record(head))
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        await h.service.on_depth_frame(build(depth))
    await h.frame(rgb, depth, t=T0)
    scene = await h.frame(rgb, depth, t=T0 + 0.1)
    assert near(by_id(scene)["red-cube-1"], CUBE)
    await h.service.close()


async def test_a_stored_frame_needs_a_frame_store(head, view):
    # The gateway stores frames over one NATS message and sends a reference (robosoul_core.frames;
    # fetched against real NATS in libs/core/tests/test_frames.py and tests/integration).
    h = Harness(robot_record(head))
    ref = control_pb2.StoredObject(bucket="rs_frames", name="acme/r1/s1/1", size=100)
    stored = control_pb2.ObservationEnvelope(tenant="acme", robot_id="r1", session_id="s1", stored_observation=ref)
    with pytest.raises(FailedPrecondition, match="a stored frame arrived, but this perception service has no frame store"):
        await h.service.on_camera_frame(stored)
    stored.tenant = ""
    with pytest.raises(InvalidArgument, match="tenant '' is invalid"):
        await h.service.on_depth_frame(stored)
    rgb, depth = view
    await h.frame(rgb, depth, t=T0)  # and the robot's next frames still work
    assert {o.object_id for o in (await h.frame(rgb, depth, t=T0 + 0.1)).objects} == {"red-cube-1", "blue-ball-1"}
    await h.service.close()


async def test_an_unknown_robot_is_not_found(head, view):
    h = Harness(robot_record(head))
    with pytest.raises(NotFound, match="no robot 'r2'"):
        await h.service.on_camera_frame(camera_env(view[0], robot="r2"))
    await h.service.close()


def test_image_sizes_come_from_the_header():
    rgb = np.zeros((48, 64, 3), np.uint8)
    assert image_size(jpeg(rgb)) == (64, 48)
    assert image_size(cv2.imencode(".png", rgb)[1].tobytes()) == (64, 48)
    assert image_size(b"\xff\xd8\xff\xda\x00\x08") is None and image_size(b"GIF89a") is None


async def test_a_robot_that_falls_behind_drops_its_oldest_frames(head, view, caplog):
    rgb, depth = view
    h = Harness(robot_record(head), queue_size=1)
    h.gate = asyncio.Event()  # publishing stalls: frames pile up behind the first
    await h.service.on_depth_frame(depth_env(depth, t=T0))
    with caplog.at_level(logging.WARNING, logger="robosoul_perception.service"):
        for k in range(5):
            await h.service.on_camera_frame(camera_env(rgb, t=T0 + 0.01 * k))
            await asyncio.sleep(0.02)
    assert "is behind; dropped" in caplog.text
    h.gate.set()
    await h.scene_count(2)
    await asyncio.sleep(0.2)
    # The first frame was in flight; of the four behind it only the newest was kept.
    assert [s.timestamp for s in h.scenes] == [stamp(T0), stamp(T0 + 0.04)]
    await h.service.close()


async def test_a_new_session_starts_fresh_tracks_and_old_sessions_are_evicted(head, view):
    rgb, depth = view
    h = Harness(robot_record(head))
    await h.frame(rgb, depth, t=T0)
    assert len((await h.frame(rgb, depth, t=T0 + 0.1)).objects) == 2
    assert (await h.frame(rgb, depth, t=T0 + 0.2, session="s2")).objects == []  # tracks restart with the session
    assert h.service.viewers == 1
    await h.service.close()


async def test_idle_robots_are_forgotten(head, view):
    rgb, depth = view
    h = Harness(robot_record(head), idle_s=0.05)
    await h.frame(rgb, depth, t=T0)
    await asyncio.sleep(0.1)
    h.service._evict_idle()
    assert h.service.viewers == 0
    await h.service.close()


async def test_scenes_carry_the_frames_trace_and_latency_is_measured(head, view):
    rgb, depth = view
    metrics = ServiceMetrics("perception")
    h = Harness(robot_record(head), metrics=metrics)
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    await h.service.on_depth_frame(depth_env(depth))
    await h.service.on_camera_frame(camera_env(rgb), {"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
    await h.scene_count(1)
    assert h.headers[0]["traceparent"].split("-")[1] == trace_id
    lines = metrics.render().decode().splitlines()
    assert any(line.startswith("robosoul_request_seconds_count") and 'method="scene"' in line and line.endswith(" 1.0") for line in lines)
    assert 'robosoul_sessions{service="perception"} 1.0' in lines
    await h.service.close()


async def test_a_missing_mediapipe_environment_means_scenes_without_people(head, view, caplog, tmp_path):
    rgb, depth = view
    people = PeopleDetector(PeopleConfig(python=Path(tmp_path / "no-venv" / "bin" / "python")))
    h = Harness(robot_record(head), people=people, people_interval_ms=1)
    with caplog.at_level(logging.ERROR, logger="robosoul_perception.service"):
        await h.service.start()
        for k in range(3):
            scene = await h.frame(rgb, depth, t=T0 + 0.1 * k)
            await asyncio.sleep(0.02)
    assert len(scene.objects) == 2 and not scene.people
    assert caplog.text.count("people detection is off") == 1
    await h.service.close()


async def test_people_from_the_mediapipe_worker_join_the_scene(worker_python, photo):
    astronaut = photo("astronaut")
    h_px, w_px = astronaut.shape[:2]
    cam = PinholeCamera.look_at((0.0, 0.0, 1.2), (1.5, 0.0, 1.2), width=w_px, height=h_px, fov_y_deg=50, name="head")
    record = robot_pb2.Robot(robot_id="r1", embodiment=robot_pb2.Embodiment(cameras=[cam.to_spec(has_depth=True)]))
    depth = np.full((h_px, w_px), 1.5, np.float32)  # a person 1.5 m in front of the camera
    people = PeopleDetector(PeopleConfig(python=worker_python))
    h = Harness(record, people=people, people_interval_ms=1)
    await h.service.start()
    for k in range(600):  # while the worker loads its models, scenes come without people
        scene = await h.frame(astronaut, depth, t=T0 + 0.05 * k)
        if scene.people:
            break
        await asyncio.sleep(0.05)
    [person] = scene.people
    assert person.person_id == "person-1" and person.facing_robot
    assert 1.5 < person.position.x < 1.7 and abs(person.position.z - 1.2) < 0.5
    await h.service.close()
