"""The public RobotService: authentication, tenant scoping, the robot registry
and Connect sessions. Errors are translated to gRPC status codes here, once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import Counter

import grpc
from google.protobuf.message import DecodeError
from nats.aio.client import Client
from nats.aio.msg import Msg
from opentelemetry import trace

from robosoul.bus.v1 import control_pb2
from robosoul.v1 import robot_pb2, robot_service_pb2, robot_service_pb2_grpc, session_pb2
from robosoul_core import subjects
from robosoul_core.errors import (
    Aborted,
    DeadlineExceeded,
    InvalidArgument,
    ResourceExhausted,
    RoboSoulError,
    Unavailable,
)
from robosoul_core.frames import FrameStore
from robosoul_core.registry import RobotRegistry
from robosoul_core.telemetry import ServiceMetrics, extract, inject
from robosoul_core.validation import Limits, validate_persona, validate_robot
from robosoul_gateway.auth import ApiKeyStore, Principal
from robosoul_gateway.config import GatewayConfig
from robosoul_gateway.rpc import unary_rpc
from robosoul_gateway.session import Session

log = logging.getLogger(__name__)
tracer = trace.get_tracer("robosoul.gateway")

OPEN_TIMEOUT_S = 10.0
# How long a Connect refused for its key waits for the client's first message before aborting.
REFUSED_OPEN_WAIT_S = 0.5
COMMAND_SUBJECT = f"{subjects.ROOT}.*.*.cmd"


def limits_from(config: GatewayConfig) -> Limits:
    return Limits(
        max_joints=config.max_joints, max_mjcf_bytes=config.max_mjcf_bytes, max_asset_bytes=config.max_asset_bytes,
        max_frame_bytes=config.max_frame_bytes, max_audio_frames=config.max_audio_frames, max_clock_skew_s=config.max_clock_skew_s,
    )


class RobotService(robot_service_pb2_grpc.RobotServiceServicer):
    def __init__(self, *, nc: Client, keys: ApiKeyStore, registry: RobotRegistry, config: GatewayConfig, metrics: ServiceMetrics):
        self.nc = nc
        self.keys = keys
        self.registry = registry
        self.config = config
        self.metrics = metrics
        self.limits = limits_from(config)
        self.sessions: dict[tuple[str, str], Session] = {}
        self._per_tenant: Counter[str] = Counter()
        self._command_sub = None
        self._registry_follower: asyncio.Task | None = None
        self.frames = FrameStore(nc, timeout_s=config.frame_store_timeout_s, max_frame_bytes=config.max_frame_bytes)

    async def start(self) -> None:
        await self.frames.create(ttl_s=self.config.frame_store_ttl_s, max_bytes=self.config.frame_store_max_bytes)
        self._command_sub = await self.nc.subscribe(COMMAND_SUBJECT, cb=self._on_command)
        self._registry_follower = asyncio.create_task(self._follow_registry())

    async def stop(self) -> None:
        if self._command_sub is not None:
            await self._command_sub.unsubscribe()
        if self._registry_follower is not None:
            self._registry_follower.cancel()
        for session in list(self.sessions.values()):
            session.end(Unavailable("the gateway is shutting down; reconnect"))

    # ------------------------------------------------------------------ registry

    @unary_rpc("RegisterRobot")
    async def RegisterRobot(self, request: robot_service_pb2.RegisterRobotRequest, principal: Principal) -> robot_pb2.Robot:
        principal.require_operator("registering a robot")
        if not request.HasField("robot"):
            raise InvalidArgument("robot is missing")
        validate_robot(request.robot, self.limits)
        return await self.registry.create(principal.tenant, request.robot)

    @unary_rpc("GetRobot")
    async def GetRobot(self, request: robot_service_pb2.GetRobotRequest, principal: Principal) -> robot_pb2.Robot:
        subjects.check_id(request.robot_id, "robot_id")
        return await self.registry.get(principal.tenant, request.robot_id)

    @unary_rpc("ListRobots")
    async def ListRobots(self, request: robot_service_pb2.ListRobotsRequest, principal: Principal) -> robot_service_pb2.ListRobotsResponse:
        if request.page_token:
            subjects.check_id(request.page_token, "page_token")
        robots, token = await self.registry.list(principal.tenant, request.page_size, request.page_token)
        return robot_service_pb2.ListRobotsResponse(robots=robots, next_page_token=token)

    @unary_rpc("DeleteRobot")
    async def DeleteRobot(self, request: robot_service_pb2.DeleteRobotRequest, principal: Principal) -> robot_service_pb2.DeleteRobotResponse:
        principal.require_operator("deleting a robot")
        subjects.check_id(request.robot_id, "robot_id")
        await self.registry.delete(principal.tenant, request.robot_id)
        session = self.sessions.get((principal.tenant, request.robot_id))
        if session is not None:
            session.stop("robot deleted", "gateway")
            session.end(Aborted("the robot was deleted"))
        return robot_service_pb2.DeleteRobotResponse()

    @unary_rpc("StopRobot")
    async def StopRobot(self, request: robot_service_pb2.StopRobotRequest, principal: Principal) -> robot_service_pb2.StopRobotResponse:
        # Any key of the tenant may stop a robot, read-only ones included: stop always wins.
        subjects.check_id(request.robot_id, "robot_id")
        if len(request.reason) > 256:
            raise InvalidArgument("reason is longer than 256 characters")
        await self.registry.get(principal.tenant, request.robot_id)
        cmd = control_pb2.RobotCommand(stop=session_pb2.Stop(reason=request.reason or "StopRobot", source=f"key:{principal.key_id}"))
        subject = subjects.robot_subject(principal.tenant, request.robot_id, "cmd")
        try:
            await self.nc.request(subject, cmd.SerializeToString(), timeout=self.config.stop_delivery_timeout_s)
            delivered = True
        except Exception:  # no live session anywhere answered
            delivered = False
        return robot_service_pb2.StopRobotResponse(delivered=delivered)

    @unary_rpc("SetPersona")
    async def SetPersona(self, request: robot_service_pb2.SetPersonaRequest, principal: Principal) -> robot_pb2.Robot:
        principal.require_operator("changing a robot's persona")
        subjects.check_id(request.robot_id, "robot_id")
        validate_persona(request.persona, "persona")
        robot = await self.registry.modify(principal.tenant, request.robot_id, lambda r: r.persona.CopyFrom(request.persona))
        robot.embodiment.ClearField("model")
        return robot

    async def _follow_registry(self) -> None:
        """Live sessions follow changes to their robot (a new policy, new named poses)."""
        while True:
            try:
                async for tenant, robot_id, robot in self.registry.changes():
                    session = self.sessions.get((tenant, robot_id))
                    if session is None or session.ended.is_set():
                        continue
                    if robot is None:
                        session.stop("robot deleted", "gateway")
                        session.end(Aborted("the robot was deleted"))
                    else:
                        session.update_robot(robot)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("lost the registry watch; re-watching", exc_info=True)
                await asyncio.sleep(1.0)

    async def _on_command(self, msg: Msg) -> None:
        parts = msg.subject.split(".")
        session = self.sessions.get((parts[1], parts[2])) if len(parts) == 4 else None
        if session is None:
            return  # another gateway holds the session, or nobody does
        try:
            cmd = control_pb2.RobotCommand.FromString(msg.data)
            with tracer.start_as_current_span(f"gateway.command {cmd.WhichOneof('body')}", context=extract(msg.headers)):
                session.on_command(cmd, inject())
        except (DecodeError, RoboSoulError) as err:
            log.warning("refused command on %s: %s", msg.subject, err)
            return
        if msg.reply:
            await msg.respond(b"")

    # ------------------------------------------------------------------ sessions

    async def Connect(self, request_iterator, context: grpc.aio.ServicerContext):
        metadata = context.invocation_metadata()
        try:
            with tracer.start_as_current_span("robosoul.v1.RobotService/Connect", context=extract(metadata), kind=trace.SpanKind.SERVER):
                try:
                    principal = await self.keys.authenticate_metadata(metadata)
                    principal.require_operator("connecting a robot")
                except RoboSoulError:
                    # Let the client's SessionOpen land before the call is aborted (briefly:
                    # nothing more is read from a caller without a valid key); aborted under
                    # its write, a client sees INTERNAL from the failed write, not our status.
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(anext(aiter(request_iterator)), REFUSED_OPEN_WAIT_S)
                    raise
                opening = await self._read_open(request_iterator)
                subjects.check_id(opening.robot_id, "open.robot_id")
                robot = await self.registry.get(principal.tenant, opening.robot_id)
                key = (principal.tenant, robot.robot_id)
                if self._per_tenant[principal.tenant] >= self.config.max_sessions_per_tenant and key not in self.sessions:
                    raise ResourceExhausted(f"your tenant already has {self.config.max_sessions_per_tenant} live sessions")
        except RoboSoulError as err:
            self.metrics.observe("Connect", err.grpc_code.name, 0.0)
            await context.abort(err.grpc_code, err.message)

        session = Session(
            session_id=uuid.uuid4().hex, principal=principal, robot=robot, nc=self.nc,
            config=self.config, limits=self.limits, metrics=self.metrics, frames=self.frames,
        )
        old = self.sessions.get(key)
        if old is not None:
            old.end(Aborted("superseded by a newer session for this robot"))
        else:
            self._per_tenant[principal.tenant] += 1
        self.sessions[key] = session
        self.metrics.sessions.inc()
        self.metrics.observe("Connect", "OK", 0.0)
        log.info("session %s: %s/%s connected (%s)", session.session_id, principal.tenant, robot.robot_id, opening.client_name)
        session.send(session.started_message())
        tasks = [
            asyncio.create_task(self._write(session, context)),
            asyncio.create_task(self._read(session, request_iterator)),
            asyncio.create_task(session.ended.wait()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await session.close()
            self.metrics.sessions.dec()
            if self.sessions.get(key) is session:
                del self.sessions[key]
                self._per_tenant[principal.tenant] -= 1
            log.info("session %s ended", session.session_id)
        if session.end_status is not None:
            await context.abort(session.end_status.grpc_code, session.end_status.message)

    @staticmethod
    async def _read_open(request_iterator) -> session_pb2.SessionOpen:
        try:
            first = await asyncio.wait_for(anext(aiter(request_iterator)), OPEN_TIMEOUT_S)
        except StopAsyncIteration:
            raise InvalidArgument("the stream closed before SessionOpen") from None
        except TimeoutError:
            raise DeadlineExceeded(f"no SessionOpen within {OPEN_TIMEOUT_S:.0f} s") from None
        if first.WhichOneof("body") != "open":
            raise InvalidArgument("the first message of Connect must be SessionOpen(robot_id=...)")
        return first.open

    async def _read(self, session: Session, request_iterator) -> None:
        try:
            async for msg in request_iterator:
                await session.handle(msg)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the client went away mid-message
            log.info("session %s: stream closed (%s)", session.session_id, type(exc).__name__)

    async def _write(self, session: Session, context: grpc.aio.ServicerContext) -> None:
        while True:
            msg = await session.outbox.get()
            await context.write(msg)
