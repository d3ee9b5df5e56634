"""The worker's wire format and checks, its geometry, and the people configuration (no event loop)."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from robosoul_core.camera import PinholeCamera
from robosoul_core.errors import InvalidArgument
from robosoul_perception import people_worker as wire
from robosoul_perception.people import HEAD_DEPTH_M, Face, PeopleConfig, Person, head_position


def test_the_worker_refuses_bad_requests_and_keeps_serving(worker_python):
    env = dict(os.environ, PYTHONPATH=str(Path(wire.__file__).resolve().parents[1]))
    proc = subprocess.Popen(
        [str(worker_python), "-m", "robosoul_perception.people_worker", "--features", "faces"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
    )
    try:
        ready, _ = wire.read_frame(proc.stdout)
        assert ready["type"] == "ready" and ready["features"] == ["faces"] and ready["mediapipe"] == "0.10.21"
        requests = [
            ({"op": "dance", "id": 1}, b"", "unknown op 'dance'"),
            ({"op": "detect", "id": 2, "width": 4, "height": 4}, b"\0" * 47, "a 4x4 RGB image is 48 bytes, got 47"),
            ({"op": "detect", "id": 3, "width": "4", "height": 4}, b"", "width and height must be integers in 1..4096"),
            ({"op": "detect", "id": 4, "width": 5000, "height": 1}, b"", "width and height must be integers in 1..4096"),
        ]
        for header, body, message in requests:
            wire.write_frame(proc.stdin, header, body)
            reply, _ = wire.read_frame(proc.stdout)
            assert (reply["type"], reply["id"]) == ("error", header["id"]) and message in reply["error"]
        wire.write_frame(proc.stdin, {"op": "ping", "id": 5})
        assert wire.read_frame(proc.stdout)[0] == {"type": "pong", "id": 5}
        wire.write_frame(proc.stdin, {"op": "detect", "id": 6, "width": 4, "height": 4}, b"\0" * 48)
        reply, _ = wire.read_frame(proc.stdout)
        assert (reply["type"], reply["id"], reply["faces"], reply["pose"]) == ("result", 6, [], None)
        # A frame that cannot be read ends the worker, with a last word.
        proc.stdin.write(struct.pack(">II", 1, 0) + b"{")
        proc.stdin.flush()
        reply, _ = wire.read_frame(proc.stdout)
        assert reply["type"] == "fatal" and "header length 1" in reply["error"]
        assert proc.wait(timeout=30) == 2
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"", EOFError, ""),
        (struct.pack(">II", 0, 0), wire.ProtocolError, "header length 0 is outside"),
        (struct.pack(">II", wire.MAX_HEADER_BYTES + 1, 0), wire.ProtocolError, "header length 65537"),
        (struct.pack(">II", 2, wire.MAX_BODY_BYTES + 1), wire.ProtocolError, "body length"),
        (struct.pack(">II", 3, 0) + b"{x}", wire.ProtocolError, "frame header is not JSON"),
        (struct.pack(">II", 2, 0) + b"[]", wire.ProtocolError, "must be a JSON object"),
        (struct.pack(">II", 2, 5) + b"{}ab", EOFError, ""),
        (struct.pack(">I", 2), EOFError, ""),
    ],
    ids=["empty", "zero-header", "huge-header", "huge-body", "not-json", "json-array", "short-body", "short-lengths"],
)
def test_unreadable_frames(data, error, message):
    with pytest.raises(error) as err:
        wire.read_frame(io.BytesIO(data))
    assert message in str(err.value)


def test_frames_round_trip_as_json_and_raw_bytes():
    buf = io.BytesIO()
    wire.write_frame(buf, {"op": "detect", "id": 7, "width": 2, "height": 1}, bytes(range(6)))
    raw = buf.getvalue()
    assert raw[8:].startswith(json.dumps({"op": "detect", "id": 7, "width": 2, "height": 1}, separators=(",", ":")).encode())
    header, body = wire.read_frame(io.BytesIO(raw))
    assert wire.image_from(header, body).tolist() == [[[0, 1, 2], [3, 4, 5]]]


def test_yaw_ignores_head_roll():
    level = {"right_ear": (40, 50), "left_ear": (60, 50), "nose_tip": (55, 52), "right_eye": (46, 45), "left_eye": (56, 45)}
    angle = np.radians(30)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    rolled = {k: tuple(rot @ (np.array(v) - 50) + 50) for k, v in level.items()}
    assert wire.face_yaw_deg(rolled) == pytest.approx(wire.face_yaw_deg(level))
    assert wire.face_yaw_deg(level) == pytest.approx(np.degrees(np.arctan2(0.5, wire.NOSE_DEPTH_RATIO)))


def test_head_position_is_behind_the_face_along_the_view_ray():
    cam = PinholeCamera.look_at((0.0, 0.0, 1.0), (2.0, 0.0, 1.0), width=64, height=48, fov_y_deg=60)
    depth = np.full((48, 64), 1.5, np.float32)
    face = Face(bbox=(28.0, 20.0, 8.0, 8.0), score=0.9, keypoints={}, yaw_deg=0.0, facing_robot=True)
    person = Person(bbox=face.bbox, face=face, facing_robot=True)
    head = head_position(person, depth, cam)
    surface = cam.deproject(np.array([32]), np.array([24]), np.array([1.5]))[0]
    assert np.allclose(head, surface + cam.rays(np.array([32]), np.array([24]))[0] * HEAD_DEPTH_M)
    assert head_position(person, np.full((48, 64), np.nan, np.float32), cam) is None
    with pytest.raises(InvalidArgument, match=r"depth has shape \(10, 10\)"):
        head_position(person, np.zeros((10, 10), np.float32), cam)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"features": ()}, "features must be a non-empty subset"),
        ({"features": ("pose", "gait")}, "features must be a non-empty subset"),
        ({"face_model": "long"}, "face_model must be 'short' or 'full'"),
        ({"max_hands": 0}, "max_hands must be in 1..8"),
        ({"min_confidence": 1.0}, "min_confidence must be in (0, 1)"),
        ({"request_timeout_s": 0.0}, "request_timeout_s must be a finite number > 0"),
        ({"start_timeout_s": float("nan")}, "start_timeout_s must be a finite number > 0"),
        ({"max_failures": 0}, "max_failures must be >= 1"),
        ({"facing_max_yaw_deg": 120.0}, "facing_max_yaw_deg must be in (0, 90]"),
    ],
)
def test_bad_people_configs_are_refused_precisely(kwargs, message):
    with pytest.raises(InvalidArgument) as err:
        PeopleConfig(python=Path("/usr/bin/python3"), **kwargs)
    assert message in str(err.value)
