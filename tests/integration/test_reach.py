"""The virtual MuJoCo arm, connected through the SDK like hardware, reaches targets
through gateway -> NATS -> motion -> Triton."""

import numpy as np

from robosoul_sdk import RoboSoulClient
from robosoul_simulation.virtual_robot import VirtualRobot, reach_targets

TOLERANCE_M = 0.02


async def test_virtual_robot_reaches_targets(stack, keys):
    async with RoboSoulClient(stack.gateway_target, keys["alpha"]) as client:
        robot = VirtualRobot(client, "reacher")
        await robot.register(replace=True)
        async with robot:
            targets = robot.sample_targets(5, seed=11)
            results = await reach_targets(robot.session, robot.driver, targets, tolerance_m=TOLERANCE_M, timeout_s=6.0)
        stats = robot.session.stats.summary()
    errors_mm = [round(r.final_error_m * 1000, 1) for r in results]
    assert all(r.reached for r in results), f"final errors (mm): {errors_mm}"
    assert max(errors_mm) <= TOLERANCE_M * 1000
    assert stats["chunks"] > 20 and stats["reconnects"] == 0 and not stats["errors"], stats
    # the arm moved: targets were spread out, not all at the start pose
    assert np.ptp(np.array([r.target for r in results]), axis=0).max() > 0.1
