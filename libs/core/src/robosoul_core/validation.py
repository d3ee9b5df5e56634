"""Checks on every inbound message, with errors a vendor can act on.

Each function raises InvalidArgument naming the offending field and what was
expected; none of them trusts sizes, counts or numbers from the wire.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from robosoul.v1 import dialogue_pb2, robot_pb2, session_pb2, tensor_pb2
from robosoul_core.affect import validate_emotion
from robosoul_core.errors import InvalidArgument
from robosoul_core.subjects import check_id
from robosoul_core.tensors import to_numpy

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MAX_DISPLAY_NAME = 128
MAX_LABELS = 32
MAX_COORDINATE_M = 10.0
# Measured positions may overshoot a limit a little (compliance, calibration);
# beyond this fraction of the range they are a unit or ordering mistake.
LIMIT_SLACK = 0.05
SAMPLE_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000)
JPEG_MAGIC, PNG_MAGIC = b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Limits:
    max_joints: int = 64
    max_mjcf_bytes: int = 2 << 20
    max_asset_bytes: int = 16 << 20
    max_frame_bytes: int = 8 << 20
    max_audio_frames: int = 48_000
    max_clock_skew_s: float = 10.0


def joint_limits(emb: robot_pb2.Embodiment) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Position lower and upper limits and speed limits, in the embodiment's joint order."""
    lo = np.array([j.position_limits.min for j in emb.joints])
    hi = np.array([j.position_limits.max for j in emb.joints])
    vmax = np.array([j.max_velocity for j in emb.joints])
    return lo, hi, vmax


def _finite(value: float, field: str) -> float:
    if not math.isfinite(value):
        raise InvalidArgument(f"{field} must be a finite number, got {value}")
    return value


def validate_robot(robot: robot_pb2.Robot, limits: Limits) -> None:
    check_id(robot.robot_id, "robot.robot_id")
    if len(robot.display_name) > MAX_DISPLAY_NAME:
        raise InvalidArgument(f"robot.display_name is longer than {MAX_DISPLAY_NAME} characters")
    if len(robot.labels) > MAX_LABELS:
        raise InvalidArgument(f"robot.labels has {len(robot.labels)} entries; at most {MAX_LABELS}")
    for k, v in robot.labels.items():
        if not NAME_PATTERN.match(k) or len(v) > 256:
            raise InvalidArgument(f"robot.labels[{k!r}]: keys are [A-Za-z0-9_.-]{{1,64}}, values at most 256 characters")
    if robot.HasField("created_at"):
        raise InvalidArgument("robot.created_at is set by the server; leave it empty")
    validate_embodiment(robot.embodiment, limits)
    validate_persona(robot.persona)


MAX_PERSONA_NAME = 40
MAX_PERSONALITY = 400
MAX_UTTERANCE_CHARS = 2000
MAX_SCENE_OBJECTS = 64
MAX_SCENE_PEOPLE = 16
WORD_PATTERN = re.compile(r"^[a-z][a-z -]{0,31}$")


def _name(value: str, field: str) -> None:
    if not NAME_PATTERN.match(value):
        raise InvalidArgument(f"{field} must match [A-Za-z0-9_.-]{{1,64}}")


def _printable(text: str, field: str) -> None:
    if any(ord(c) < 32 and c not in "\t\n" for c in text):
        raise InvalidArgument(f"{field} contains control characters")


def validate_persona(persona: dialogue_pb2.Persona, field: str = "robot.persona") -> None:
    """A persona is optional (all empty); what is set must be short, printable text."""
    if len(persona.name) > MAX_PERSONA_NAME or (persona.name and not persona.name.strip()):
        raise InvalidArgument(f"{field}.name must be 1..{MAX_PERSONA_NAME} characters, not blank")
    if len(persona.personality) > MAX_PERSONALITY:
        raise InvalidArgument(f"{field}.personality is longer than {MAX_PERSONALITY} characters")
    _printable(persona.name, f"{field}.name")
    _printable(persona.personality, f"{field}.personality")
    if persona.default_style not in dialogue_pb2.ReplyStyle.values():
        raise InvalidArgument(f"{field}.default_style {persona.default_style} is not a ReplyStyle")
    if persona.voice:
        _name(persona.voice, f"{field}.voice")


