"""RoboSoul SDK: connect a robot body to the RoboSoul brain.

    import asyncio, robosoul_sdk as rs

    async def main():
        async with rs.RoboSoulClient("localhost:50051", api_key="rsk_...") as client:
            await client.ensure_robot("arm-1", my_embodiment)
            session = client.session("arm-1", MyArmDriver())
            await session.set_goal(rs.reach(0.3, 0.0, 0.25))
            await session.run(duration_s=10)

    asyncio.run(main())
"""

from robosoul_sdk.client import RoboSoulClient
from robosoul_sdk.driver import JointReading, RobotDriver
from robosoul_sdk.embodiment import embodiment, prismatic, revolute
from robosoul_sdk.executor import ChunkExecutor, Command
from robosoul_sdk.session import SDK_VERSION as __version__
from robosoul_sdk.session import Session, SessionConfig, SessionStats, hold, reach

__all__ = [
    "ChunkExecutor", "Command", "JointReading", "RoboSoulClient", "RobotDriver", "Session", "SessionConfig",
    "SessionStats", "__version__", "embodiment", "hold", "prismatic", "reach", "revolute",
]
