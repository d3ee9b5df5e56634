"""A vendor's robot on RoboSoul in one short loop (run: python minimal_robot.py).

Needs ROBOSOUL_URL (default localhost:50051) and ROBOSOUL_API_KEY. Replace
`ToyArm` with calls into your own hardware; everything else stays.
"""

import asyncio
import os

import numpy as np

import robosoul_sdk as rs


class ToyArm(rs.RobotDriver):
    """Stands in for hardware: each joint moves 20 % of the way to its target per call."""

    def __init__(self):
        self.q = np.zeros(4)

    def read_joints(self) -> rs.JointReading:
        return rs.JointReading(positions=self.q.tolist())

    def command_joints(self, positions: np.ndarray) -> None:
        self.q += 0.2 * (positions - self.q)  # your servo command goes here


ARM = rs.embodiment(
    [
        rs.revolute("base_yaw", -2.7, 2.7, max_velocity=2.5),
        rs.revolute("shoulder_pitch", -1.9, 1.9, max_velocity=2.5),
        rs.revolute("elbow_pitch", -2.5, 2.5, max_velocity=3.0),
        rs.revolute("wrist_pitch", -2.0, 2.0, max_velocity=3.5),
    ],
    control_rate_hz=50,
    embodiment_tag="rs-arm4",  # the policy RoboSoul serves for this body
)


async def main() -> None:
    url, key = os.environ.get("ROBOSOUL_URL", "localhost:50051"), os.environ["ROBOSOUL_API_KEY"]
    async with rs.RoboSoulClient(url, api_key=key) as client:
        await client.ensure_robot("toy-arm", ARM)
        arm = ToyArm()
        session = client.session("toy-arm", arm, rs.SessionConfig(watchdog_s=0.25))
        session.on_stop = lambda stop: print("stopped:", stop.reason)
        await session.set_goal(rs.reach(0.30, 0.10, 0.25))
        await session.run(duration_s=5)  # holds still when it returns
        print("joints:", np.round(arm.q, 3), session.stats.summary())


if __name__ == "__main__":
    asyncio.run(main())