def validate_user_text(text: dialogue_pb2.UserText, field: str = "text") -> None:
    _name(text.utterance_id, f"{field}.utterance_id")
    if not text.text.strip():
        raise InvalidArgument(f"{field}.text is empty")
    if len(text.text) > MAX_UTTERANCE_CHARS:
        raise InvalidArgument(f"{field}.text is {len(text.text)} characters; at most {MAX_UTTERANCE_CHARS}")
    _printable(text.text, f"{field}.text")
    if text.HasField("emotion"):
        validate_emotion(text.emotion, f"{field}.emotion")


def validate_scene(scene: dialogue_pb2.Scene, field: str = "scene") -> None:
    """Objects and people with unique ids, positions in metres, names as plain words."""
    if len(scene.objects) > MAX_SCENE_OBJECTS:
        raise InvalidArgument(f"{field}.objects has {len(scene.objects)} entries; at most {MAX_SCENE_OBJECTS}")
    if len(scene.people) > MAX_SCENE_PEOPLE:
        raise InvalidArgument(f"{field}.people has {len(scene.people)} entries; at most {MAX_SCENE_PEOPLE}")
    if scene.camera:
        _name(scene.camera, f"{field}.camera")
    seen: set[str] = set()
    for i, obj in enumerate(scene.objects):
        where = f"{field}.objects[{i}]"
        _name(obj.object_id, f"{where}.object_id")
        if obj.object_id in seen:
            raise InvalidArgument(f"{where}.object_id {obj.object_id!r} appears twice")
        seen.add(obj.object_id)
        for name in ("label", "color"):
            value = getattr(obj, name)
            if value and not WORD_PATTERN.match(value):
                raise InvalidArgument(f"{where}.{name} {value!r} must be lowercase words (a-z, space, '-'), at most 32 characters")
        if not obj.label:
            raise InvalidArgument(f"{where}.label is empty: say what the object is (\"cube\", \"cup\", ...)")
        _point(obj.position, f"{where}.position")
        if not (0.0 <= _finite(obj.size_m, f"{where}.size_m") <= 2.0):
            raise InvalidArgument(f"{where}.size_m = {obj.size_m} must be within 0..2 m")
        if not (0.0 <= _finite(obj.confidence, f"{where}.confidence") <= 1.0):
            raise InvalidArgument(f"{where}.confidence = {obj.confidence} must be within 0..1")
    people: set[str] = set()
    for i, person in enumerate(scene.people):
        where = f"{field}.people[{i}]"
        if not NAME_PATTERN.match(person.person_id) or person.person_id in people:
            raise InvalidArgument(f"{where}.person_id must be a unique [A-Za-z0-9_.-]{{1,64}}")
        people.add(person.person_id)
        _point(person.position, f"{where}.position")


