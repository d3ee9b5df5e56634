"""People, faces and hands, from mediapipe running in its own process and environment.

mediapipe needs numpy<2 and protobuf<5, the platform needs protobuf 6: `PeopleDetector`
starts `<python> -m robosoul_perception.people_worker` with the mediapipe environment's
interpreter (`.venv-perception`, made from requirements/perception.txt) and exchanges
length-prefixed JSON + raw RGB frames with it over its stdin and stdout
(`people_worker` documents the format). The detector

- waits for the worker's ready handshake (`start_timeout_s`), the models loaded;
- bounds every request by a deadline (`request_timeout_s`), and on a missed deadline
  kills the worker (its reply would arrive out of step) and raises DeadlineExceeded;
- when the worker dies, raises Unavailable for that request and starts a fresh worker
  on the next one, giving up after `max_failures` failures in a row;
- raises InvalidArgument for a bad image, FailedPrecondition when the environment is
  missing, Internal when the worker breaks the protocol.

    async with PeopleDetector(PeopleConfig(python=Path(".venv-perception/bin/python"))) as people:
        frame = await people.detect(rgb)          # rgb: uint8 H x W x 3
        for person in frame.people:
            print(person.bbox, person.facing_robot)

Pose covers one person per frame (mediapipe's pose solution); every further face found
becomes a person of its own, with no body landmarks.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from robosoul_core.camera import PinholeCamera
from robosoul_core.errors import DeadlineExceeded, FailedPrecondition, Internal, InvalidArgument, Unavailable
from robosoul_perception import people_worker as wire
from robosoul_perception.objects import check_rgb

log = logging.getLogger(__name__)

ENV_HINT = "create it with: python3.11 -m venv .venv-perception && .venv-perception/bin/pip install -r requirements/perception.txt"
# A face's surface is about this far in front of the head's centre.
HEAD_DEPTH_M = 0.08
Box = tuple[float, float, float, float]


def repo_worker_python() -> Path:
    """`.venv-perception/bin/python` at the root of the source tree this package runs from (development)."""
    return Path(__file__).resolve().parents[4] / ".venv-perception" / "bin" / "python"


@dataclass(frozen=True)
class PeopleConfig:
    # The interpreter of the mediapipe environment.
    python: Path
    features: tuple[str, ...] = wire.FEATURES
    # "full": faces within about 5 m (13 ms a 640x480 frame); "short": within 2 m (4 ms).
    face_model: str = "full"
    max_hands: int = 2
    min_confidence: float = 0.5
    # Frames are one camera's stream (one detector per camera): pose and hands follow
    # people between frames instead of detecting them afresh in every frame.
    tracking: bool = False
    start_timeout_s: float = 60.0
    request_timeout_s: float = 5.0
    # Give up (Unavailable on every call) after this many worker failures in a row.
    max_failures: int = 3
    # A face turned less than this from the camera counts as facing the robot.
    facing_max_yaw_deg: float = 30.0

    def __post_init__(self) -> None:
        if not self.features or any(f not in wire.FEATURES for f in self.features):
            raise InvalidArgument(f"PeopleConfig.features must be a non-empty subset of {wire.FEATURES}, got {self.features}")
        if self.face_model not in ("short", "full"):
            raise InvalidArgument(f"PeopleConfig.face_model must be 'short' or 'full', got {self.face_model!r}")
        if not 1 <= self.max_hands <= 8:
            raise InvalidArgument(f"PeopleConfig.max_hands must be in 1..8, got {self.max_hands}")
        if not 0 < self.min_confidence < 1:
            raise InvalidArgument(f"PeopleConfig.min_confidence must be in (0, 1), got {self.min_confidence}")
        for key in ("start_timeout_s", "request_timeout_s"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value > 0):
                raise InvalidArgument(f"PeopleConfig.{key} must be a finite number > 0, got {value}")
        if self.max_failures < 1:
            raise InvalidArgument(f"PeopleConfig.max_failures must be >= 1, got {self.max_failures}")
        if not 0 < self.facing_max_yaw_deg <= 90:
            raise InvalidArgument(f"PeopleConfig.facing_max_yaw_deg must be in (0, 90], got {self.facing_max_yaw_deg}")

    def command(self) -> list[str]:
        return [
            str(self.python), "-m", "robosoul_perception.people_worker", "--features", ",".join(self.features),
            "--face-model", self.face_model, "--max-hands", str(self.max_hands), "--min-confidence", str(self.min_confidence),
            *(["--tracking"] if self.tracking else []),
        ]


@dataclass(frozen=True)
class Face:
    bbox: Box  # (x, y, width, height) in pixels
    score: float
    # right_eye, left_eye, nose_tip, mouth_center, right_ear, left_ear (the person's right) -> (x, y)
    keypoints: dict[str, tuple[float, float]]
    # 0 facing the camera, + nose towards the image's right; None if keypoints were missing.
    yaw_deg: float | None
    facing_robot: bool

    @property
    def center(self) -> tuple[float, float]:
        x, y, w, h = self.bbox
        return x + w / 2, y + h / 2


@dataclass(frozen=True)
class Hand:
    bbox: Box
    # "Left" or "Right" as mediapipe reports it (it assumes a mirrored, selfie-style image).
    handedness: str
    score: float


@dataclass(frozen=True)
class Person:
    bbox: Box
    # Body landmarks by name -> (x, y, visibility 0..1); empty for a person seen only by the face.
    landmarks: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    face: Face | None = None
    facing_robot: bool = False

    @property
    def head_px(self) -> tuple[float, float]:
        """Where the head is in the image: the face's centre, else the nose, else the box's top middle."""
        if self.face is not None:
            return self.face.center
        nose = self.landmarks.get("nose")
        if nose is not None and nose[2] >= 0.5:
            return nose[0], nose[1]
        x, y, w, h = self.bbox
        return x + w / 2, y + min(w, h) / 4


@dataclass(frozen=True)
class PeopleFrame:
    people: list[Person]
    faces: list[Face]
    hands: list[Hand]
    # Time the worker spent on the models (the rest of a call is transfer and scheduling).
    worker_ms: float


class PeopleDetector:
    """Client of one people worker process; one request at a time (calls queue up)."""

    def __init__(self, config: PeopleConfig):
        self.config = config
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        self._stderr_task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._next_id = 0
        self._failures = 0
        self._last_error = ""
        # A request was cancelled mid-way: the worker's next reply would be out of step.
        self._abandoned = False
        self.ready: dict[str, Any] = {}

    @property
    def pid(self) -> int | None:
        """The running worker's process id (None before start and after a failure)."""
        return self._proc.pid if self._proc is not None and self._proc.returncode is None else None

    async def __aenter__(self) -> PeopleDetector:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start the worker and wait for its models (no-op while one runs)."""
        async with self._lock:
            await self._ensure_running()

    async def stop(self) -> None:
        """Close the worker's input, let it exit, and kill it if it does not."""
        async with self._lock:
            await self._shutdown(grace_s=3.0)

    async def detect(self, rgb: np.ndarray, *, timeout_s: float | None = None) -> PeopleFrame:
        """People, faces and hands in an RGB image (uint8, H x W x 3, at most 4096 a side)."""
        rgb = check_rgb(rgb)
        h, w = rgb.shape[:2]
        if max(h, w) > wire.MAX_SIDE:
            raise InvalidArgument(f"rgb is {w}x{h}; the people detector takes at most {wire.MAX_SIDE} pixels a side")
        timeout = self.config.request_timeout_s if timeout_s is None else timeout_s
        if not (math.isfinite(timeout) and timeout > 0):
            raise InvalidArgument(f"timeout_s must be a finite number > 0, got {timeout_s}")
        async with self._lock:
            await self._ensure_running()
            self._next_id += 1
            rid = self._next_id
            reply = await self._request({"op": "detect", "id": rid, "width": w, "height": h}, rgb.tobytes(), rid, timeout)
        return self._frame(reply)

    async def ping(self, *, timeout_s: float = 2.0) -> float:
        """Round trip to the worker in milliseconds (a health check)."""
        loop = asyncio.get_running_loop()
        async with self._lock:
            await self._ensure_running()
            self._next_id += 1
            t0 = loop.time()
            await self._request({"op": "ping", "id": self._next_id}, b"", self._next_id, timeout_s)
            return (loop.time() - t0) * 1000

    # ---------------------------------------------------------------- process

    async def _ensure_running(self) -> None:
        if self._proc is not None and self._proc.returncode is None and not self._abandoned:
            return
        if self._proc is not None:
            await self._shutdown(grace_s=0.0)
        if self._failures >= self.config.max_failures:
            raise Unavailable(f"people worker failed {self._failures} times in a row; last: {self._last_error}")
        try:
            await self._spawn()
        except FailedPrecondition:
            raise
        except (Unavailable, DeadlineExceeded, Internal) as e:
            self._failed(str(e))
            await self._shutdown(grace_s=0.0)
            raise

    def _worker_env(self) -> dict[str, str]:
        python = Path(self.config.python)
        if not (python.is_file() and os.access(python, os.X_OK)):
            raise FailedPrecondition(f"the mediapipe environment's interpreter {python} does not exist; {ENV_HINT}")
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        # From a source tree, the worker finds this package through its src directory alone: it must
        # not see the platform's site-packages (protobuf 6). Installed, the environment must hold it.
        src = Path(wire.__file__).resolve().parents[1]
        if src.name != "site-packages":
            env["PYTHONPATH"] = str(src)
        env.setdefault("GLOG_minloglevel", "2")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        return env

    async def _spawn(self) -> None:
        env = self._worker_env()
        self._stderr.clear()
        self._abandoned = False
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self.config.command(),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
            )
        except OSError as e:
            raise FailedPrecondition(f"cannot run {self.config.python}: {e}; {ENV_HINT}") from None
        self._stderr_task = asyncio.create_task(self._drain_stderr(self._proc))
        try:
            header, _ = await asyncio.wait_for(self._read(), self.config.start_timeout_s)
        except TimeoutError:
            raise DeadlineExceeded(f"people worker was not ready within {self.config.start_timeout_s} s{self._stderr_tail()}") from None
        if header.get("type") != "ready":
            raise Unavailable(f"people worker failed to start: {header.get('error', header)}{self._stderr_tail()}")
        self.ready = header
        log.info("people worker %d ready: mediapipe %s, %s", self._proc.pid, header.get("mediapipe"), header.get("features"))

    async def _shutdown(self, grace_s: float) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.returncode is None:
                if grace_s > 0 and proc.stdin is not None and not proc.stdin.is_closing():
                    proc.stdin.close()
                    try:
                        await asyncio.wait_for(proc.wait(), grace_s)
                    except TimeoutError:
                        pass
                if proc.returncode is None:
                    proc.kill()
            await proc.wait()
            if proc.stdin is not None:
                # Collects the broken-pipe error a write to a dead worker leaves behind.
                proc.stdin.close()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    await proc.stdin.wait_closed()
        if self._stderr_task is not None:
            try:
                await asyncio.wait_for(self._stderr_task, 1.0)
            except TimeoutError:
                self._stderr_task.cancel()
            self._stderr_task = None

    async def _drain_stderr(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        while line := await proc.stderr.readline():
            text = line.decode(errors="replace").rstrip()
            self._stderr.append(text)
            log.debug("people worker %d: %s", proc.pid, text)

    def _stderr_tail(self, lines: int = 5) -> str:
        tail = [s for s in self._stderr if s][-lines:]
        return ("; worker stderr: " + " | ".join(tail)) if tail else ""

    def _failed(self, why: str) -> None:
        self._failures += 1
        self._last_error = why
        log.warning("people worker failure %d/%d: %s", self._failures, self.config.max_failures, why)

    # ---------------------------------------------------------------- protocol

    async def _read(self) -> tuple[dict[str, Any], bytes]:
        assert self._proc is not None and self._proc.stdout is not None
        out = self._proc.stdout
        try:
            head = await out.readexactly(8)
            header_len, body_len = int.from_bytes(head[:4], "big"), int.from_bytes(head[4:], "big")
            wire.check_lengths(header_len, body_len)
            raw = await out.readexactly(header_len)
            body = await out.readexactly(body_len)
        except asyncio.IncompleteReadError:
            code = await self._exit_code()
            raise Unavailable(f"people worker exited (code {code}){self._stderr_tail()}") from None
        except wire.ProtocolError as e:
            raise Internal(f"people worker broke the protocol: {e}") from None
        try:
            header = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise Internal(f"people worker sent a header that is not JSON: {e}") from None
        if not isinstance(header, dict):
            raise Internal("people worker sent a header that is not a JSON object")
        return header, body

    async def _exit_code(self) -> int | None:
        assert self._proc is not None
        try:
            return await asyncio.wait_for(self._proc.wait(), 1.0)
        except TimeoutError:
            return None

    async def _request(self, header: dict[str, Any], body: bytes, rid: int, timeout: float) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdin is not None
        data = json.dumps(header, separators=(",", ":")).encode()
        try:
            async with asyncio.timeout(timeout):
                self._proc.stdin.write(len(data).to_bytes(4, "big") + len(body).to_bytes(4, "big") + data + body)
                await self._proc.stdin.drain()
                reply, _ = await self._read()
        except asyncio.CancelledError:
            self._abandoned = True
            self._proc.kill()
            raise
        except TimeoutError:
            why = f"people worker did not answer request {rid} within {timeout} s; restarting it"
            self._failed(why)
            await self._shutdown(grace_s=0.0)
            raise DeadlineExceeded(why) from None
        except (BrokenPipeError, ConnectionResetError):
            code = await self._exit_code()
            why = f"people worker exited (code {code}){self._stderr_tail()}"
            self._failed(why)
            await self._shutdown(grace_s=0.0)
            raise Unavailable(why) from None
        except (Unavailable, Internal) as e:
            self._failed(str(e))
            await self._shutdown(grace_s=0.0)
            raise
        if reply.get("id") != rid:
            why = f"people worker answered request {reply.get('id')!r} while {rid} was pending"
            self._failed(why)
            await self._shutdown(grace_s=0.0)
            raise Internal(why)
        kind = reply.get("type")
        if kind == "error":
            self._failures = 0
            raise InvalidArgument(f"people worker refused the frame: {reply.get('error')}")
        if kind not in ("result", "pong"):
            why = f"people worker sent {kind!r}: {reply.get('error', '')}"
            self._failed(why)
            await self._shutdown(grace_s=0.0)
            raise Internal(why)
        self._failures = 0
        return reply

    # ---------------------------------------------------------------- results

    def _frame(self, reply: dict[str, Any]) -> PeopleFrame:
        try:
            faces = [self._face(f) for f in reply.get("faces") or []]
            hands = [Hand(bbox=_box(h["bbox"]), handedness=str(h["handedness"]), score=float(h["score"])) for h in reply.get("hands") or []]
            pose = reply.get("pose")
            people = []
            if pose is not None and pose.get("bbox") is not None:
                landmarks = {str(k): (float(v[0]), float(v[1]), float(v[2])) for k, v in pose["landmarks"].items()}
                face = _face_of(landmarks, faces)
                people.append(Person(bbox=_box(pose["bbox"]), landmarks=landmarks, face=face, facing_robot=bool(face and face.facing_robot)))
            taken = {id(p.face) for p in people if p.face is not None}
            people += [Person(bbox=f.bbox, face=f, facing_robot=f.facing_robot) for f in faces if id(f) not in taken]
            return PeopleFrame(people=people, faces=faces, hands=hands, worker_ms=float(reply.get("ms", 0.0)))
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
            raise Internal(f"people worker sent a malformed result: {type(e).__name__}: {e}") from None

    def _face(self, f: dict[str, Any]) -> Face:
        yaw = f.get("yaw_deg")
        yaw = None if yaw is None else float(yaw)
        return Face(
            bbox=_box(f["bbox"]),
            score=float(f["score"]),
            keypoints={str(k): (float(v[0]), float(v[1])) for k, v in f["keypoints"].items()},
            yaw_deg=yaw,
            facing_robot=yaw is not None and abs(yaw) <= self.config.facing_max_yaw_deg,
        )


def _box(values: Any) -> Box:
    x, y, w, h = (float(v) for v in values)
    return x, y, w, h


def _face_of(landmarks: dict[str, tuple[float, float, float]], faces: list[Face]) -> Face | None:
    """The face whose box holds the body's nose (the nearest such face)."""
    nose = landmarks.get("nose")
    if nose is None:
        return None
    inside = [f for f in faces if f.bbox[0] <= nose[0] <= f.bbox[0] + f.bbox[2] and f.bbox[1] <= nose[1] <= f.bbox[1] + f.bbox[3]]
    return min(inside, key=lambda f: math.dist(f.center, nose[:2]), default=None)


def head_position(person: Person, depth: np.ndarray, camera: PinholeCamera, *, window_px: int = 7) -> np.ndarray | None:
    """The head's centre in the base frame from depth (metres, H x W) around `person.head_px`, or None without a reading."""
    if depth.shape != (camera.height, camera.width):
        raise InvalidArgument(f"depth has shape {depth.shape}; camera {camera.name!r} is {camera.width}x{camera.height}")
    u, v = (int(round(c)) for c in person.head_px)
    r = window_px // 2
    patch = np.asarray(depth[max(v - r, 0) : v + r + 1, max(u - r, 0) : u + r + 1], dtype=np.float64)
    good = patch[np.isfinite(patch) & (patch > 0)]
    if not (0 <= u < camera.width and 0 <= v < camera.height) or good.size == 0:
        return None
    surface = camera.deproject(np.array([u]), np.array([v]), np.array([np.median(good)]))[0]
    return surface + camera.rays(np.array([u]), np.array([v]))[0] * HEAD_DEPTH_M

