"""The perception service: robots' cameras in; what they see, as a `Scene`, out.

Colour and depth frames arrive on ``rs.<tenant>.<robot>.obs.camera_frame`` and
``.obs.depth_frame`` (the gateway forwards what the SDK sends; a frame too large for one
NATS message comes as a reference into the JetStream object store, fetched here with
`robosoul_core.frames.FrameStore`). Each robot session
gets a `Viewer`: a short queue of colour frames (the oldest is dropped when it falls
behind), the latest depth frames per camera, and a tracker per camera. For every colour
frame the service

1. pairs it with the depth frame of the same camera nearest in capture time (within
   `depth_tolerance_ms`, waiting that long at most for it to arrive), or uses the colour
   alone when the camera has no depth;
2. finds coloured objects (`objects.ObjectDetector`) and keeps their ids (`tracking`);
3. looks for people every `people_interval_ms`, in the background (a mediapipe worker
   process; scenes never wait for it, and without its environment scenes have no people);
4. publishes a `robosoul.v1.Scene` stamped with the frame's capture time on
   ``rs.<tenant>.<robot>.scene``, where the language service grounds "the red cube".

Decoding and detection run in a thread pool, never on the event loop. Bad input is
refused with an InvalidArgument naming the field; it never stops the service. Metrics:
frame-to-scene latency (arrival to publication) is `robosoul_request_seconds{method="scene"}`,
dropped frames count as `robosoul_requests_total{method="camera_frame", code="RESOURCE_EXHAUSTED"}`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import cv2
import numpy as np
from google.protobuf.timestamp_pb2 import Timestamp
from opentelemetry import trace

from robosoul.bus.v1 import control_pb2
from robosoul.v1 import dialogue_pb2, robot_pb2, session_pb2, tensor_pb2
from robosoul_core.camera import PinholeCamera
from robosoul_core.errors import FailedPrecondition, Internal, InvalidArgument, RoboSoulError
from robosoul_core.frames import FrameStore
from robosoul_core.subjects import check_id, check_tenant
from robosoul_core.telemetry import ServiceMetrics, extract
from robosoul_core.tensors import to_numpy
from robosoul_core.validation import Limits, validate_scene
from robosoul_perception.config import PerceptionConfig
from robosoul_perception.objects import ObjectDetector, depth_in_metres
from robosoul_perception.people import PeopleDetector, Person, head_position
from robosoul_perception.scene import build_scene
from robosoul_perception.tracking import Tracker, TrackerConfig

log = logging.getLogger(__name__)
tracer = trace.get_tracer("robosoul.perception")

Publish = Callable[[str, str, dialogue_pb2.Scene], Awaitable[None]]
GetRobot = Callable[[str, str], Awaitable[robot_pb2.Robot]]
# A re-registered camera (new pose, new intrinsics) is noticed within this long.
# Idle robots are looked for at most this often (on incoming frames).
SWEEP_S = 10.0
ROBOT_CACHE_S = 5.0
# Depth frames kept per camera to pair colour frames with.
DEPTH_FRAMES_KEPT = 4
# The people worker failing this many times in a row turns people detection off.
PEOPLE_MAX_FAILURES = 3
_ENCODINGS = {session_pb2.IMAGE_ENCODING_JPEG: "JPEG", session_pb2.IMAGE_ENCODING_PNG: "PNG"}


@dataclass(frozen=True)
class CameraView:
    spec: robot_pb2.CameraSpec
    # None when the registered intrinsics or pose are unusable: objects then have no position.
    camera: PinholeCamera | None


@dataclass
class Frame:
    camera: CameraView
    rgb: np.ndarray
    timestamp: Timestamp
    received: float
    trace_context: dict[str, str]


@dataclass
class Viewer:
    tenant: str
    robot_id: str
    session_id: str
    queue: asyncio.Queue
    depth: dict[str, deque] = field(default_factory=dict)  # camera -> (timestamp ns, depth array)
    depth_arrived: asyncio.Event = field(default_factory=asyncio.Event)
    trackers: dict[str, Tracker] = field(default_factory=dict)
    people: dict[str, tuple[float, list]] = field(default_factory=dict)  # camera -> (when, [(id, Person, head)])
    people_at: dict[str, float] = field(default_factory=dict)
    people_task: asyncio.Task | None = None
    last_frame: float = 0.0
    dropped: int = 0
    last_drop_log: float = float("-inf")
    task: asyncio.Task | None = None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG or JPEG header, without decoding; None if the header is not readable."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24 and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if not data.startswith(b"\xff\xd8"):
        return None
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # no payload
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            if i + 9 > len(data):
                return None
            return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(data[i + 5 : i + 7], "big")
        if marker == 0xDA or length < 2:  # scan data before any frame header
            return None
        i += 2 + length
    return None


def decode_image(frame: session_pb2.CameraFrame, spec: robot_pb2.CameraSpec, limits: Limits | None = None) -> np.ndarray:
    """The frame as uint8 RGB (height, width, 3) of the registered size, or InvalidArgument naming the field."""
    limits = limits or Limits()
    want = f"camera {spec.name!r} is registered as {spec.width}x{spec.height}"
    enc = frame.encoding
    if enc in _ENCODINGS:
        name, data = _ENCODINGS[enc], frame.encoded
        if not 0 < len(data) <= limits.max_frame_bytes:
            raise InvalidArgument(f"camera_frame.encoded is {len(data)} bytes; must be 1..{limits.max_frame_bytes}")
        # Sizes come from the header first: a small file must not make us allocate a huge image.
        size = image_size(data)
        if size is None:
            raise InvalidArgument(f"camera_frame.encoded is not a readable {name} image (its header is missing or broken)")
        if size != (spec.width, spec.height):
            raise InvalidArgument(f"camera_frame.encoded is a {size[0]}x{size[1]} {name} image; {want}")
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            raise InvalidArgument(f"camera_frame.encoded could not be decoded as a {name} image")
        if bgr.shape[:2] != (spec.height, spec.width):
            raise InvalidArgument(f"camera_frame.encoded decodes to {bgr.shape[1]}x{bgr.shape[0]}; {want}")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    if enc == session_pb2.IMAGE_ENCODING_RGB8:
        rgb = to_numpy(frame.raw, field="camera_frame.raw", dtypes=(tensor_pb2.DTYPE_UINT8,), max_elements=limits.max_frame_bytes)
        if rgb.shape != (spec.height, spec.width, 3):
            raise InvalidArgument(f"camera_frame.raw has shape {list(rgb.shape)}; expected [{spec.height}, {spec.width}, 3] ({want})")
        return np.ascontiguousarray(rgb)
    raise InvalidArgument("camera_frame.encoding is unspecified: JPEG, PNG or RGB8")


def _nanos(ts: Timestamp) -> int:
    return ts.seconds * 1_000_000_000 + ts.nanos


class PerceptionService:
    def __init__(
        self,
        *,
        get_robot: GetRobot,
        publish: Publish,
        people: PeopleDetector | None = None,
        config: PerceptionConfig | None = None,
        detector: ObjectDetector | None = None,
        metrics: ServiceMetrics | None = None,
        frames: FrameStore | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._get_robot = get_robot
        self._frames = frames
        self._publish = publish
        self._people = people
        self._config = config or PerceptionConfig()
        self._detector = detector or ObjectDetector()
        self._tracker_config = TrackerConfig(confirm_hits=self._config.confirm_hits)
        self._metrics = metrics
        self._clock = clock
        self._limits = Limits()
        self._viewers: dict[tuple[str, str], Viewer] = {}
        self._robots: dict[tuple[str, str], tuple[float, dict[str, CameraView]]] = {}
        self._pool = concurrent.futures.ThreadPoolExecutor(self._config.workers, thread_name_prefix="perception")
        self._people_failures = 0
        self._warned: set[tuple[str, str, str]] = set()
        self._tasks: set[asyncio.Task] = set()
        self._last_sweep = self._clock()
        self._retired: list[PeopleDetector] = []  # detectors turned off after failures (stopped at close)

    @property
    def viewers(self) -> int:
        """Robot sessions with live perception state."""
        return len(self._viewers)

    async def start(self) -> None:
        """Start the people worker in the background (its models take a few seconds)."""
        if self._people is not None and self._config.people_interval_ms > 0:
            self._spawn(self._start_people())

    async def _start_people(self) -> None:
        try:
            await self._people.start()
        except RoboSoulError as err:
            self._people_failed(err)

    # ------------------------------------------------------------------ frames in

    async def on_camera_frame(self, envelope: control_pb2.ObservationEnvelope, trace_context: Mapping[str, str] | None = None) -> None:
        """One colour frame a robot sent: decoded and queued for its scene (raises InvalidArgument for a bad one)."""
        received = self._clock()
        envelope, tenant, robot_id = await self._open(envelope, "camera_frame")
        frame = envelope.observation.camera_frame
        view = await self._camera(tenant, robot_id, frame.camera, "camera_frame.camera")
        if not frame.HasField("timestamp"):
            raise InvalidArgument("camera_frame.timestamp is missing: send the capture time")
        loop = asyncio.get_running_loop()
        rgb = await loop.run_in_executor(self._pool, decode_image, frame, view.spec, self._limits)
        viewer = self._viewer(tenant, robot_id, envelope.session_id)
        viewer.last_frame = received
        if received - self._last_sweep >= SWEEP_S:  # robots that went quiet give their state back
            self._last_sweep = received
            self._evict_idle()
        item = Frame(view, rgb, frame.timestamp, received, dict(trace_context or {}))
        try:
            viewer.queue.put_nowait(item)
        except asyncio.QueueFull:
            viewer.queue.get_nowait()
            viewer.queue.put_nowait(item)
            viewer.dropped += 1
            if self._metrics is not None:
                self._metrics.observe("camera_frame", "RESOURCE_EXHAUSTED", 0.0)
            if received - viewer.last_drop_log >= 1.0:
                log.warning("perception for %s/%s is behind; dropped %d oldest frame(s) so far", tenant, robot_id, viewer.dropped)
                viewer.last_drop_log = received

    async def on_depth_frame(self, envelope: control_pb2.ObservationEnvelope, trace_context: Mapping[str, str] | None = None) -> None:
        """One depth frame (float32 metres or uint16 millimetres): kept to pair colour frames with."""
        envelope, tenant, robot_id = await self._open(envelope, "depth_frame")
        frame = envelope.observation.depth_frame
        view = await self._camera(tenant, robot_id, frame.camera, "depth_frame.camera")
        spec = view.spec
        if not spec.has_depth:
            raise InvalidArgument(f"depth_frame.camera {spec.name!r} is registered without depth")
        if not frame.HasField("timestamp"):
            raise InvalidArgument("depth_frame.timestamp is missing: send the capture time")
        if len(frame.depth.data) > self._limits.max_frame_bytes:
            raise InvalidArgument(f"depth_frame.depth is {len(frame.depth.data)} bytes; at most {self._limits.max_frame_bytes}")
        depth = to_numpy(frame.depth, field="depth_frame.depth", dtypes=(tensor_pb2.DTYPE_FLOAT32, tensor_pb2.DTYPE_UINT16), require_finite=False)
        if depth.shape != (spec.height, spec.width):
            raise InvalidArgument(f"depth_frame.depth has shape {list(depth.shape)}; expected [{spec.height}, {spec.width}] (camera {spec.name!r})")
        viewer = self._viewer(tenant, robot_id, envelope.session_id)
        viewer.last_frame = self._clock()
        viewer.depth.setdefault(spec.name, deque(maxlen=DEPTH_FRAMES_KEPT)).append((_nanos(frame.timestamp), depth))
        arrived, viewer.depth_arrived = viewer.depth_arrived, asyncio.Event()
        arrived.set()

    async def _open(self, envelope: control_pb2.ObservationEnvelope, kind: str) -> tuple[control_pb2.ObservationEnvelope, str, str]:
        """The envelope (a frame the gateway put in the object store fetched: one too large for a
        NATS message), its tenant and robot, once they and the payload's kind are checked."""
        check_tenant(envelope.tenant)
        check_id(envelope.robot_id, "robot_id")
        if envelope.HasField("stored_observation"):
            if self._frames is None:
                raise FailedPrecondition("a stored frame arrived, but this perception service has no frame store")
            envelope = await self._frames.resolve(envelope)
        got = envelope.observation.WhichOneof("payload")
        if got != kind:
            raise InvalidArgument(f"observation carries {got or 'nothing'}, not {kind}")
        return envelope, envelope.tenant, envelope.robot_id

    async def _camera(self, tenant: str, robot_id: str, name: str, where: str) -> CameraView:
        cached = self._robots.get((tenant, robot_id))
        if cached is None or self._clock() - cached[0] >= ROBOT_CACHE_S:
            robot = await self._get_robot(tenant, robot_id)
            cached = (self._clock(), {spec.name: self._view(tenant, robot_id, spec) for spec in robot.embodiment.cameras})
            self._robots[(tenant, robot_id)] = cached
        view = cached[1].get(name)
        if view is None:
            names = ", ".join(repr(n) for n in cached[1]) or "none registered"
            raise InvalidArgument(f"{where} {name!r} is not a camera of robot {robot_id!r} (its cameras: {names})")
        return view

    def _view(self, tenant: str, robot_id: str, spec: robot_pb2.CameraSpec) -> CameraView:
        try:
            return CameraView(spec, PinholeCamera.from_spec(spec))
        except InvalidArgument as err:
            self._warn_once((tenant, robot_id, spec.name), "robot %s/%s: %s; its objects will have no positions", tenant, robot_id, err.message)
            return CameraView(spec, None)

    def _warn_once(self, key: tuple[str, str, str], message: str, *args) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message, *args)

    # ------------------------------------------------------------------ per robot

    def _viewer(self, tenant: str, robot_id: str, session_id: str) -> Viewer:
        key = (tenant, robot_id)
        viewer = self._viewers.get(key)
        if viewer is not None and viewer.session_id == session_id:
            return viewer
        if viewer is not None:  # a new session: new tracks, no old depth
            self._drop(key)
        self._evict_idle()
        viewer = Viewer(tenant, robot_id, session_id, asyncio.Queue(maxsize=self._config.queue_size), last_frame=self._clock())
        viewer.task = asyncio.create_task(self._see(viewer))
        self._viewers[key] = viewer
        self._gauge()
        return viewer

    def _evict_idle(self) -> None:
        now = self._clock()
        self._robots = {k: v for k, v in self._robots.items() if now - v[0] < ROBOT_CACHE_S}
        for key, viewer in list(self._viewers.items()):
            if now - viewer.last_frame > self._config.idle_s:
                self._drop(key)

    def _drop(self, key: tuple[str, str]) -> None:
        # A people request in flight is left to finish: cancelling it would kill the shared worker.
        viewer = self._viewers.pop(key, None)
        if viewer is not None and viewer.task is not None:
            viewer.task.cancel()
        self._gauge()

    def _gauge(self) -> None:
        if self._metrics is not None:
            self._metrics.sessions.set(len(self._viewers))

    async def _see(self, viewer: Viewer) -> None:
        while True:
            frame = await viewer.queue.get()
            code = "OK"
            try:
                await self._scene_for(viewer, frame)
            except RoboSoulError as err:
                code = err.grpc_code.name
                log.warning("no scene from a frame of %s/%s: %s", viewer.tenant, viewer.robot_id, err.message)
            except Exception:  # noqa: BLE001 - one bad frame must not blind the robot
                code = "INTERNAL"
                log.exception("perception failed on a frame of %s/%s", viewer.tenant, viewer.robot_id)
            if self._metrics is not None:
                self._metrics.observe("scene", code, self._clock() - frame.received)

    async def _scene_for(self, viewer: Viewer, frame: Frame) -> None:
        loop = asyncio.get_running_loop()
        view = frame.camera
        depth = await self._depth_for(viewer, frame) if view.spec.has_depth and view.camera is not None else None
        with tracer.start_as_current_span("perception.scene", context=extract(frame.trace_context)) as span:
            span.set_attribute("robosoul.robot_id", viewer.robot_id)
            span.set_attribute("robosoul.camera", view.spec.name)
            span.set_attribute("robosoul.depth", depth is not None)
            self._maybe_look_for_people(viewer, frame, depth)
            tracker = viewer.trackers.setdefault(view.spec.name, Tracker(self._tracker_config))
            people = self._recent_people(viewer, view.spec.name)
            scene = await loop.run_in_executor(self._pool, self._detect, tracker, frame, depth, people)
            span.set_attribute("robosoul.objects", len(scene.objects))
            await self._publish(viewer.tenant, viewer.robot_id, scene)

    def _detect(self, tracker: Tracker, frame: Frame, depth: np.ndarray | None, people: list) -> dialogue_pb2.Scene:
        """In the pool: objects, their tracks, and the scene (stamped with the frame's capture time)."""
        detections = self._detector.detect(frame.rgb, depth, frame.camera.camera)
        tracks = tracker.update(detections)
        scene = build_scene(frame.camera.spec.name, 0.0, tracks, people)
        scene.timestamp.CopyFrom(frame.timestamp)
        try:
            validate_scene(scene)
        except InvalidArgument as err:
            raise Internal(f"perception built an invalid scene: {err.message}") from None
        return scene

    async def _depth_for(self, viewer: Viewer, frame: Frame) -> np.ndarray | None:
        """The depth frame nearest the colour frame's capture time within the tolerance, waiting for it a little."""
        tolerance_s = self._config.depth_tolerance_ms / 1000
        target, name = _nanos(frame.timestamp), frame.camera.spec.name
        while True:
            arrived = viewer.depth_arrived
            frames = viewer.depth.get(name, ())
            near = min(frames, key=lambda f: abs(f[0] - target), default=None)
            if near is not None and abs(near[0] - target) <= tolerance_s * 1e9:
                return near[1]
            remaining = frame.received + tolerance_s - self._clock()
            if remaining <= 0:
                self._warn_once((viewer.tenant, viewer.robot_id, f"{name}/depth"),
                                "robot %s/%s camera %r: a colour frame had no depth within %.0f ms; using colour alone (said once)",
                                viewer.tenant, viewer.robot_id, name, self._config.depth_tolerance_ms)
                return None
            try:
                await asyncio.wait_for(arrived.wait(), remaining)
            except TimeoutError:
                pass

    # ------------------------------------------------------------------ people

    def _maybe_look_for_people(self, viewer: Viewer, frame: Frame, depth: np.ndarray | None) -> None:
        interval = self._config.people_interval_ms / 1000
        if self._people is None or interval <= 0:
            return
        if viewer.people_task is not None and not viewer.people_task.done():
            return
        name = frame.camera.spec.name
        if self._clock() - viewer.people_at.get(name, float("-inf")) < interval:
            return
        viewer.people_at[name] = self._clock()
        viewer.people_task = self._spawn(self._look_for_people(viewer, frame, depth))

    async def _look_for_people(self, viewer: Viewer, frame: Frame, depth: np.ndarray | None) -> None:
        people = self._people
        if people is None:
            return
        try:
            found = await people.detect(frame.rgb, timeout_s=self._config.people_timeout_s)
        except InvalidArgument as err:
            log.warning("people detection refused a frame of %s/%s: %s", viewer.tenant, viewer.robot_id, err.message)
            return
        except RoboSoulError as err:
            self._people_failed(err)
            return
        self._people_failures = 0
        camera = frame.camera.camera
        metres = depth_in_metres(depth) if depth is not None and camera is not None else None
        placed: list[tuple[str, Person, np.ndarray | None]] = []
        for i, person in enumerate(found.people):
            head = head_position(person, metres, camera) if metres is not None else None
            placed.append((f"person-{i + 1}", person, head))
        viewer.people[frame.camera.spec.name] = (self._clock(), placed)

    def _recent_people(self, viewer: Viewer, camera: str) -> list:
        seen = viewer.people.get(camera)
        if seen is None or self._clock() - seen[0] > self._config.people_max_age_s:
            return []
        return seen[1]

    def _people_failed(self, err: RoboSoulError) -> None:
        """A missing environment turns people detection off at once; a flaky worker after a few failures in a row."""
        self._people_failures += 1
        if self._people is None:
            return
        if isinstance(err, FailedPrecondition) or self._people_failures >= PEOPLE_MAX_FAILURES:
            log.error("people detection is off (scenes will have no people): %s", err.message)
            self._retired.append(self._people)  # stopped by close() whatever happens to this task
            people, self._people = self._people, None
            self._spawn(people.stop())
        else:
            log.warning("people detection failed (%d in a row): %s", self._people_failures, err.message)

    # ------------------------------------------------------------------ lifecycle

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        tasks = [v.task for v in self._viewers.values() if v.task is not None] + list(self._tasks)
        for key in list(self._viewers):
            self._drop(key)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for people in [self._people, *self._retired]:
            if people is not None:
                await people.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)
