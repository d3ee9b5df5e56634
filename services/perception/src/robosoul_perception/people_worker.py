"""The people worker: mediapipe pose, face detection and hands in a child process.

mediapipe 0.10.21 (the last release with `mediapipe.solutions` and bundled models) needs
numpy<2 and protobuf<5, so it lives in its own environment (`.venv-perception`) and runs
as `python -m robosoul_perception.people_worker`; `people.PeopleDetector` starts it and
talks to it over stdin/stdout. This module imports only the standard library and numpy at
the top (mediapipe when the models load), never robosoul code or protobuf messages.

Wire format, both directions: frames of

    uint32 big-endian header length | uint32 big-endian body length | header | body

where the header is a UTF-8 JSON object and the body raw bytes (no pickle, nothing
executable). Requests: `{"op": "detect", "id": n, "width": w, "height": h}` with the
image as w*h*3 RGB bytes, or `{"op": "ping", "id": n}` with no body. Replies carry the
request's id and no body: `{"type": "result", ...}`, `{"type": "error", "error": why}`
for a request the worker refuses (it keeps serving), and `{"type": "fatal", ...}` just
before it exits on a stream it can no longer read. The first frame the worker writes is
`{"type": "ready", ...}` once its models are loaded.

    >>> import io
    >>> buf = io.BytesIO()
    >>> write_frame(buf, {"op": "ping", "id": 1})
    >>> _ = buf.seek(0)
    >>> read_frame(buf)
    ({'op': 'ping', 'id': 1}, b'')

A result (pixel coordinates; see `people.py` for how they become people):

    {"type": "result", "id": 7, "ms": 41.2,
     "pose": {"bbox": [x, y, w, h], "landmarks": {"nose": [x, y, visibility], ...}} or null,
     "faces": [{"bbox": [x, y, w, h], "score": 0.93, "keypoints": {"right_eye": [x, y], ...}, "yaw_deg": 4.0}],
     "hands": [{"bbox": [x, y, w, h], "handedness": "Left", "score": 0.97}]}
"""

from __future__ import annotations

import argparse
import json
import math
import os
import struct
import sys
import time
from typing import Any, BinaryIO

import numpy as np

MAX_HEADER_BYTES = 64 << 10
MAX_SIDE = 4096
MAX_BODY_BYTES = MAX_SIDE * MAX_SIDE * 3
FEATURES = ("pose", "faces", "hands")
# mediapipe face detection keypoints, in its order. "right" is the person's right (image left).
FACE_KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear", "left_ear")
# mediapipe pose landmark indices reported (of 33).
POSE_LANDMARKS = {
    "nose": 0, "right_eye": 5, "left_eye": 2, "right_ear": 8, "left_ear": 7,
    "right_shoulder": 12, "left_shoulder": 11, "right_elbow": 14, "left_elbow": 13,
    "right_wrist": 16, "left_wrist": 15, "right_hip": 24, "left_hip": 23,
}
# How far the nose tip stands in front of the ear-to-ear axis, in half ear-to-ear widths
# (anthropometric: about 11 cm against 7 cm).
NOSE_DEPTH_RATIO = 1.5
_LENGTHS = struct.Struct(">II")


class ProtocolError(Exception):
    """The byte stream is not (or no longer) in the worker's frame format."""


def write_frame(out: BinaryIO, header: dict[str, Any], body: bytes = b"") -> None:
    data = json.dumps(header, separators=(",", ":")).encode()
    out.write(_LENGTHS.pack(len(data), len(body)) + data + body)
    out.flush()


