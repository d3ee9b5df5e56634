"""Kill the motion service mid-session: the SDK holds the robot within the watchdog
deadline — it never moves on stale actions — and control resumes when motion is back."""

import asyncio
import time

import numpy as np

from robosoul_sdk import RoboSoulClient, SessionConfig, reach
from robosoul_simulation.virtual_robot import VirtualRobot

WATCHDOG_S = 0.2


async def wait_until(predicate, timeout):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_motion_crash_holds_the_robot_and_control_resumes(stack, keys):
    async with RoboSoulClient(stack.gateway_target, keys["alpha"]) as client:
        robot = VirtualRobot(client, "failover-arm", config=SessionConfig(watchdog_s=WATCHDOG_S))
        await robot.register(replace=True)
        ticks: list[tuple[float, float, bool]] = []  # (time, age of the actions in use, holding)

        async with robot:
            executor = robot.session.executor
            real_command = executor.command

            def recording_command(now, measured):
                cmd = real_command(now, measured)
                ticks.append((now, now - executor.last_chunk_at, cmd.holding))
                return cmd

            executor.command = recording_command
            targets = robot.sample_targets(2, seed=5)
            await robot.session.set_goal(reach(*targets[0]))
            await wait_until(lambda: robot.session.stats.chunks > 10, 10)

            killed_at = time.monotonic()
            stack.processes["motion-0"].kill()
            await wait_until(lambda: any(t > killed_at and holding for t, _, holding in ticks), 5)
            first_hold = next(t for t, _, holding in ticks if t > killed_at and holding)
            await asyncio.sleep(0.5)
            q_held = robot.sim.joint_positions()
            await asyncio.sleep(0.3)
            drift = np.abs(robot.sim.joint_positions() - q_held).max()

            stack.start_motion(0)
            chunks = robot.session.stats.chunks
            await robot.session.set_goal(reach(*targets[1]))
            await wait_until(lambda: robot.session.stats.chunks > chunks + 5, 30)
            await wait_until(lambda: np.linalg.norm(robot.driver.ee_position() - targets[1]) < 0.02, 10)

    # Safety: no tick ever moved the robot on actions older than the watchdog
    # deadline: from the first tick past it, every command was a hold.
    stale_moves = [(t, age) for t, age, holding in ticks if not holding and age > WATCHDOG_S]
    assert stale_moves == []
    last_fresh = next(t - age for t, age, holding in reversed(ticks) if not holding and t < first_hold)
    print(f"held {1000 * (first_hold - last_fresh):.0f} ms after the last fresh chunk (watchdog {1000 * WATCHDOG_S:.0f} ms)")
    # It stayed still while motion was down.
    assert drift < 1e-3, f"joints drifted {drift:.4f} rad while holding"
    assert robot.session.stats.errors, "the SDK was told motion was unavailable"