def validate_embodiment(emb: robot_pb2.Embodiment, limits: Limits) -> None:
    n = len(emb.joints)
    if n == 0:
        raise InvalidArgument("embodiment.joints is empty: describe at least one joint")
    if n > limits.max_joints:
        raise InvalidArgument(f"embodiment.joints has {n} joints; at most {limits.max_joints}")
    seen: set[str] = set()
    for i, j in enumerate(emb.joints):
        where = f"embodiment.joints[{i}]"
        if not NAME_PATTERN.match(j.name):
            raise InvalidArgument(f"{where}.name {j.name!r}: use 1-64 characters of [A-Za-z0-9_.-]")
        if j.name in seen:
            raise InvalidArgument(f"{where}.name {j.name!r} is used twice; joint names must be unique")
        seen.add(j.name)
        if j.type == robot_pb2.JOINT_TYPE_UNSPECIFIED:
            raise InvalidArgument(f"{where} ({j.name}): type is unspecified (REVOLUTE, PRISMATIC or GRIPPER)")
        lo = _finite(j.position_limits.min, f"{where}.position_limits.min")
        hi = _finite(j.position_limits.max, f"{where}.position_limits.max")
        if not lo < hi:
            raise InvalidArgument(f"{where} ({j.name}): position_limits.min ({lo}) must be below max ({hi})")
        if not (math.isfinite(j.max_velocity) and j.max_velocity > 0):
            raise InvalidArgument(f"{where} ({j.name}): max_velocity must be a finite number > 0, got {j.max_velocity}")
        if not (math.isfinite(j.max_effort) and j.max_effort >= 0):
            raise InvalidArgument(f"{where} ({j.name}): max_effort must be finite and >= 0, got {j.max_effort}")
    cams: set[str] = set()
    for i, c in enumerate(emb.cameras):
        where = f"embodiment.cameras[{i}]"
        if not NAME_PATTERN.match(c.name) or c.name in cams:
            raise InvalidArgument(f"{where}.name {c.name!r}: must be a unique name of [A-Za-z0-9_.-]{{1,64}}")
        cams.add(c.name)
        if not (0 < c.width <= 8192 and 0 < c.height <= 8192):
            raise InvalidArgument(f"{where} ({c.name}): width and height must be in 1..8192")
        if not (math.isfinite(c.fps) and 0 < c.fps <= 240):
            raise InvalidArgument(f"{where} ({c.name}): fps must be in (0, 240]")
    for field in ("microphone", "speaker"):
        if emb.HasField(field):
            dev = getattr(emb, field)
            if dev.sample_rate_hz not in SAMPLE_RATES:
                raise InvalidArgument(f"embodiment.{field}.sample_rate_hz {dev.sample_rate_hz} is not one of {SAMPLE_RATES}")
            if not 1 <= dev.channels <= 8:
                raise InvalidArgument(f"embodiment.{field}.channels must be in 1..8")
    if not (math.isfinite(emb.control_rate_hz) and 0 < emb.control_rate_hz <= 1000):
        raise InvalidArgument(f"embodiment.control_rate_hz must be in (0, 1000], got {emb.control_rate_hz}")
    if emb.embodiment_tag and not TAG_PATTERN.match(emb.embodiment_tag):
        raise InvalidArgument(f"embodiment.embodiment_tag {emb.embodiment_tag!r}: use [a-z0-9._-], at most 64 characters")
    if emb.HasField("model"):
        mjcf = emb.model.mjcf
        if len(mjcf.encode()) > limits.max_mjcf_bytes:
            raise InvalidArgument(f"embodiment.model.mjcf is larger than {limits.max_mjcf_bytes} bytes")
        if "<mujoco" not in mjcf[:4096]:
            raise InvalidArgument("embodiment.model.mjcf does not look like MJCF (no <mujoco> element near the start)")
        total = sum(len(v) for v in emb.model.assets.values())
        if total > limits.max_asset_bytes:
            raise InvalidArgument(f"embodiment.model.assets total {total} bytes; at most {limits.max_asset_bytes}")
        for path in emb.model.assets:
            if path.startswith("/") or ".." in path.split("/"):
                raise InvalidArgument(f"embodiment.model.assets[{path!r}]: paths must be relative and stay inside the model")


