"""The vendor's entry point: a typed, authenticated client of the RobotService API."""

from __future__ import annotations

from collections.abc import Mapping

import grpc

from robosoul.v1 import robot_pb2, robot_service_pb2, robot_service_pb2_grpc
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

    async def __aenter__(self) -> RoboSoulClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """Call metadata: the API key plus the current trace context."""
        return (("authorization", f"Bearer {self._api_key}"), *inject().items())

    async def _call(self, method, request):
        try:
            return await method(request, metadata=self.metadata(), timeout=self.timeout_s)
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

    def session(self, robot_id: str, driver: RobotDriver, config: SessionConfig | None = None) -> Session:
        """A control session for one robot, driven by `driver`; run it with `await session.run()`.

            session = client.session("arm-1", MyArmDriver())
            await session.set_goal(rs.reach(0.3, 0.0, 0.25))
            await session.run()          # until session.close() or a fatal error
        """
        return Session(self, robot_id, driver, config or SessionConfig())
