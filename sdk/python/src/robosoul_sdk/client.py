"""The vendor's entry point: a typed, authenticated client of the RobotService API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping

import grpc

from robosoul.v1 import dialogue_pb2, onboarding_pb2, onboarding_pb2_grpc, robot_pb2, robot_service_pb2, robot_service_pb2_grpc
from robosoul_core.telemetry import inject
from robosoul_sdk.driver import RobotDriver
from robosoul_sdk.errors import NotFound, from_grpc
from robosoul_sdk.session import Session, SessionConfig


class RoboSoulClient:
    """Talks to a RoboSoul gateway with an API key. Use it as an async context manager.

        import asyncio, robosoul_sdk as rs

        async def main():
            async with rs.RoboSoulClient("localhost:50051", api_key="rsk_...") as client:
                for robot in await client.list_robots():
                    print(robot.robot_id, len(robot.embodiment.joints), "joints")

        asyncio.run(main())

    `timeout_s` bounds every unary call; errors are `robosoul_sdk.errors` exceptions
    (Unauthenticated, NotFound, InvalidArgument, ...).
    """

    def __init__(
        self,
        target: str,
        api_key: str,
        *,
        tls: bool = False,
        root_certificates: bytes | None = None,
        timeout_s: float = 5.0,
    ):
        self.target = target
        self.timeout_s = timeout_s
        self._api_key = api_key
        options = [("grpc.keepalive_time_ms", 20_000), ("grpc.max_receive_message_length", 16 << 20)]
        if tls:
            creds = grpc.ssl_channel_credentials(root_certificates=root_certificates)
            self._channel = grpc.aio.secure_channel(target, creds, options=options)
        else:
            self._channel = grpc.aio.insecure_channel(target, options=options)
        self.stub = robot_service_pb2_grpc.RobotServiceStub(self._channel)
        self.onboarding = onboarding_pb2_grpc.OnboardingServiceStub(self._channel)

    async def __aenter__(self) -> RoboSoulClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """Call metadata: the API key plus the current trace context."""
        return (("authorization", f"Bearer {self._api_key}"), *inject().items())

    async def _call(self, method, request, *, timeout_s: float | None = None):
        try:
            return await method(request, metadata=self.metadata(), timeout=timeout_s or self.timeout_s)
        except grpc.aio.AioRpcError as err:
            raise from_grpc(err.code(), err.details()) from None

    async def register_robot(
        self, robot_id: str, embodiment: robot_pb2.Embodiment, *, display_name: str = "", labels: Mapping[str, str] | None = None
    ) -> robot_pb2.Robot:
        """Register a robot under your tenant; raises AlreadyExists if the id is taken.

            robot = await client.register_robot("arm-1", rs.embodiment([rs.revolute("j1", -1, 1, max_velocity=2)]))
        """
        robot = robot_pb2.Robot(robot_id=robot_id, display_name=display_name, embodiment=embodiment, labels=dict(labels or {}))
        return await self._call(self.stub.RegisterRobot, robot_service_pb2.RegisterRobotRequest(robot=robot))

    async def get_robot(self, robot_id: str) -> robot_pb2.Robot:
        """Fetch one robot; raises NotFound if your tenant has no such robot.

            robot = await client.get_robot("arm-1")
        """
        return await self._call(self.stub.GetRobot, robot_service_pb2.GetRobotRequest(robot_id=robot_id))

    async def ensure_robot(self, robot_id: str, embodiment: robot_pb2.Embodiment, **kwargs) -> robot_pb2.Robot:
        """Get the robot, registering it first if it does not exist yet.

            robot = await client.ensure_robot("arm-1", my_embodiment)
        """
        try:
            return await self.get_robot(robot_id)
        except NotFound:
            return await self.register_robot(robot_id, embodiment, **kwargs)

    async def list_robots(self, page_size: int = 100) -> list[robot_pb2.Robot]:
        """All robots of your tenant, following pages.

            ids = [r.robot_id for r in await client.list_robots()]
        """
        robots, token = [], ""
        while True:
            page = await self._call(self.stub.ListRobots, robot_service_pb2.ListRobotsRequest(page_size=page_size, page_token=token))
            robots.extend(page.robots)
            token = page.next_page_token
            if not token:
                return robots

    async def delete_robot(self, robot_id: str) -> None:
        """Delete a robot (its live session, if any, is stopped and closed).

            await client.delete_robot("arm-1")
        """
        await self._call(self.stub.DeleteRobot, robot_service_pb2.DeleteRobotRequest(robot_id=robot_id))

    async def stop_robot(self, robot_id: str, reason: str = "") -> bool:
        """Emergency stop from anywhere: the robot holds until its session resumes.
        Returns whether a live session received the stop.

            delivered = await client.stop_robot("arm-1", reason="person too close")
        """
        reply = await self._call(self.stub.StopRobot, robot_service_pb2.StopRobotRequest(robot_id=robot_id, reason=reason))
        return reply.delivered

    async def set_persona(self, robot_id: str, persona: dialogue_pb2.Persona) -> robot_pb2.Robot:
        """Who the robot is in conversation; a live session uses it from the next utterance.

            await client.set_persona("arm-1", Persona(name="Robin", personality="patient and cheerful",
                                                      default_style=REPLY_STYLE_CHEERFUL))
        """
        return await self._call(self.stub.SetPersona, robot_service_pb2.SetPersonaRequest(robot_id=robot_id, persona=persona))

    # ------------------------------------------------------------------ onboarding

    async def upload_model(
        self, robot_id: str, mjcf: str, *, assets: dict[str, bytes] | None = None, end_effector_site: str = "", timeout_s: float = 120.0
    ) -> onboarding_pb2.ModelReport:
        """Upload the robot's MJCF (and the mesh/texture files it names); RoboSoul validates it
        in simulation and keeps it with the robot. Raises InvalidArgument saying what is wrong.

            report = await client.upload_model("arm-1", open("arm.xml").read())
            print([list(c.joints) for c in report.chains])
        """
        model = robot_pb2.SimulationModel(mjcf=mjcf, assets=dict(assets or {}), end_effector_site=end_effector_site)
        request = onboarding_pb2.UploadModelRequest(robot_id=robot_id, model=model)
        return await self._call(self.onboarding.UploadModel, request, timeout_s=timeout_s)

    async def start_onboarding(
        self,
        robot_id: str,
        *,
        min_success: float = 0.9,
        demo_episodes: int = 0,
        eval_episodes: int = 0,
        skills: Iterable[int] = (),
        allow_fine_tune: bool = False,
    ) -> onboarding_pb2.OnboardingJob:
        """Start adapting the policy to the robot in simulation; returns the queued job.

            job = await client.start_onboarding("arm-1", min_success=0.9)
        """
        options = onboarding_pb2.OnboardingOptions(
            min_success=min_success, demo_episodes=demo_episodes, eval_episodes=eval_episodes,
            skills=list(skills), allow_fine_tune=allow_fine_tune,
        )
        return await self._call(self.onboarding.StartOnboarding, onboarding_pb2.StartOnboardingRequest(robot_id=robot_id, options=options))

    async def get_onboarding(self, job_id: str) -> onboarding_pb2.OnboardingJob:
        """The job as it is now.

            job = await client.get_onboarding(job_id)
        """
        return await self._call(self.onboarding.GetOnboarding, onboarding_pb2.GetOnboardingRequest(job_id=job_id))

    async def watch_onboarding(self, job_id: str, *, timeout_s: float = 3600.0) -> AsyncIterator[onboarding_pb2.OnboardingJob]:
        """The job now and at every change, until it ends (stage, progress, ETA, report).

            async for job in client.watch_onboarding(job_id):
                print(job.stage, f"{job.progress:.0%}", job.message)
        """
        call = self.onboarding.WatchOnboarding(onboarding_pb2.GetOnboardingRequest(job_id=job_id), metadata=self.metadata(), timeout=timeout_s)
        try:
            async for job in call:
                yield job
        except grpc.aio.AioRpcError as err:
            raise from_grpc(err.code(), err.details()) from None

    async def onboard(
        self, robot_id: str, *, on_progress: Callable[[onboarding_pb2.OnboardingJob], None] | None = None, **options
    ) -> onboarding_pb2.OnboardingJob:
        """Start onboarding and wait for its end; `on_progress` sees every update.

            job = await client.onboard("arm-1", on_progress=lambda j: print(f"{j.progress:.0%}"))
            assert job.state == onboarding_pb2.ONBOARDING_STATE_SUCCEEDED
        """
        started = await self.start_onboarding(robot_id, **options)
        job = started
        async for job in self.watch_onboarding(started.job_id):
            if on_progress is not None:
                on_progress(job)
        return job

    def session(self, robot_id: str, driver: RobotDriver, config: SessionConfig | None = None) -> Session:
        """A control session for one robot, driven by `driver`; run it with `await session.run()`.

            session = client.session("arm-1", MyArmDriver())
            await session.set_goal(rs.reach(0.3, 0.0, 0.25))
            await session.run()          # until session.close() or a fatal error
        """
        return Session(self, robot_id, driver, config or SessionConfig())
