import time

import numpy as np
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from robosoul.v1 import robot_pb2, session_pb2, tensor_pb2
from robosoul_core.errors import InvalidArgument
from robosoul_core.tensors import from_numpy
from robosoul_core.validation import (
    Limits,
    validate_audio,
    validate_camera_frame,
    validate_depth_frame,
    validate_embodiment,
    validate_goal,
    validate_joint_state,
    validate_robot,
)

NOW = 1_800_000_000.0
LIMITS = Limits()


def joint(name="j1", lo=-1.0, hi=1.0, v=2.0, jtype=robot_pb2.JOINT_TYPE_REVOLUTE, effort=0.0):
    return robot_pb2.Joint(name=name, type=jtype, position_limits=robot_pb2.Range(min=lo, max=hi), max_velocity=v, max_effort=effort)


def body(**kw):
    emb = robot_pb2.Embodiment(
        joints=[joint("j1"), joint("j2")], control_rate_hz=50,
        cameras=[robot_pb2.CameraSpec(name="front", width=4, height=2, fps=10, has_depth=True)],
        microphone=robot_pb2.AudioDeviceSpec(name="mic", sample_rate_hz=16000, channels=1),
    )
    for k, v in kw.items():
        if k == "joints":
            del emb.joints[:]
            emb.joints.extend(v)
        else:
            setattr(emb, k, v)
    return emb


def stamp(t=NOW):
    ts = Timestamp()
    ts.FromNanoseconds(int(t * 1e9))
    return ts


def test_good_embodiment_and_robot_pass():
    validate_embodiment(body(), LIMITS)
    validate_robot(robot_pb2.Robot(robot_id="arm-1", embodiment=body()), LIMITS)


BAD_EMBODIMENTS = [
    (body(joints=[]), "joints is empty"),
    (body(joints=[joint(f"j{i}") for i in range(65)]), "at most 64"),
    (body(joints=[joint("j 1")]), "name 'j 1'"),
    (body(joints=[joint("a"), joint("a")]), "used twice"),
    (body(joints=[joint(jtype=robot_pb2.JOINT_TYPE_UNSPECIFIED)]), "type is unspecified"),
    (body(joints=[joint(lo=1, hi=-1)]), "must be below max"),
    (body(joints=[joint(lo=float("nan"))]), "finite number"),
    (body(joints=[joint(hi=float("inf"))]), "finite number"),
    (body(joints=[joint(v=0)]), "max_velocity"),
    (body(joints=[joint(v=float("nan"))]), "max_velocity"),
    (body(joints=[joint(effort=-1)]), "max_effort"),
    (body(control_rate_hz=0), "control_rate_hz"),
    (body(control_rate_hz=5000), "control_rate_hz"),
    (body(embodiment_tag="Bad Tag"), "embodiment_tag"),
]


@pytest.mark.parametrize("emb, message", BAD_EMBODIMENTS)
def test_bad_embodiments_are_refused_precisely(emb, message):
    with pytest.raises(InvalidArgument, match=message):
        validate_embodiment(emb, LIMITS)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda e: e.cameras.add(name="front", width=1, height=1, fps=1), "unique name"),
        (lambda e: e.cameras.add(name="big", width=100000, height=1, fps=1), "width and height"),
        (lambda e: setattr(e.microphone, "sample_rate_hz", 12345), "sample_rate_hz"),
        (lambda e: e.model.MergeFrom(robot_pb2.SimulationModel(mjcf="<html/>")), "does not look like MJCF"),
        (lambda e: e.model.MergeFrom(robot_pb2.SimulationModel(mjcf="<mujoco/>" + " " * (3 << 20))), "larger than"),
        (lambda e: e.model.MergeFrom(robot_pb2.SimulationModel(mjcf="<mujoco/>", assets={"../etc/passwd": b"x"})), "stay inside"),
        (lambda e: e.model.MergeFrom(robot_pb2.SimulationModel(mjcf="<mujoco/>", assets={"/abs.stl": b"x"})), "relative"),
    ],
)
def test_bad_devices_and_models_are_refused(mutate, message):
    emb = body()
    mutate(emb)
    with pytest.raises(InvalidArgument, match=message):
        validate_embodiment(emb, LIMITS)


@pytest.mark.parametrize(
    "robot, message",
    [
        (robot_pb2.Robot(robot_id="Arm_1", embodiment=body()), "robot_id"),
        (robot_pb2.Robot(robot_id="a", display_name="x" * 200, embodiment=body()), "display_name"),
        (robot_pb2.Robot(robot_id="a", embodiment=body(), created_at=stamp()), "set by the server"),
        (robot_pb2.Robot(robot_id="a", embodiment=body(), labels={"bad key": "v"}), "labels"),
    ],
)
def test_bad_robots_are_refused(robot, message):
    with pytest.raises(InvalidArgument, match=message):
        validate_robot(robot, LIMITS)


def js(**kw):
    base = dict(timestamp=stamp(), names=["j1", "j2"], positions=[0.1, -0.2], velocities=[0.0, 0.0])
    base.update(kw)
    return session_pb2.JointState(**base)