def _read_exactly(inp: BinaryIO, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = inp.read(left)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(inp: BinaryIO) -> tuple[dict[str, Any], bytes]:
    """One frame; EOFError at a clean end of stream, ProtocolError on anything malformed."""
    head = inp.read(_LENGTHS.size)
    if not head:
        raise EOFError
    if len(head) < _LENGTHS.size:
        head += _read_exactly(inp, _LENGTHS.size - len(head))
    header_len, body_len = _LENGTHS.unpack(head)
    check_lengths(header_len, body_len)
    try:
        header = json.loads(_read_exactly(inp, header_len))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProtocolError(f"frame header is not JSON: {e}") from None
    if not isinstance(header, dict):
        raise ProtocolError("frame header must be a JSON object")
    return header, _read_exactly(inp, body_len)


def check_lengths(header_len: int, body_len: int) -> None:
    if not 2 <= header_len <= MAX_HEADER_BYTES:
        raise ProtocolError(f"header length {header_len} is outside 2..{MAX_HEADER_BYTES}")
    if body_len > MAX_BODY_BYTES:
        raise ProtocolError(f"body length {body_len} exceeds {MAX_BODY_BYTES}")


def image_from(header: dict[str, Any], body: bytes) -> np.ndarray:
    """The request's RGB image; ValueError with the reason if the header and body disagree."""
    width, height = header.get("width"), header.get("height")
    if not (isinstance(width, int) and isinstance(height, int) and 0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise ValueError(f"width and height must be integers in 1..{MAX_SIDE}, got {width!r} x {height!r}")
    if len(body) != width * height * 3:
        raise ValueError(f"a {width}x{height} RGB image is {width * height * 3} bytes, got {len(body)}")
    return np.frombuffer(body, dtype=np.uint8).reshape(height, width, 3)


def face_yaw_deg(keypoints: dict[str, tuple[float, float]]) -> float:
    """Head yaw from face-detection keypoints: 0 facing the camera, + nose towards the image's right.

    The nose tip's offset from the middle of the ears, measured along the ear-to-ear
    axis (so head roll does not matter), is `NOSE_DEPTH_RATIO * tan(yaw)` half-widths.
    Without usable ears the eyes stand in (the nose is about 0.6 half-widths in front).

    >>> round(face_yaw_deg({"right_ear": (40, 50), "left_ear": (60, 50), "nose_tip": (50, 52),
    ...                     "right_eye": (45, 45), "left_eye": (55, 45)}), 1)
    0.0
    >>> round(face_yaw_deg({"right_ear": (40, 50), "left_ear": (60, 50), "nose_tip": (65, 52),
    ...                     "right_eye": (55, 45), "left_eye": (62, 45)}), 1)
    45.0
    """
    nose = np.asarray(keypoints["nose_tip"], dtype=np.float64)
    for a, b, depth in (("right_ear", "left_ear", NOSE_DEPTH_RATIO), ("right_eye", "left_eye", 0.6)):
        pa, pb = np.asarray(keypoints[a], dtype=np.float64), np.asarray(keypoints[b], dtype=np.float64)
        axis = pb - pa
        half = float(np.linalg.norm(axis)) / 2
        if half >= 1.0:
            offset = float((nose - (pa + pb) / 2) @ axis) / (2 * half)
            return math.degrees(math.atan2(offset / half, depth))
    return 0.0


class Models:
    """The mediapipe solutions this worker runs.

    By default every frame is a still image (frames may come from any camera). With
    `tracking`, frames are one camera's stream: pose and hands follow the previous
    frame's region and run their person/palm detectors only when they lose it.
    """

    def __init__(self, features: tuple[str, ...], face_model: str, max_hands: int, min_confidence: float, tracking: bool = False):
        import mediapipe as mp  # here, so the helpers above import without it

        self.version = mp.__version__
        solutions = mp.solutions
        self.pose = solutions.pose.Pose(static_image_mode=not tracking, model_complexity=1, min_detection_confidence=min_confidence) if "pose" in features else None
        self.faces = (
            solutions.face_detection.FaceDetection(model_selection=1 if face_model == "full" else 0, min_detection_confidence=min_confidence)
            if "faces" in features
            else None
        )
        self.hands = (
            solutions.hands.Hands(static_image_mode=not tracking, max_num_hands=max_hands, min_detection_confidence=min_confidence) if "hands" in features else None
        )

    def detect(self, image: np.ndarray) -> dict[str, Any]:
        h, w = image.shape[:2]
        out: dict[str, Any] = {"pose": None, "faces": [], "hands": []}
        if self.pose is not None:
            res = self.pose.process(image)
            if res.pose_landmarks:
                lms = res.pose_landmarks.landmark
                seen = [(lm.x * w, lm.y * h) for lm in lms if lm.visibility >= 0.5]
                out["pose"] = {
                    "bbox": _bbox(seen, w, h),
                    "landmarks": {k: [round(lms[i].x * w, 1), round(lms[i].y * h, 1), round(lms[i].visibility, 3)] for k, i in POSE_LANDMARKS.items()},
                }
        if self.faces is not None:
            res = self.faces.process(image)
            for det in res.detections or []:
                box = det.location_data.relative_bounding_box
                kps = {k: (p.x * w, p.y * h) for k, p in zip(FACE_KEYPOINTS, det.location_data.relative_keypoints, strict=False)}
                out["faces"].append({
                    "bbox": [round(box.xmin * w, 1), round(box.ymin * h, 1), round(box.width * w, 1), round(box.height * h, 1)],
                    "score": round(float(det.score[0]), 3),
                    "keypoints": {k: [round(x, 1), round(y, 1)] for k, (x, y) in kps.items()},
                    "yaw_deg": round(face_yaw_deg(kps), 1) if len(kps) == len(FACE_KEYPOINTS) else None,
                })
        if self.hands is not None:
            res = self.hands.process(image)
            for lms, handed in zip(res.multi_hand_landmarks or [], res.multi_handedness or [], strict=False):
                cls = handed.classification[0]
                out["hands"].append({
                    "bbox": _bbox([(lm.x * w, lm.y * h) for lm in lms.landmark], w, h),
                    "handedness": cls.label,
                    "score": round(float(cls.score), 3),
                })
        return out


def _bbox(points: list[tuple[float, float]], w: int, h: int) -> list[float] | None:
    if not points:
        return None
    xs = [min(max(x, 0.0), w - 1.0) for x, _ in points]
    ys = [min(max(y, 0.0), h - 1.0) for _, y in points]
    return [round(min(xs), 1), round(min(ys), 1), round(max(xs) - min(xs), 1), round(max(ys) - min(ys), 1)]


def serve(inp: BinaryIO, out: BinaryIO, models: Models) -> int:
    """Answer requests until the input ends (0) or becomes unreadable (2)."""
    while True:
        try:
            header, body = read_frame(inp)
        except EOFError:
            return 0
        except ProtocolError as e:
            write_frame(out, {"type": "fatal", "error": str(e)})
            return 2
        rid, op = header.get("id"), header.get("op")
        if op == "ping":
            write_frame(out, {"type": "pong", "id": rid})
            continue
        if op != "detect":
            write_frame(out, {"type": "error", "id": rid, "error": f"unknown op {op!r}; expected 'detect' or 'ping'"})
            continue
        try:
            image = image_from(header, body)
        except ValueError as e:
            write_frame(out, {"type": "error", "id": rid, "error": str(e)})
            continue
        t0 = time.perf_counter()
        result = models.detect(image)
        write_frame(out, {"type": "result", "id": rid, "ms": round((time.perf_counter() - t0) * 1000, 2), **result})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", default=",".join(FEATURES), help="comma-separated subset of pose,faces,hands")
    parser.add_argument("--face-model", choices=("short", "full"), default="full", help="short: within 2 m; full: within 5 m")
    parser.add_argument("--max-hands", type=int, default=2)
    parser.add_argument("--min-confidence", type=float, default=0.5)
    parser.add_argument("--tracking", action="store_true", help="frames are one camera's stream: follow people between frames")
    args = parser.parse_args(argv)
    features = tuple(f for f in args.features.split(",") if f)
    if not features or any(f not in FEATURES for f in features):
        parser.error(f"--features must name some of {FEATURES}, got {args.features!r}")
    # The protocol owns the real stdout; anything a library prints lands on stderr instead.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        models = Models(features, args.face_model, args.max_hands, args.min_confidence, args.tracking)
        models.detect(np.zeros((64, 64, 3), dtype=np.uint8))  # warm up: the first inference allocates
    except Exception as e:  # any load failure goes to the parent before exiting
        write_frame(out, {"type": "fatal", "error": f"loading mediapipe models failed: {type(e).__name__}: {e}"})
        return 3
    write_frame(out, {"type": "ready", "pid": os.getpid(), "mediapipe": models.version, "features": list(features)})
    return serve(sys.stdin.buffer, out, models)


if __name__ == "__main__":
    sys.exit(main())
