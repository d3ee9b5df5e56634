"""A robot's control session: the connection, the control loop and the watchdog.

One `Session` runs two tasks: the connection (Connect stream, reconnecting with
backoff) and the control loop (read joints -> command -> maybe ask for a new
chunk, at the robot's control rate). The control loop never waits for the
brain's answer (it only hands the request to the stream, which can stall under
gRPC flow control): if actions stop coming, the executor's watchdog makes the
robot hold.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import grpc
import numpy as np
from google.protobuf.timestamp_pb2 import Timestamp
from opentelemetry import context as otel_context
from opentelemetry import trace

from robosoul.v1 import dialogue_pb2, robot_pb2, session_pb2, tensor_pb2
from robosoul_core.camera import depth_to_millimetres
from robosoul_core.clock import now_timestamp
from robosoul_core.errors import DeadlineExceeded, FailedPrecondition, Internal, InvalidArgument, RoboSoulError, Unavailable
from robosoul_core.telemetry import extract, inject
from robosoul_core.tensors import from_numpy, to_numpy
from robosoul_core.validation import JPEG_MAGIC, PNG_MAGIC, Limits, joint_limits
from robosoul_sdk.driver import JointReading, RobotDriver
from robosoul_sdk.errors import from_grpc, from_grpc_int
from robosoul_sdk.executor import ChunkExecutor

if TYPE_CHECKING:
    from robosoul_sdk.client import RoboSoulClient

log = logging.getLogger("robosoul_sdk")
tracer = trace.get_tracer("robosoul.sdk")

SDK_VERSION = "0.1.0"


def reach(x: float, y: float, z: float, goal_id: str = "") -> session_pb2.Goal:
    """Goal: bring the end effector to (x, y, z) metres in the robot's base frame.

        await session.set_goal(reach(0.30, 0.05, 0.25))
    """
    return session_pb2.Goal(goal_id=goal_id, skill=session_pb2.SKILL_REACH, position={"x": x, "y": y, "z": z})


def hold(goal_id: str = "") -> session_pb2.Goal:
    """Goal: stay where you are."""
    return session_pb2.Goal(goal_id=goal_id, skill=session_pb2.SKILL_HOLD)


@dataclass(frozen=True)
class SessionConfig:
    """How the SDK runs your robot. The defaults suit a 50 Hz arm.

    control_rate_hz: 0 means the rate the robot was registered with.
    watchdog_s: hold if no fresh chunk arrived for this long.
    blend_s: how long a new chunk takes to take over from the current one.
    replan_after_steps: ask for the next chunk once this many steps of the current one have passed.
    request_timeout_s: a chunk request unanswered this long is given up (and retried).
    latency_compensation: send where the commands will be when the next chunk
        arrives (one round trip ahead, as measured), so it joins the motion smoothly.
    """

    control_rate_hz: float = 0.0
    watchdog_s: float = 0.25
    blend_s: float = 0.06
    replan_after_steps: float = 8.0
    request_timeout_s: float = 0.5
    latency_compensation: bool = True
    reconnect_min_s: float = 0.05
    reconnect_max_s: float = 2.0
    client_name: str = "robosoul-sdk"


@dataclass
class SessionStats:
    ticks: int = 0
    holding_ticks: int = 0
    chunks: int = 0
    reconnects: int = 0
    errors: Counter = field(default_factory=Counter)
    chunk_rtt_s: deque = field(default_factory=lambda: deque(maxlen=100_000))
    tick_lateness_s: deque = field(default_factory=lambda: deque(maxlen=100_000))

    def summary(self) -> dict[str, Any]:
        def pct(values, q):
            return float(np.percentile(np.asarray(values), q)) * 1000 if values else float("nan")

        return {
            "ticks": self.ticks, "holding_ticks": self.holding_ticks, "chunks": self.chunks, "reconnects": self.reconnects,
            "errors": dict(self.errors),
            "chunk_rtt_ms_p50": pct(self.chunk_rtt_s, 50), "chunk_rtt_ms_p99": pct(self.chunk_rtt_s, 99),
            "tick_lateness_ms_p50": pct(self.tick_lateness_s, 50), "tick_lateness_ms_p99": pct(self.tick_lateness_s, 99),
        }


# Errors after which reconnecting cannot help.
_FATAL = (
    grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION,
)


async def _maybe_await(value):
    return await value if inspect.isawaitable(value) else value


class Session:
    """Runs one robot against RoboSoul. Create it with `RoboSoulClient.session()`.

        session = client.session("arm-1", MyArmDriver())
        session.on_event = lambda event: print(event.kind, event.message)
        await session.set_goal(reach(0.3, 0.0, 0.25))
        await session.run(duration_s=10)

    Callbacks (optional, plain functions): on_event(Event), on_speech(SpeechAudio),
    on_speech_cancel(CancelSpeech) (stop playing that reply now: the person spoke
    over the robot), on_heard(Heard) (transcript and emotion of what a person said),
    on_reply(Reply), on_error(RoboSoulError) for refused messages, on_stop(Stop).

    Listening (RoboSoul's voice): stream the microphone as it records,

        await session.send_audio(pcm_int16_chunk, sample_rate_hz=16000)

    Seeing (RoboSoul's perception: objects and people become the scene replies refer to):

        await session.send_camera_frame(rgb_uint8, camera="head")
        await session.send_depth_frame(depth_metres, camera="head")

    Talking to the robot (text in; replies, a plan and possibly a stop out):

        replies = await session.ask("please pick up the red cube")
        print(" ".join(r.text for r in replies), replies[0].plan)
    """

    def __init__(self, client: RoboSoulClient, robot_id: str, driver: RobotDriver, config: SessionConfig):
        self._client = client
        self.robot_id = robot_id
        self.driver = driver
        self.config = config
        self.robot: robot_pb2.Robot | None = None
        self.session_id = ""
        self.stats = SessionStats()
        self.executor: ChunkExecutor | None = None
        self.connected = asyncio.Event()
        self.on_event: Callable[[session_pb2.Event], None] | None = None
        self.on_speech: Callable[[session_pb2.SpeechAudio], None] | None = None
        self.on_error: Callable[[RoboSoulError], None] | None = None
        self.on_stop: Callable[[session_pb2.Stop], None] | None = None
        self.on_reply: Callable[[session_pb2.Reply], None] | None = None
        self.on_heard: Callable[[session_pb2.Heard], None] | None = None
        self.on_speech_cancel: Callable[[session_pb2.CancelSpeech], None] | None = None
        # utterance_id -> (replies so far, future completed by the final one)
        self._asking: dict[str, tuple[list[session_pb2.Reply], asyncio.Future]] = {}
        self._call = None
        self._write_lock = asyncio.Lock()
        self._closing = asyncio.Event()
        self._fatal: RoboSoulError | None = None
        self._goal: session_pb2.Goal | None = None
        self._seq = 0
        self._max_frame_bytes = Limits().max_frame_bytes  # until the gateway says its own (SessionStarted.limits)
        # seq -> (monotonic time of the observation, its wall-clock timestamp in ns, span)
        self._pending: dict[int, tuple[float, int, trace.Span]] = {}
        self._rtt_estimate: float | None = None
        self._retry_at = 0.0
        self._error_streak = 0
        self._joint_names: list[str] = []
        self._last_reading: JointReading | None = None

    # ------------------------------------------------------------------ public

    async def run(self, *, duration_s: float | None = None) -> None:
        """Connect and control the robot until `close()`, `duration_s`, or a fatal error (raised).

        The robot is left holding still when this returns.
        """
        self._closing.clear()
        connection = asyncio.create_task(self._connection_loop(), name="robosoul-connection")
        control: asyncio.Task | None = None
        try:
            await self._until_connected_or_done(connection)
            if self._fatal is None and not self._closing.is_set():
                control = asyncio.create_task(self._control_loop(), name="robosoul-control")
                waiters = [connection, control, asyncio.create_task(self._closing.wait())]
                if duration_s is not None:
                    waiters.append(asyncio.create_task(asyncio.sleep(duration_s)))
                done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
                for task in pending:
                    if task not in (connection, control):
                        task.cancel()
                for task in done:
                    # A task gRPC cancelled under it (the stream torn down while closing) is no error.
                    if task in (connection, control) and not task.cancelled() and task.exception() is not None:
                        raise task.exception()
        finally:
            for task in (connection, control):
                if task is not None:
                    task.cancel()
            await asyncio.gather(*(t for t in (connection, control) if t is not None), return_exceptions=True)
            await self._hold_now()
            self.connected.clear()
        if self._fatal is not None:
            raise self._fatal

    def close(self) -> None:
        """Ask `run()` to return (the robot holds)."""
        self._closing.set()

    async def wait_connected(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self.connected.wait(), timeout)

    async def set_goal(self, goal: session_pb2.Goal) -> None:
        """What the robot should do next; kept and re-sent after a reconnect. Lifts a Stop.

            await session.set_goal(reach(0.3, 0.0, 0.25, goal_id="cup"))
        """
        self._goal = goal
        if self.executor is not None:
            self.executor.resume()
        await self._write(session_pb2.ClientMessage(set_goal=goal))

    async def resume(self) -> None:
        """Lift a Stop and go on with the current goal.

            await session.resume()
        """
        if self.executor is not None:
            self.executor.resume()
        await self._write(session_pb2.ClientMessage(resume=session_pb2.Resume()))

    async def say(self, text: str, *, emotion: dialogue_pb2.Emotion | None = None, utterance_id: str = "") -> str:
        """Tell the robot something (typed, or from your own speech recognition); returns the utterance id.

        Replies arrive at `on_reply`, sentence by sentence; a request to stop arrives
        at once as a Stop (and the robot holds).

            await session.say("wave at me", emotion=my_emotion_scores)
        """
        if not text.strip() or len(text) > 2000:
            raise InvalidArgument("text must be 1..2000 characters and not blank")
        uid = utterance_id or f"u-{uuid.uuid4().hex[:12]}"
        msg = session_pb2.ClientMessage(text=dialogue_pb2.UserText(utterance_id=uid, text=text, emotion=emotion))
        if not await self._write(msg):
            raise Unavailable("not connected to RoboSoul; wait_connected() first")
        return uid

    async def ask(self, text: str, *, emotion: dialogue_pb2.Emotion | None = None, timeout_s: float = 30.0) -> list[session_pb2.Reply]:
        """Say something and wait for the whole reply (every sentence, the first carrying the plan).

            replies = await session.ask("what do you see?")
        """
        uid = f"u-{uuid.uuid4().hex[:12]}"
        done = asyncio.get_running_loop().create_future()
        self._asking[uid] = ([], done)
        try:
            await self.say(text, emotion=emotion, utterance_id=uid)
            return await asyncio.wait_for(done, timeout_s)
        except TimeoutError:
            raise DeadlineExceeded(f"no complete reply to {text[:40]!r} within {timeout_s:.0f} s") from None
        finally:
            self._asking.pop(uid, None)

    async def send_audio(self, samples: np.ndarray, *, sample_rate_hz: int = 16_000) -> None:
        """Stream microphone audio (int16 PCM, mono or [frames, channels]) as it is recorded, in chunks of 20-100 ms.

        The voice service hears when the person has finished, what they said and how
        they sounded (`on_heard`), and answers with speech (`on_speech`).
        """
        if self.robot is None or not self.robot.embodiment.HasField("microphone"):
            raise FailedPrecondition("this robot has no microphone in its embodiment")
        samples = np.asarray(samples)
        if samples.dtype != np.int16:
            raise InvalidArgument(f"audio must be int16 PCM, not {samples.dtype}")
        self._seq += 1
        msg = session_pb2.ClientMessage(observation=session_pb2.Observation(seq=self._seq, audio=session_pb2.AudioChunk(
            timestamp=now_timestamp(), device=self.robot.embodiment.microphone.name, sample_rate_hz=sample_rate_hz,
            samples=from_numpy(samples),
        )))
        if not await self._write(msg):
            raise Unavailable("not connected to RoboSoul; wait_connected() first")

    async def send_camera_frame(
        self,
        rgb: np.ndarray | bytes,
        *,
        camera: str,
        encoding: str = "jpeg",
        timestamp: float | Timestamp | None = None,
        quality: int = 90,
    ) -> None:
        """Send one colour image of a camera in the embodiment; RoboSoul's perception finds objects and people in it.

        `rgb` is uint8 RGB of shape (height, width, 3) at the camera's registered size,
        sent as `encoding` "jpeg" (default; `quality` 1..100), "png" or "rgb8" (raw: no
        encoding time, more bytes; frames up to the gateway's limit, 8 MiB by default, and
        those over 1 MiB travel through JetStream's object store). Encoding here needs opencv-python-headless
        or Pillow. Bytes already encoded as JPEG or PNG go as they are (`encoding` says which).
        `timestamp` is the capture time (seconds since the epoch, or a Timestamp; default
        now): a colour frame is paired with the depth frame of the same camera nearest in time.

            await session.send_camera_frame(rgb, camera="head")
            await session.send_depth_frame(depth_m, camera="head")
        """
        spec = self._camera_spec(camera)
        kind = _IMAGE_ENCODINGS.get(encoding)
        if kind is None:
            raise InvalidArgument(f"encoding {encoding!r} is not one of {sorted(_IMAGE_ENCODINGS)}")
        frame = session_pb2.CameraFrame(timestamp=_timestamp(timestamp), camera=camera, encoding=kind, width=spec.width, height=spec.height)
        max_bytes = self._max_frame_bytes
        if isinstance(rgb, bytes | bytearray | memoryview):
            data = bytes(rgb)
            if kind == session_pb2.IMAGE_ENCODING_RGB8:
                raise InvalidArgument("encoded bytes must be JPEG or PNG; send a numpy array for encoding='rgb8'")
            magic = JPEG_MAGIC if kind == session_pb2.IMAGE_ENCODING_JPEG else PNG_MAGIC
            if not data.startswith(magic):
                raise InvalidArgument(f"the bytes are not a {encoding.upper()} image (they do not start with its signature)")
        else:
            image = np.asarray(rgb)
            want = (spec.height, spec.width, 3)
            if image.dtype != np.uint8:
                raise InvalidArgument(f"rgb must be uint8, not {image.dtype}")
            if image.shape != want:
                raise InvalidArgument(f"rgb has shape {image.shape}; camera {camera!r} is {spec.width}x{spec.height}: expected {want}")
            if kind == session_pb2.IMAGE_ENCODING_RGB8:
                if image.nbytes > max_bytes:
                    raise InvalidArgument(f"a raw {spec.width}x{spec.height} frame is {image.nbytes} bytes; at most {max_bytes}: send encoding='jpeg'")
                frame.raw.CopyFrom(from_numpy(np.ascontiguousarray(image)))
                data = b""
            else:
                data = await asyncio.to_thread(_encode_image, image, encoding, quality)  # 5-20 ms: off the control loop
        if data:
            if len(data) > max_bytes:
                raise InvalidArgument(f"the {encoding.upper()} image is {len(data)} bytes; at most {max_bytes} (lower the quality)")
            frame.encoded = data
        await self._send_observation(session_pb2.Observation(camera_frame=frame))

    async def send_depth_frame(
        self, depth: np.ndarray, *, camera: str, timestamp: float | Timestamp | None = None, millimetres: bool = True,
    ) -> None:
        """Send one depth image (distance along the optical axis) of a camera registered with depth.

        `depth` has shape (height, width): float metres (NaN, infinity or 0 where there is
        no reading) or uint16 millimetres (0: none). Float metres go as uint16 millimetres
        (half the bytes: a 640x480 uint16 frame fits in one NATS message, a float32 one goes
        through the object store) unless `millimetres` is False. `timestamp` as for `send_camera_frame`.

            await session.send_depth_frame(depth_m, camera="head", timestamp=captured_at)
        """
        spec = self._camera_spec(camera)
        if not spec.has_depth:
            raise InvalidArgument(f"camera {camera!r} is registered without depth (CameraSpec.has_depth)")
        depth = np.asarray(depth)
        if depth.shape != (spec.height, spec.width):
            raise InvalidArgument(
                f"depth has shape {depth.shape}; camera {camera!r} is {spec.width}x{spec.height}: expected ({spec.height}, {spec.width})"
            )
        if depth.dtype == np.uint16:
            out = depth
        elif depth.dtype.kind == "f":
            with np.errstate(invalid="ignore", over="ignore"):
                if millimetres:
                    out = await asyncio.to_thread(depth_to_millimetres, depth)  # off the control loop
                else:
                    out = np.where(np.isfinite(depth) & (depth > 0), depth, 0).astype(np.float32)
        else:
            raise InvalidArgument(f"depth must be float metres or uint16 millimetres, not {depth.dtype}")
        max_bytes = self._max_frame_bytes
        if out.nbytes > max_bytes:
            raise InvalidArgument(f"the depth frame is {out.nbytes} bytes; at most {max_bytes}" + ("" if millimetres else ": send millimetres"))
        frame = session_pb2.DepthFrame(timestamp=_timestamp(timestamp), camera=camera, depth=from_numpy(np.ascontiguousarray(out)))
        await self._send_observation(session_pb2.Observation(depth_frame=frame))

    def _camera_spec(self, camera: str) -> robot_pb2.CameraSpec:
        if self.robot is None:
            raise Unavailable("not connected to RoboSoul; wait_connected() first")
        for spec in self.robot.embodiment.cameras:
            if spec.name == camera:
                return spec
        names = ", ".join(repr(c.name) for c in self.robot.embodiment.cameras) or "none"
        raise InvalidArgument(f"camera {camera!r} is not in this robot's embodiment (its cameras: {names})")

    async def _send_observation(self, observation: session_pb2.Observation) -> None:
        self._seq += 1
        observation.seq = self._seq
        if not await self._write(session_pb2.ClientMessage(observation=observation)):
            raise Unavailable("not connected to RoboSoul; wait_connected() first")

    async def send_scene(self, scene: dialogue_pb2.Scene) -> None:
        """What the robot sees, from your own perception: grounds "the red cube" in replies and plans."""
        if not await self._write(session_pb2.ClientMessage(scene=scene)):
            raise Unavailable("not connected to RoboSoul; wait_connected() first")

    # ------------------------------------------------------------------ connection

    async def _until_connected_or_done(self, connection: asyncio.Task) -> None:
        waiter = asyncio.create_task(self.connected.wait())
        closing = asyncio.create_task(self._closing.wait())
        try:
            await asyncio.wait([waiter, closing, connection], return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            closing.cancel()
        if connection.done() and connection.exception() is not None:
            raise connection.exception()

    async def _connection_loop(self) -> None:
        backoff = self.config.reconnect_min_s
        while not self._closing.is_set():
            call = self._client.stub.Connect(metadata=self._client.metadata())
            try:
                await call.write(session_pb2.ClientMessage(open=session_pb2.SessionOpen(
                    robot_id=self.robot_id, client_name=self.config.client_name, sdk_version=SDK_VERSION,
                )))
                first = await call.read()
                if first is grpc.aio.EOF or first.WhichOneof("body") != "started":
                    raise Internal("the gateway did not start the session")
                self._on_started(first.started)
                self._call = call
                self.connected.set()
                backoff = self.config.reconnect_min_s
                if self._goal is not None:
                    await self._write(session_pb2.ClientMessage(set_goal=self._goal))
                while True:
                    msg = await call.read()
                    if msg is grpc.aio.EOF:
                        break
                    self._on_message(msg)
            except grpc.aio.AioRpcError as err:
                if err.code() in _FATAL:
                    self._fatal = from_grpc(err.code(), err.details())
                    log.error("session for %s ended: %s", self.robot_id, self._fatal)
                    self._closing.set()
                    return
                log.warning("connection to RoboSoul lost (%s: %s); reconnecting", err.code().name, err.details())
            finally:
                self._call = None
                self.connected.clear()
                self._abandon_pending("disconnected")
                call.cancel()
            if self._closing.is_set():
                return
            self.stats.reconnects += 1
            await asyncio.sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, self.config.reconnect_max_s)

    def _on_started(self, started: session_pb2.SessionStarted) -> None:
        self.session_id = started.session_id
        self._max_frame_bytes = started.limits.max_frame_bytes or Limits().max_frame_bytes
        if self.robot is None:
            self.robot = started.robot
            self._joint_names = [j.name for j in started.robot.embodiment.joints]
            self.executor = ChunkExecutor(
                *joint_limits(started.robot.embodiment), watchdog_s=self.config.watchdog_s, blend_s=self.config.blend_s,
            )

    async def _write(self, msg: session_pb2.ClientMessage) -> bool:
        call = self._call
        if call is None:
            return False
        try:
            async with self._write_lock:
                await call.write(msg)
            return True
        except (grpc.aio.AioRpcError, grpc.aio.UsageError, asyncio.InvalidStateError, RuntimeError):
            return False  # the reader notices the broken stream and reconnects

    def _on_message(self, msg: session_pb2.BrainMessage) -> None:
        """Dispatch one message; callbacks run inside the trace of the work that produced it
        (a reply's callback can start spans that continue what the person said)."""
        if not msg.trace_context:
            self._dispatch(msg)
            return
        token = otel_context.attach(extract(msg.trace_context))
        try:
            self._dispatch(msg)
        finally:
            otel_context.detach(token)

    def _dispatch(self, msg: session_pb2.BrainMessage) -> None:
        kind = msg.WhichOneof("body")
        if kind == "actions":
            self._on_chunk(msg.actions)
        elif kind == "error":
            self._on_error(msg.error)
        elif kind == "stop":
            if self.executor is not None:
                self.executor.stop()
            self._abandon_pending("stopped")
            log.warning("robot %s stopped by %s: %s", self.robot_id, msg.stop.source, msg.stop.reason)
            self._callback(self.on_stop, msg.stop)
        elif kind == "event":
            self._callback(self.on_event, msg.event)
        elif kind == "speech":
            self._callback(self.on_speech, msg.speech)
        elif kind == "reply":
            self._on_reply(msg.reply)
        elif kind == "cancel_speech":
            self._callback(self.on_speech_cancel, msg.cancel_speech)
        elif kind == "heard":
            self._callback(self.on_heard, msg.heard)

    def _on_reply(self, reply: session_pb2.Reply) -> None:
        asking = self._asking.get(reply.utterance_id)
        if asking is not None:
            asking[0].append(reply)
            if reply.final and not asking[1].done():
                asking[1].set_result(list(asking[0]))
        self._callback(self.on_reply, reply)

    def _on_chunk(self, chunk: session_pb2.ActionChunk) -> None:
        pending = self._pending.pop(chunk.observation_seq, None)
        if pending is None:
            return  # from before a reconnect or a stop
        t_obs, obs_wall_ns, span = pending
        now = time.monotonic()
        try:
            if list(chunk.joint_names) != self._joint_names:
                raise Internal(f"chunk joints {list(chunk.joint_names)} differ from the robot's {self._joint_names}")
            positions = to_numpy(chunk.positions, field="actions.positions", dtypes=(tensor_pb2.DTYPE_FLOAT32,))
            # Step 0 is due at the chunk's start_time: the observation's instant, or later when
            # the brain planned from where the robot would be (latency compensation).
            offset = (chunk.start_time.ToNanoseconds() - obs_wall_ns) * 1e-9 if chunk.HasField("start_time") else 0.0
            accepted = self.executor.on_chunk(positions, t0=t_obs + min(max(offset, 0.0), 1.0), step=chunk.step_period_s, now=now)
        except RoboSoulError as err:
            span.set_status(trace.Status(trace.StatusCode.ERROR, str(err)))
            span.end()
            self.stats.errors["bad-chunk"] += 1
            self._callback(self.on_error, err)
            return
        span.set_attribute("robosoul.chunk_accepted", accepted)
        span.end()
        self.stats.chunks += 1
        self.stats.chunk_rtt_s.append(now - t_obs)
        rtt = now - t_obs
        self._rtt_estimate = rtt if self._rtt_estimate is None else 0.8 * self._rtt_estimate + 0.2 * rtt
        self._error_streak = 0

    def _on_error(self, error: session_pb2.Error) -> None:
        err = from_grpc_int(error.code, error.message)
        self.stats.errors[err.grpc_code.name] += 1
        pending = self._pending.pop(error.observation_seq, None)
        if pending is not None:
            span = pending[-1]
            span.set_status(trace.Status(trace.StatusCode.ERROR, str(err)))
            span.end()
            # Back off before asking again (motion may be down): 20 ms doubling to 0.5 s.
            self._error_streak += 1
            self._retry_at = time.monotonic() + min(0.02 * 2 ** (self._error_streak - 1), 0.5)
        log.debug("robot %s: refused: %s", self.robot_id, err)
        self._callback(self.on_error, err)

    def _abandon_pending(self, why: str) -> None:
        for _, _, span in self._pending.values():
            span.set_status(trace.Status(trace.StatusCode.ERROR, why))
            span.end()
        self._pending.clear()

    def _callback(self, fn, arg) -> None:
        if fn is None:
            return
        try:
            fn(arg)
        except Exception:
            log.exception("session callback %s failed", getattr(fn, "__name__", fn))

    # ------------------------------------------------------------------ control

    async def _control_loop(self) -> None:
        rate = self.config.control_rate_hz or self.robot.embodiment.control_rate_hz or 50.0
        period = 1.0 / rate
        next_tick = time.monotonic()
        while True:
            now = time.monotonic()
            self.stats.tick_lateness_s.append(max(now - next_tick, 0.0))
            reading = await _maybe_await(self.driver.read_joints())
            self._last_reading = reading
            command = self.executor.command(now, np.asarray(reading.positions, dtype=np.float64))
            if command.holding:
                self.stats.holding_ticks += 1
                await _maybe_await(self.driver.hold(command.positions))
            else:
                await _maybe_await(self.driver.command_joints(command.positions))
            self.stats.ticks += 1
            if self._should_request(now):
                await self._request_actions(now, reading)
            next_tick += period
            delay = next_tick - time.monotonic()
            if delay < -period:  # fell behind by more than a tick: skip, don't burst
                next_tick = time.monotonic()
                delay = 0.0
            await asyncio.sleep(max(delay, 0.0))

    def _should_request(self, now: float) -> bool:
        if self._call is None or self.executor.stopped or now < self._retry_at:
            return False
        for seq, (sent, _, span) in list(self._pending.items()):
            if now - sent > self.config.request_timeout_s:
                span.set_status(trace.Status(trace.StatusCode.ERROR, "timed out"))
                span.end()
                del self._pending[seq]
                self.stats.errors["timeout"] += 1
        if self._pending:
            return False
        return self.executor.chunk_progress(now) >= self.config.replan_after_steps

    async def _request_actions(self, now: float, reading: JointReading) -> None:
        self._seq += 1
        seq = self._seq
        span = tracer.start_span("sdk.request_actions", kind=trace.SpanKind.CLIENT, attributes={"robosoul.robot_id": self.robot_id, "robosoul.observation_seq": seq})
        stamp = now_timestamp()
        state = session_pb2.JointState(
            timestamp=stamp, names=self._joint_names, positions=list(reading.positions),
            velocities=list(reading.velocities) if reading.velocities is not None else [],
        )
        observation = session_pb2.Observation(seq=seq, joint_state=state, request_actions=True)
        if self.config.latency_compensation and self._rtt_estimate is not None:
            lead = min(self._rtt_estimate, 0.5)
            planned = self.executor.planned(now + lead)
            if planned is not None:
                observation.planned.lead_s = lead
                observation.planned.positions.extend(planned[0].tolist())
                observation.planned.velocities.extend(planned[1].tolist())
        msg = session_pb2.ClientMessage(trace_context=inject(context=trace.set_span_in_context(span)), observation=observation)
        self._pending[seq] = (now, stamp.ToNanoseconds(), span)
        if not await self._write(msg):
            self._pending.pop(seq, None)
            span.end()

    async def _hold_now(self) -> None:
        if self.executor is None or self._last_reading is None:
            return
        try:
            reading = await _maybe_await(self.driver.read_joints())
            self.executor.stop()
            command = self.executor.command(time.monotonic(), np.asarray(reading.positions, dtype=np.float64))
            await _maybe_await(self.driver.hold(command.positions))
        except Exception:
            log.exception("could not command a final hold")


_IMAGE_ENCODINGS = {
    "jpeg": session_pb2.IMAGE_ENCODING_JPEG, "png": session_pb2.IMAGE_ENCODING_PNG, "rgb8": session_pb2.IMAGE_ENCODING_RGB8,
}


def _timestamp(value: float | Timestamp | None) -> Timestamp:
    """A capture time: now, seconds since the epoch, or a Timestamp as it is."""
    if value is None:
        return now_timestamp()
    if isinstance(value, Timestamp):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value) and value >= 0:
        seconds = int(value)  # whole seconds apart: a float holds a 2020s time to about 0.2 µs
        nanos = round((value - seconds) * 1e9)
        return Timestamp(seconds=seconds + nanos // 1_000_000_000, nanos=nanos % 1_000_000_000)
    raise InvalidArgument(f"timestamp must be seconds since the epoch or a Timestamp, got {value!r}")


def _encode_image(rgb: np.ndarray, encoding: str, quality: int) -> bytes:
    """JPEG or PNG bytes of a uint8 RGB image, with OpenCV or else Pillow (the SDK needs neither otherwise)."""
    if not 1 <= quality <= 100:
        raise InvalidArgument(f"quality must be in 1..100, got {quality}")
    try:
        import cv2
    except ImportError:
        cv2 = None
    if cv2 is not None:
        params = [cv2.IMWRITE_JPEG_QUALITY, quality] if encoding == "jpeg" else []
        ok, data = cv2.imencode(f".{encoding}", np.ascontiguousarray(rgb[..., ::-1]), params)
        if not ok:
            raise Internal(f"OpenCV could not encode the image as {encoding.upper()}")
        return data.tobytes()
    try:
        from PIL import Image
    except ImportError:
        raise FailedPrecondition(
            f"encoding images as {encoding.upper()} needs opencv-python-headless or Pillow: install one, "
            "or send encoding='rgb8' or bytes you encoded yourself"
        ) from None
    import io

    out = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(out, format=encoding.upper(), **({"quality": quality} if encoding == "jpeg" else {}))
    return out.getvalue()