def validate_joint_state(
    js: session_pb2.JointState, emb: robot_pb2.Embodiment, *, now: float, max_skew_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Check a joint state against the embodiment; return positions and velocities (zeros if absent)."""
    names = [j.name for j in emb.joints]
    n = len(names)
    if list(js.names) != names:
        if len(js.names) != n:
            raise InvalidArgument(f"joint_state.names has {len(js.names)} joints; this robot has {n}: {names}")
        wrong = next(i for i, (a, b) in enumerate(zip(js.names, names, strict=True)) if a != b)
        raise InvalidArgument(f"joint_state.names[{wrong}] is {js.names[wrong]!r}; expected {names[wrong]!r} (order as registered: {names})")
    if len(js.positions) != n:
        raise InvalidArgument(f"joint_state.positions has {len(js.positions)} values; expected {n}")
    if len(js.velocities) not in (0, n):
        raise InvalidArgument(f"joint_state.velocities has {len(js.velocities)} values; expected 0 or {n}")
    if len(js.efforts) not in (0, n):
        raise InvalidArgument(f"joint_state.efforts has {len(js.efforts)} values; expected 0 or {n}")
    q = np.asarray(js.positions, dtype=np.float64)
    qd = np.asarray(js.velocities, dtype=np.float64) if js.velocities else np.zeros(n)
    for field, arr in (("positions", q), ("velocities", qd), ("efforts", np.asarray(js.efforts))):
        if not np.isfinite(arr).all():
            bad = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise InvalidArgument(f"joint_state.{field}[{bad}] ({names[bad]}) is not a finite number")
    for i, j in enumerate(emb.joints):
        lo, hi = j.position_limits.min, j.position_limits.max
        slack = LIMIT_SLACK * (hi - lo)
        if not lo - slack <= q[i] <= hi + slack:
            raise InvalidArgument(
                f"joint_state.positions[{i}] ({j.name}) = {q[i]:.4g} is far outside its limits [{lo:.4g}, {hi:.4g}]: check units and joint order"
            )
    validate_timestamp(js, "joint_state.timestamp", now=now, max_skew_s=max_skew_s)
    return q, qd


MAX_PLAN_LEAD_S = 1.0


def validate_planned(planned: session_pb2.PlannedState, emb: robot_pb2.Embodiment) -> tuple[np.ndarray, np.ndarray]:
    """Check a PlannedState against the embodiment; return positions and velocities."""
    n = len(emb.joints)
    if not (math.isfinite(planned.lead_s) and 0 <= planned.lead_s <= MAX_PLAN_LEAD_S):
        raise InvalidArgument(f"planned.lead_s must be within [0, {MAX_PLAN_LEAD_S}] s, got {planned.lead_s}")
    if len(planned.positions) != n:
        raise InvalidArgument(f"planned.positions has {len(planned.positions)} values; expected {n}")
    if len(planned.velocities) not in (0, n):
        raise InvalidArgument(f"planned.velocities has {len(planned.velocities)} values; expected 0 or {n}")
    q = np.asarray(planned.positions, dtype=np.float64)
    qd = np.asarray(planned.velocities, dtype=np.float64) if planned.velocities else np.zeros(n)
    if not (np.isfinite(q).all() and np.isfinite(qd).all()):
        raise InvalidArgument("planned contains a value that is not a finite number")
    for i, j in enumerate(emb.joints):
        lo, hi = j.position_limits.min, j.position_limits.max
        slack = LIMIT_SLACK * (hi - lo)
        if not lo - slack <= q[i] <= hi + slack:
            raise InvalidArgument(f"planned.positions[{i}] ({j.name}) = {q[i]:.4g} is outside its limits [{lo:.4g}, {hi:.4g}]")
    return q, qd


def validate_timestamp(msg, field: str, *, now: float, max_skew_s: float) -> float:
    if not msg.HasField("timestamp"):
        raise InvalidArgument(f"{field} is missing: stamp every observation with the time it was measured")
    t = msg.timestamp.seconds + msg.timestamp.nanos * 1e-9
    if abs(t - now) > max_skew_s:
        raise InvalidArgument(
            f"{field} is {t - now:+.1f} s away from server time (allowed ±{max_skew_s:.0f} s): sync the robot's clock (NTP)"
        )
    return t


MAX_PATH_WAYPOINTS = 64


def _point(v, field: str) -> None:
    for axis in ("x", "y", "z"):
        value = getattr(v, axis)
        _finite(value, f"{field}.{axis}")
        if abs(value) > MAX_COORDINATE_M:
            raise InvalidArgument(f"{field}.{axis} = {value} m is beyond ±{MAX_COORDINATE_M} m: positions are in metres")


def validate_goal(goal: session_pb2.Goal, embodiment: robot_pb2.Embodiment | None = None) -> None:
    """Check a goal; with the robot's embodiment, also that this body can pursue it."""
    if len(goal.goal_id) > 128:
        raise InvalidArgument("goal.goal_id is longer than 128 characters")
    skill, target = goal.skill, goal.WhichOneof("target")
    expected = {
        session_pb2.SKILL_HOLD: (None,),
        session_pb2.SKILL_REACH: ("position",),
        session_pb2.SKILL_MOVE_TO_POSE: ("named_pose", "joints"),
        session_pb2.SKILL_FOLLOW_PATH: ("path",),
        session_pb2.SKILL_GRASP_AND_PLACE: ("grasp",),
    }.get(skill)
    if expected is None:
        name = session_pb2.Skill.Name(skill) if skill in session_pb2.Skill.values() else str(skill)
        raise InvalidArgument(f"goal.skill {name} is not supported; use REACH, MOVE_TO_POSE, FOLLOW_PATH, GRASP_AND_PLACE or HOLD")
    name = session_pb2.Skill.Name(skill)[6:]
    if target not in expected:
        wanted = " or ".join(f"goal.{t}" for t in expected if t) or "no target"
        raise InvalidArgument(f"goal: {name} takes {wanted}" + (f", not goal.{target}" if target else ""))
    if target == "position":
        _point(goal.position, "goal.position")
    elif target == "path":
        waypoints = goal.path.waypoints
        if not 1 <= len(waypoints) <= MAX_PATH_WAYPOINTS:
            raise InvalidArgument(f"goal.path has {len(waypoints)} waypoints; give 1..{MAX_PATH_WAYPOINTS}")
        for i, w in enumerate(waypoints):
            _point(w, f"goal.path.waypoints[{i}]")
        if not (math.isfinite(goal.path.duration_s) and 0 <= goal.path.duration_s <= 600):
            raise InvalidArgument("goal.path.duration_s must be in [0, 600] seconds (0: the service chooses)")
    elif target == "grasp":
        if not (goal.grasp.HasField("object") and goal.grasp.HasField("place")):
            raise InvalidArgument("goal.grasp needs both object and place positions")
        _point(goal.grasp.object, "goal.grasp.object")
        _point(goal.grasp.place, "goal.grasp.place")
        if embodiment is not None and not any(j.type == robot_pb2.JOINT_TYPE_GRIPPER for j in embodiment.joints):
            raise InvalidArgument("goal: GRASP_AND_PLACE needs a gripper, and this robot has no GRIPPER joint")
    elif target == "named_pose":
        if embodiment is not None and goal.named_pose not in embodiment.named_poses:
            known = sorted(embodiment.named_poses) or "none registered"
            raise InvalidArgument(f"goal.named_pose {goal.named_pose!r} is not a pose of this robot (known: {known})")
    elif target == "joints" and embodiment is not None:
        n = len(embodiment.joints)
        if len(goal.joints.positions) != n:
            raise InvalidArgument(f"goal.joints has {len(goal.joints.positions)} positions; this robot has {n} joints")
        for i, (value, joint) in enumerate(zip(goal.joints.positions, embodiment.joints, strict=True)):
            _finite(value, f"goal.joints.positions[{i}]")
            if not joint.position_limits.min <= value <= joint.position_limits.max:
                raise InvalidArgument(
                    f"goal.joints.positions[{i}] ({joint.name}) = {value:.4g} is outside its limits "
                    f"[{joint.position_limits.min:.4g}, {joint.position_limits.max:.4g}]"
                )


def _camera(emb: robot_pb2.Embodiment, name: str, field: str) -> robot_pb2.CameraSpec:
    for cam in emb.cameras:
        if cam.name == name:
            return cam
    raise InvalidArgument(f"{field} {name!r} is not a camera of this robot; registered: {[c.name for c in emb.cameras]}")


def validate_camera_frame(frame: session_pb2.CameraFrame, emb: robot_pb2.Embodiment, limits: Limits, *, now: float) -> None:
    cam = _camera(emb, frame.camera, "camera_frame.camera")
    validate_timestamp(frame, "camera_frame.timestamp", now=now, max_skew_s=limits.max_clock_skew_s)
    if (frame.width, frame.height) != (cam.width, cam.height):
        raise InvalidArgument(f"camera_frame is {frame.width}x{frame.height}; camera {cam.name!r} is registered as {cam.width}x{cam.height}")
    enc = frame.encoding
    if enc in (session_pb2.IMAGE_ENCODING_JPEG, session_pb2.IMAGE_ENCODING_PNG):
        size = len(frame.encoded)
        if size == 0 or size > limits.max_frame_bytes:
            raise InvalidArgument(f"camera_frame.encoded is {size} bytes; must be 1..{limits.max_frame_bytes}")
        magic = JPEG_MAGIC if enc == session_pb2.IMAGE_ENCODING_JPEG else PNG_MAGIC
        if not frame.encoded.startswith(magic):
            raise InvalidArgument(f"camera_frame.encoded is not a {session_pb2.ImageEncoding.Name(enc)[15:]} image")
    elif enc == session_pb2.IMAGE_ENCODING_RGB8:
        if len(frame.raw.data) > limits.max_frame_bytes:
            raise InvalidArgument(f"camera_frame.raw is {len(frame.raw.data)} bytes; at most {limits.max_frame_bytes} (send JPEG)")
        img = to_numpy(frame.raw, field="camera_frame.raw", dtypes=(tensor_pb2.DTYPE_UINT8,))
        if img.shape != (cam.height, cam.width, 3):
            raise InvalidArgument(f"camera_frame.raw has shape {list(img.shape)}; expected [{cam.height}, {cam.width}, 3]")
    else:
        raise InvalidArgument("camera_frame.encoding is unspecified: JPEG, PNG or RGB8")


def validate_depth_frame(frame: session_pb2.DepthFrame, emb: robot_pb2.Embodiment, limits: Limits, *, now: float) -> None:
    cam = _camera(emb, frame.camera, "depth_frame.camera")
    if not cam.has_depth:
        raise InvalidArgument(f"camera {cam.name!r} is registered without depth")
    validate_timestamp(frame, "depth_frame.timestamp", now=now, max_skew_s=limits.max_clock_skew_s)
    if len(frame.depth.data) > limits.max_frame_bytes:
        raise InvalidArgument(f"depth_frame.depth is {len(frame.depth.data)} bytes; at most {limits.max_frame_bytes}")
    depth = to_numpy(frame.depth, field="depth_frame.depth", dtypes=(tensor_pb2.DTYPE_FLOAT32, tensor_pb2.DTYPE_UINT16))
    if depth.shape != (cam.height, cam.width):
        raise InvalidArgument(f"depth_frame.depth has shape {list(depth.shape)}; expected [{cam.height}, {cam.width}]")


def validate_audio(chunk: session_pb2.AudioChunk, emb: robot_pb2.Embodiment, limits: Limits, *, now: float) -> None:
    if not emb.HasField("microphone"):
        raise InvalidArgument("audio: this robot was registered without a microphone")
    mic = emb.microphone
    if chunk.device != mic.name:
        raise InvalidArgument(f"audio.device {chunk.device!r} is not this robot's microphone {mic.name!r}")
    if chunk.sample_rate_hz != mic.sample_rate_hz:
        raise InvalidArgument(f"audio.sample_rate_hz {chunk.sample_rate_hz} differs from the microphone's {mic.sample_rate_hz}")
    validate_timestamp(chunk, "audio.timestamp", now=now, max_skew_s=limits.max_clock_skew_s)
    samples = to_numpy(chunk.samples, field="audio.samples", dtypes=(tensor_pb2.DTYPE_INT16,), max_elements=limits.max_audio_frames * 8)
    shape: Sequence[int] = samples.shape
    if not (len(shape) == 1 and mic.channels == 1) and not (len(shape) == 2 and shape[1] == mic.channels):
        raise InvalidArgument(f"audio.samples has shape {list(shape)}; expected [frames] or [frames, {mic.channels}]")
    if shape[0] == 0 or shape[0] > limits.max_audio_frames:
        raise InvalidArgument(f"audio.samples has {shape[0]} frames; must be 1..{limits.max_audio_frames}")