def test_good_joint_state_returns_arrays():
    q, qd = validate_joint_state(js(), body(), now=NOW, max_skew_s=5)
    np.testing.assert_allclose(q, [0.1, -0.2])
    q, qd = validate_joint_state(js(velocities=[]), body(), now=NOW, max_skew_s=5)
    assert qd.tolist() == [0.0, 0.0]


BAD_STATES = [
    (js(names=["j1"], positions=[0.0]), "has 1 joints; this robot has 2"),
    (js(names=["j2", "j1"]), r"names\[0\] is 'j2'; expected 'j1'"),
    (js(positions=[0.0]), "positions has 1 values"),
    (js(velocities=[0.0]), "velocities has 1 values"),
    (js(efforts=[1.0, 2.0, 3.0]), "efforts has 3 values"),
    (js(positions=[float("nan"), 0.0]), r"positions\[0\] \(j1\) is not a finite"),
    (js(velocities=[0.0, float("inf")]), r"velocities\[1\] \(j2\)"),
    (js(positions=[0.0, 3.0]), "far outside its limits"),
    (session_pb2.JointState(names=["j1", "j2"], positions=[0, 0]), "timestamp is missing"),
    (js(timestamp=stamp(NOW - 3600)), "away from server time"),
    (js(timestamp=stamp(NOW + 60)), "away from server time"),
]


@pytest.mark.parametrize("state, message", BAD_STATES)
def test_bad_joint_states_are_refused_precisely(state, message):
    with pytest.raises(InvalidArgument, match=message):
        validate_joint_state(state, body(), now=NOW, max_skew_s=5)


def test_small_overshoot_of_a_limit_is_tolerated():
    validate_joint_state(js(positions=[1.05, 0.0]), body(), now=NOW, max_skew_s=5)


@pytest.mark.parametrize(
    "goal, message",
    [
        (session_pb2.Goal(skill=session_pb2.SKILL_REACH), "REACH takes goal.position"),
        (session_pb2.Goal(skill=session_pb2.SKILL_REACH, position={"x": float("nan")}), "position.x must be a finite"),
        (session_pb2.Goal(skill=session_pb2.SKILL_REACH, position={"z": 250.0}), "metres"),
        (session_pb2.Goal(skill=session_pb2.SKILL_HOLD, position={"x": 1.0}), "HOLD takes no target"),
        (session_pb2.Goal(), "SKILL_UNSPECIFIED is not supported"),
        (session_pb2.Goal(skill=77), "77 is not supported"),
        (session_pb2.Goal(skill=session_pb2.SKILL_HOLD, goal_id="x" * 200), "goal_id"),
        (session_pb2.Goal(skill=session_pb2.SKILL_REACH, named_pose="home"), "REACH takes goal.position, not goal.named_pose"),
        (session_pb2.Goal(skill=session_pb2.SKILL_MOVE_TO_POSE), "goal.named_pose or goal.joints"),
        (session_pb2.Goal(skill=session_pb2.SKILL_MOVE_TO_POSE, named_pose="dance"), "not a pose of this robot"),
        (session_pb2.Goal(skill=session_pb2.SKILL_MOVE_TO_POSE, joints={"positions": [0.0]}), "has 1 positions; this robot has 2"),
        (session_pb2.Goal(skill=session_pb2.SKILL_MOVE_TO_POSE, joints={"positions": [0.0, 5.0]}), "outside its limits"),
        (session_pb2.Goal(skill=session_pb2.SKILL_MOVE_TO_POSE, joints={"positions": [0.0, float("nan")]}), "finite"),
        (session_pb2.Goal(skill=session_pb2.SKILL_FOLLOW_PATH, path={}), "0 waypoints"),
        (session_pb2.Goal(skill=session_pb2.SKILL_FOLLOW_PATH, path={"waypoints": [{"x": 0.1}] * 65}), "65 waypoints"),
        (session_pb2.Goal(skill=session_pb2.SKILL_FOLLOW_PATH, path={"waypoints": [{"x": 0.1}, {"y": 99.0}]}), r"waypoints\[1\]\.y"),
        (session_pb2.Goal(skill=session_pb2.SKILL_FOLLOW_PATH, path={"waypoints": [{"x": 0.1}], "duration_s": -1}), "duration_s"),
        (session_pb2.Goal(skill=session_pb2.SKILL_GRASP_AND_PLACE, grasp={"object": {"x": 0.3}}), "both object and place"),
        (session_pb2.Goal(skill=session_pb2.SKILL_GRASP_AND_PLACE, grasp={"object": {"x": 0.3}, "place": {"y": 0.2}}), "no GRIPPER joint"),
    ],
)
def test_bad_goals_are_refused(goal, message):
    emb = body()
    emb.named_poses["home"].positions.extend([0.0, 0.0])
    with pytest.raises(InvalidArgument, match=message):
        validate_goal(goal, emb)


