"""One robot's live Connect session: validates what the robot sends, asks motion
for action chunks, forwards sensor data to the bus, and delivers what the brain
sends back (chunks, stops, goals, speech, events).

Per-message problems are answered in-stream with an Error and the session goes
on; only authentication, the opening handshake, supersession, the robot's deletion,
a change of its joints and the gateway's shutdown end it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from google.protobuf.timestamp_pb2 import Timestamp
from nats.aio.client import Client
from opentelemetry import trace

from robosoul.bus.v1 import control_pb2, language_pb2, motion_pb2
from robosoul.v1 import dialogue_pb2, robot_pb2, session_pb2
from robosoul_core import bus, subjects
from robosoul_core.clock import now_timestamp
from robosoul_core.errors import (
    Aborted,
    FailedPrecondition,
    InvalidArgument,
    ResourceExhausted,
    RoboSoulError,
    grpc_code_int,
)
from robosoul_core.frames import FrameStore
from robosoul_core.telemetry import ServiceMetrics, extract, inject
from robosoul_core.validation import (
    Limits,
    validate_audio,
    validate_camera_frame,
    validate_depth_frame,
    validate_goal,
    validate_joint_state,
    validate_planned,
    validate_scene,
    validate_user_text,
)
from robosoul_gateway.auth import Principal
from robosoul_gateway.config import GatewayConfig

log = logging.getLogger(__name__)
tracer = trace.get_tracer("robosoul.gateway")

_OBS_VALIDATORS = {
    "camera_frame": validate_camera_frame,
    "depth_frame": validate_depth_frame,
    "audio": validate_audio,
}


class TokenBucket:
    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic):
        self._rate, self._capacity, self._clock = rate, rate, clock
        self._tokens, self._last = rate, clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


class DropTally:
    """Messages dropped since the robot was last told, telling it at most every `interval_s`
    (a robot flooding the gateway must not be flooded with notices in return)."""

    def __init__(self, interval_s: float = 0.5, clock: Callable[[], float] = time.monotonic):
        self._interval, self._clock = interval_s, clock
        self._dropped, self._told = 0, float("-inf")

    def drop(self) -> int:
        """Count one; the number to report now (0: not yet)."""
        self._dropped += 1
        now = self._clock()
        if now - self._told < self._interval:
            return 0
        dropped, self._dropped, self._told = self._dropped, 0, now
        return dropped


class Session:
    def __init__(
        self,
        *,
        session_id: str,
        principal: Principal,
        robot: robot_pb2.Robot,
        nc: Client,
        config: GatewayConfig,
        limits: Limits,
        metrics: ServiceMetrics,
        frames: FrameStore,
        clock: Callable[[], float] = time.time,
    ):
        self.session_id = session_id
        self.principal = principal
        self.robot = robot
        self._nc = nc
        self._config = config
        self._limits = limits
        self._metrics = metrics
        # Where observations too large for one NATS message go.
        self._frames = frames
        self._stored_in_flight = 0
        self._stored_drops = DropTally()
        self._clock = clock
        self.outbox: asyncio.Queue[session_pb2.BrainMessage] = asyncio.Queue(maxsize=config.outbox_size)
        self.ended = asyncio.Event()
        self.end_status: RoboSoulError | None = None
        self.goal = session_pb2.Goal(skill=session_pb2.SKILL_HOLD)
        self.goal_set_at = Timestamp()
        # Trace context of a goal the brain set (a plan from what a person said), until
        # its first chunk is fetched: that chunk's motion work joins the person's trace.
        self._goal_context: dict[str, str] = {}
        self.stopped = False
        self._stop_epoch = 0
        self._last_seq = 0
        self._last_state: session_pb2.JointState | None = None
        self._chunk_ids = 0
        self._in_flight = 0
        self._tasks: set[asyncio.Task] = set()
        self._bucket = TokenBucket(config.max_messages_per_s)
        self._rate_drops = DropTally()
        # What motion needs of the body: everything but the simulation model.
        self._policy_body = robot_pb2.Embodiment()
        self._policy_body.CopyFrom(robot.embodiment)
        self._policy_body.ClearField("model")

    @property
    def tenant(self) -> str:
        return self.principal.tenant

    @property
    def robot_id(self) -> str:
        return self.robot.robot_id

    # ------------------------------------------------------------------ outbound

    def send(self, msg: session_pb2.BrainMessage) -> None:
        """Queue a message for the robot without blocking; a slow reader loses the oldest messages, never a Stop."""
        while True:
            try:
                self.outbox.put_nowait(msg)
                return
            except asyncio.QueueFull:
                dropped = self.outbox.get_nowait()
                if dropped.WhichOneof("body") == "stop":
                    # Keep the stop: drop everything else instead.
                    while not self.outbox.empty():
                        self.outbox.get_nowait()
                    self.outbox.put_nowait(dropped)

    def send_error(self, err: RoboSoulError, seq: int = 0) -> None:
        self.send(session_pb2.BrainMessage(error=session_pb2.Error(code=grpc_code_int(err.grpc_code), message=err.message, observation_seq=seq)))

    def started_message(self) -> session_pb2.BrainMessage:
        now = now_timestamp()
        robot = robot_pb2.Robot()
        robot.CopyFrom(self.robot)
        robot.embodiment.ClearField("model")  # the robot has its own MJCF; don't resend it on every connect
        return session_pb2.BrainMessage(
            started=session_pb2.SessionStarted(
                session_id=self.session_id,
                robot=robot,
                server_time=now,
                limits=session_pb2.SessionLimits(
                    max_message_bytes=self._config.max_message_bytes,
                    max_joints=self._limits.max_joints,
                    max_clock_skew_s=self._limits.max_clock_skew_s,
                    max_frame_bytes=self._limits.max_frame_bytes,
                ),
            )
        )

    def end(self, status: RoboSoulError) -> None:
        self.end_status = status
        self.ended.set()

    def update_robot(self, robot: robot_pb2.Robot) -> None:
        """The stored robot changed (e.g. onboarding gave it a policy): switch over in place.

        Requests already in flight finish with the old body; the next one uses
        the new. A changed joint list cannot be switched live: the session ends.
        """
        old = self.robot.embodiment
        if [(j.name, j.type) for j in robot.embodiment.joints] != [(j.name, j.type) for j in old.joints]:
            self.stop("the robot's joints changed", "gateway")
            self.end(Aborted("the robot's registered joints changed; reconnect"))
            return
        self.robot = robot
        body = robot_pb2.Embodiment()
        body.CopyFrom(robot.embodiment)
        body.ClearField("model")
        self._policy_body = body
        if robot.embodiment.embodiment_tag != old.embodiment_tag:
            ts = now_timestamp()
            self.send(session_pb2.BrainMessage(event=session_pb2.Event(
                timestamp=ts, kind="policy", message=f"now driven by the policy for {robot.embodiment.embodiment_tag!r}",
                attributes={"embodiment_tag": robot.embodiment.embodiment_tag},
            )))

    # ------------------------------------------------------------------ commands

    def stop(self, reason: str, source: str) -> None:
        """Stop always wins: chunks requested before it are discarded when they arrive."""
        self.stopped = True
        self._stop_epoch += 1
        self.send(session_pb2.BrainMessage(stop=session_pb2.Stop(reason=reason, source=source, timestamp=now_timestamp())))

    def set_goal(self, goal: session_pb2.Goal, source: str, trace_context: dict[str, str] | None = None) -> None:
        validate_goal(goal, self.robot.embodiment)
        self.goal = goal
        self.goal_set_at = now_timestamp()
        self._goal_context = dict(trace_context or {})
        self.stopped = False
        if source != "robot":
            self.send(session_pb2.BrainMessage(event=session_pb2.Event(
                timestamp=self.goal_set_at, kind="goal", message=f"new goal from {source}",
                attributes={"goal_id": goal.goal_id, "skill": session_pb2.Skill.Name(goal.skill)},
            ), trace_context=trace_context))

    def on_command(self, cmd: control_pb2.RobotCommand, trace_context: dict[str, str] | None = None) -> None:
        """A command from the brain; `trace_context` (the work that produced it) travels on with it."""
        kind = cmd.WhichOneof("body")
        if kind == "stop":
            self.stop(cmd.stop.reason or "stop requested", cmd.stop.source or "brain")
        elif kind == "goal":
            self.set_goal(cmd.goal, source="brain", trace_context=trace_context)
        elif kind in ("speech", "event", "reply", "cancel_speech", "heard"):
            msg = session_pb2.BrainMessage(trace_context=trace_context)
            getattr(msg, kind).CopyFrom(getattr(cmd, kind))
            self.send(msg)

    # ------------------------------------------------------------------ inbound

    async def handle(self, msg: session_pb2.ClientMessage) -> None:
        """Handle one client message; problems go back to the robot as Error messages."""
        seq = msg.observation.seq if msg.HasField("observation") else 0
        if not self._bucket.take():
            self._refuse_rate()
            return
        try:
            kind = msg.WhichOneof("body")
            if kind == "observation":
                self._on_observation(msg.observation, msg.trace_context)
            elif kind == "set_goal":
                self.set_goal(msg.set_goal, source="robot")
            elif kind == "resume":
                self.stopped = False
            elif kind == "ping":
                now = now_timestamp()
                self.send(session_pb2.BrainMessage(pong=session_pb2.Pong(nonce=msg.ping.nonce, server_time=now)))
            elif kind == "text":
                validate_user_text(msg.text)
                self._spawn(self._converse(msg.text, dict(msg.trace_context)))
            elif kind == "scene":
                validate_scene(msg.scene)
                self._spawn(self._publish_scene(msg.scene, dict(msg.trace_context)))
            elif kind == "open":
                raise InvalidArgument("SessionOpen was already received; send it only as the first message")
            else:
                raise InvalidArgument("empty ClientMessage: set one of observation, set_goal, resume, ping, text, scene")
        except RoboSoulError as err:
            self._metrics.observe("Connect.message", err.grpc_code.name, 0.0)
            self.send_error(err, seq)

    def _refuse_rate(self) -> None:
        dropped = self._rate_drops.drop()
        if dropped:
            self.send_error(ResourceExhausted(f"more than {self._config.max_messages_per_s:.0f} messages/s; {dropped} message(s) dropped"))

    def _on_observation(self, obs: session_pb2.Observation, trace_context) -> None:
        if obs.seq <= self._last_seq:
            raise InvalidArgument(f"observation.seq {obs.seq} is not above the previous {self._last_seq}: seq must increase")
        kind = obs.WhichOneof("payload")
        if kind is None:
            raise InvalidArgument("observation has no payload (joint_state, camera_frame, depth_frame or audio)")
        now = self._clock()
        emb = self.robot.embodiment
        if kind == "joint_state":
            validate_joint_state(obs.joint_state, emb, now=now, max_skew_s=self._limits.max_clock_skew_s)
            if obs.HasField("planned"):
                if not obs.request_actions:
                    raise InvalidArgument("planned is only meaningful with request_actions")
                validate_planned(obs.planned, emb)
        else:
            if obs.request_actions:
                raise InvalidArgument("request_actions is only valid with a joint_state observation")
            _OBS_VALIDATORS[kind](getattr(obs, kind), emb, self._limits, now=now)
        self._last_seq = obs.seq
        if kind == "joint_state":
            self._last_state = obs.joint_state
        if kind == "joint_state" and obs.request_actions:
            self._request_actions(obs, dict(trace_context))
        elif kind != "joint_state":
            self._forward_observation(kind, obs, dict(trace_context))

    def _request_actions(self, obs: session_pb2.Observation, trace_context: dict[str, str]) -> None:
        if self.stopped:
            raise FailedPrecondition("the robot is stopped: send Resume or a new goal before asking for actions")
        if self._in_flight >= self._config.max_chunk_requests_in_flight:
            raise ResourceExhausted(
                f"{self._in_flight} action requests already in flight; wait for a chunk before asking again"
            )
        self._in_flight += 1
        goal_context, self._goal_context = self._goal_context, {}
        self._spawn(self._fetch_chunk(obs, trace_context, self._stop_epoch, self.goal, self.goal_set_at, goal_context))

    async def _fetch_chunk(
        self, obs: session_pb2.Observation, trace_context: dict[str, str], epoch: int, goal, goal_set_at, goal_context: dict[str, str],
    ) -> None:
        """One chunk from motion. The first chunk of a goal the brain set belongs to that goal's
        trace (what the person said -> the arm moving), linked to the robot's request."""
        started = time.perf_counter()
        code = "OK"
        parent, links = extract(trace_context), []
        if goal_context:
            robot_span = trace.get_current_span(parent).get_span_context()
            links = [trace.Link(robot_span)] if robot_span.is_valid else []
            parent = extract(goal_context)
        body = self._policy_body
        try:
            with tracer.start_as_current_span("gateway.request_actions", context=parent, kind=trace.SpanKind.SERVER, links=links) as span:
                span.set_attribute("robosoul.robot_id", self.robot_id)
                span.set_attribute("robosoul.observation_seq", obs.seq)
                request = motion_pb2.ChunkRequest(
                    tenant=self.tenant, robot_id=self.robot_id, session_id=self.session_id,
                    embodiment=body, state=obs.joint_state, goal=goal, observation_seq=obs.seq,
                    goal_set_at=goal_set_at, planned=obs.planned if obs.HasField("planned") else None,
                )
                reply = await bus.request(self._nc, subjects.MOTION_CHUNK, request, motion_pb2.ChunkReply, timeout=self._config.motion_timeout_s)
                if epoch != self._stop_epoch:
                    span.add_event("discarded: a stop arrived while the chunk was computed")
                    return
                self._chunk_ids += 1
                reply.chunk.chunk_id = self._chunk_ids
                self.send(session_pb2.BrainMessage(actions=reply.chunk))
        except RoboSoulError as err:
            code = err.grpc_code.name
            if isinstance(err, FailedPrecondition) and body is not self._policy_body:
                # Refused for the body the session had before a switchover (no policy for the old
                # tag): the robot has been told the new policy drives it; the next request uses it.
                log.debug("session %s: a chunk refused for the superseded body is not reported: %s", self.session_id, err.message)
            else:
                self.send_error(err, obs.seq)
        finally:
            self._in_flight -= 1
            self._metrics.observe("Connect.request_actions", code, time.perf_counter() - started)

    def _forward_observation(self, kind: str, obs: session_pb2.Observation, trace_context: dict[str, str]) -> None:
        envelope = control_pb2.ObservationEnvelope(tenant=self.tenant, robot_id=self.robot_id, session_id=self.session_id, observation=obs)
        if envelope.ByteSize() <= self._frames.inline_limit:
            self._spawn(self._forward(kind, envelope.SerializeToString(), trace_context))
        elif self._stored_in_flight >= self._config.max_stored_frames_in_flight:
            self._drop_stored(kind)
        else:
            self._stored_in_flight += 1
            self._spawn(self._forward_stored(kind, envelope, trace_context))

    async def _forward(self, kind: str, data: bytes, trace_context: dict[str, str]) -> None:
        subject = subjects.robot_subject(self.tenant, self.robot_id, f"obs.{kind}")
        with tracer.start_as_current_span(f"gateway.forward {kind}", context=extract(trace_context)):
            await self._nc.publish(subject, data, headers=inject())

    async def _forward_stored(self, kind: str, envelope: control_pb2.ObservationEnvelope, trace_context: dict[str, str]) -> None:
        """A frame too large for one NATS message: into the object store, and a reference to it on the usual subject."""
        subject = subjects.robot_subject(self.tenant, self.robot_id, f"obs.{kind}")
        started = time.perf_counter()
        code = "OK"
        try:
            with tracer.start_as_current_span(f"gateway.forward {kind}", context=extract(trace_context)) as span:
                span.set_attribute("robosoul.stored", True)
                reference = await self._frames.put(envelope)
                span.set_attribute("robosoul.stored_bytes", reference.stored_observation.size)
                await self._nc.publish(subject, reference.SerializeToString(), headers=inject())
        except RoboSoulError as err:
            code = err.grpc_code.name
            log.warning("session %s: %s %d not forwarded: %s", self.session_id, kind, envelope.observation.seq, err.message)
            self.send_error(err, envelope.observation.seq)
        finally:
            self._stored_in_flight -= 1
            self._metrics.observe(f"Connect.store_{kind}", code, time.perf_counter() - started)

    def _drop_stored(self, kind: str) -> None:
        """The object store is behind this robot's frames: drop the newest and say so."""
        self._metrics.observe(f"Connect.store_{kind}", "RESOURCE_EXHAUSTED", 0.0)
        dropped = self._stored_drops.drop()
        if dropped:
            self.send_error(ResourceExhausted(
                f"{dropped} large frame(s) dropped: {self._config.max_stored_frames_in_flight} are already being stored; "
                "send fewer or smaller frames (JPEG)"
            ))

    async def _converse(self, text, trace_context: dict[str, str]) -> None:
        """Hand an utterance to the language service; its replies, goal and any stop come back on .cmd."""
        with tracer.start_as_current_span("gateway.text", context=extract(trace_context), kind=trace.SpanKind.SERVER) as span:
            span.set_attribute("robosoul.robot_id", self.robot_id)
            request = language_pb2.TurnRequest(
                tenant=self.tenant, robot_id=self.robot_id, session_id=self.session_id, utterance=text,
                state=self._last_state, source="text",
            )
            try:
                await bus.request(self._nc, subjects.LANGUAGE_TURN, request, language_pb2.TurnResult, timeout=self._config.language_timeout_s)
            except RoboSoulError as err:
                # The robot still answers (a waiting `ask` completes), and the vendor learns why.
                self.send_error(err)
                self.send(session_pb2.BrainMessage(reply=session_pb2.Reply(
                    utterance_id=text.utterance_id, text="Sorry, I can't answer right now.", final=True, intent="error",
                    style=dialogue_pb2.REPLY_STYLE_CALM, transcript=text.text,
                )))

    async def _publish_scene(self, scene, trace_context: dict[str, str]) -> None:
        subject = subjects.robot_subject(self.tenant, self.robot_id, subjects.SCENE_STREAM)
        with tracer.start_as_current_span("gateway.forward scene", context=extract(trace_context)):
            await self._nc.publish(subject, scene.SerializeToString(), headers=inject())

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