def test_good_goals_pass():
    emb = body(joints=[joint("j1"), joint("g", jtype=robot_pb2.JOINT_TYPE_GRIPPER, lo=0.0, hi=0.04)])
    emb.named_poses["home"].positions.extend([0.0, 0.0])
    for goal in (
        session_pb2.Goal(skill=session_pb2.SKILL_REACH, position={"x": 0.3}),
        session_pb2.Goal(skill=session_pb2.SKILL_MOVE_TO_POSE, named_pose="home"),
        session_pb2.Goal(skill=session_pb2.SKILL_MOVE_TO_POSE, joints={"positions": [0.5, 0.02]}),
        session_pb2.Goal(skill=session_pb2.SKILL_FOLLOW_PATH, path={"waypoints": [{"x": 0.3}, {"x": 0.3, "z": 0.2}], "duration_s": 2}),
        session_pb2.Goal(skill=session_pb2.SKILL_GRASP_AND_PLACE, grasp={"object": {"x": 0.3}, "place": {"y": 0.3}}),
        session_pb2.Goal(skill=session_pb2.SKILL_HOLD),
    ):
        validate_goal(goal, emb)


JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 10


def frame(**kw):
    base = dict(timestamp=stamp(), camera="front", encoding=session_pb2.IMAGE_ENCODING_JPEG, width=4, height=2, encoded=JPEG)
    base.update(kw)
    return session_pb2.CameraFrame(**base)


@pytest.mark.parametrize(
    "f, message",
    [
        (frame(camera="rear"), "not a camera of this robot"),
        (frame(width=8), "registered as 4x2"),
        (frame(encoded=b"GIF89a"), "is not a JPEG image"),
        (frame(encoded=b""), "must be 1.."),
        (frame(encoded=JPEG + b"\0" * (8 << 20)), "must be 1.."),
        (frame(encoding=session_pb2.IMAGE_ENCODING_UNSPECIFIED), "encoding is unspecified"),
        (frame(encoding=session_pb2.IMAGE_ENCODING_RGB8, raw=from_numpy(np.zeros((2, 4), np.uint8))), "expected \\[2, 4, 3\\]"),
        (frame(encoding=session_pb2.IMAGE_ENCODING_RGB8, raw=from_numpy(np.zeros((2, 4, 3), np.float32))), "not allowed here"),
        (frame(timestamp=None), "timestamp is missing"),
    ],
)
def test_bad_camera_frames_are_refused(f, message):
    with pytest.raises(InvalidArgument, match=message):
        validate_camera_frame(f, body(), LIMITS, now=NOW)


def test_good_frames_pass():
    validate_camera_frame(frame(), body(), LIMITS, now=NOW)
    validate_camera_frame(frame(encoding=session_pb2.IMAGE_ENCODING_RGB8, raw=from_numpy(np.zeros((2, 4, 3), np.uint8))), body(), LIMITS, now=NOW)
    validate_depth_frame(session_pb2.DepthFrame(timestamp=stamp(), camera="front", depth=from_numpy(np.ones((2, 4), np.float32))), body(), LIMITS, now=NOW)


def test_bad_depth_is_refused():
    bad = session_pb2.DepthFrame(timestamp=stamp(), camera="front", depth=from_numpy(np.ones((4, 2), np.float32)))
    with pytest.raises(InvalidArgument, match="expected \\[2, 4\\]"):
        validate_depth_frame(bad, body(), LIMITS, now=NOW)
    nan = session_pb2.DepthFrame(timestamp=stamp(), camera="front", depth=from_numpy(np.full((2, 4), np.nan, np.float32)))
    with pytest.raises(InvalidArgument, match="NaN"):
        validate_depth_frame(nan, body(), LIMITS, now=NOW)


def audio(**kw):
    base = dict(timestamp=stamp(), device="mic", sample_rate_hz=16000, samples=from_numpy(np.zeros(160, np.int16)))
    base.update(kw)
    return session_pb2.AudioChunk(**base)


@pytest.mark.parametrize(
    "chunk, message",
    [
        (audio(device="other"), "not this robot's microphone"),
        (audio(sample_rate_hz=8000), "differs from the microphone"),
        (audio(samples=from_numpy(np.zeros(160, np.float32))), "not allowed here"),
        (audio(samples=from_numpy(np.zeros((160, 2), np.int16))), "expected \\[frames\\]"),
        (audio(samples=from_numpy(np.zeros(0, np.int16))), "must be 1.."),
        (audio(samples=from_numpy(np.zeros(100_000, np.int16))), "must be 1.."),
        (audio(samples=tensor_pb2.Tensor(dtype=tensor_pb2.DTYPE_INT16, shape=[160], data=b"\0")), "needs 320 bytes"),
    ],
)
def test_bad_audio_is_refused(chunk, message):
    with pytest.raises(InvalidArgument, match=message):
        validate_audio(chunk, body(), LIMITS, now=NOW)


def test_audio_needs_a_microphone():
    emb = body()
    emb.ClearField("microphone")
    with pytest.raises(InvalidArgument, match="without a microphone"):
        validate_audio(audio(), emb, LIMITS, now=NOW)
    validate_audio(audio(), body(), LIMITS, now=time.time() * 0 + NOW)
