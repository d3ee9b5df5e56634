"""Tenant isolation matrix: every cross-tenant read or drive is refused, and
nothing of one tenant's robot is visible to another."""

import asyncio

import pytest

from robosoul_sdk import RoboSoulClient, reach
from robosoul_sdk.errors import NotFound, PermissionDenied
from robosoul_simulation.bodies import embodiment_for
from robosoul_simulation.virtual_robot import VirtualRobot

ROBOT = "isolated-arm"


@pytest.fixture
async def alpha_robot(stack, keys):
    async with RoboSoulClient(stack.gateway_target, keys["alpha"]) as client:
        try:
            await client.delete_robot(ROBOT)
        except NotFound:
            pass
        await client.register_robot(ROBOT, embodiment_for("rs-arm4"))
        yield ROBOT


# (operation, needs operator role) — each is tried by every caller below.
OPERATIONS = {
    "get": lambda c: c.get_robot(ROBOT),
    "delete": lambda c: c.delete_robot(ROBOT),
    "stop": lambda c: c.stop_robot(ROBOT, "cross-tenant test"),
    "connect": lambda c: asyncio.wait_for(c.session(ROBOT, VirtualRobot(c, ROBOT).driver).run(duration_s=0.2), 10),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
async def test_another_tenant_cannot_touch_the_robot(stack, keys, alpha_robot, operation):
    async with RoboSoulClient(stack.gateway_target, keys["beta"]) as beta:
        with pytest.raises(NotFound, match=ROBOT):
            await OPERATIONS[operation](beta)
        assert ROBOT not in [r.robot_id for r in await beta.list_robots()]
    async with RoboSoulClient(stack.gateway_target, keys["alpha"]) as alpha:
        assert (await alpha.get_robot(ROBOT)).robot_id == ROBOT  # untouched


@pytest.mark.parametrize("operation, allowed", [("get", True), ("stop", True), ("delete", False), ("connect", False)])
async def test_a_read_only_key_reads_and_stops_but_cannot_drive_or_delete(stack, keys, alpha_robot, operation, allowed):
    async with RoboSoulClient(stack.gateway_target, keys["alpha-viewer"]) as viewer:
        if allowed:
            await OPERATIONS[operation](viewer)
        else:
            with pytest.raises(PermissionDenied):
                await OPERATIONS[operation](viewer)


async def test_same_robot_id_in_two_tenants_are_two_robots(stack, keys, alpha_robot):
    """beta registers the same id; driving and stopping beta's robot never reaches alpha's session."""
    async with RoboSoulClient(stack.gateway_target, keys["alpha"]) as alpha, RoboSoulClient(stack.gateway_target, keys["beta"]) as beta:
        try:
            await beta.delete_robot(ROBOT)
        except NotFound:
            pass
        await beta.register_robot(ROBOT, embodiment_for("rs-arm4"))
        alpha_robot_sim = VirtualRobot(alpha, ROBOT)
        stops = []
        alpha_robot_sim.session.on_stop = stops.append
        async with alpha_robot_sim:
            await alpha_robot_sim.session.set_goal(reach(0.3, 0.0, 0.3))
            delivered = await beta.stop_robot(ROBOT, "beta's e-stop")
            assert delivered is False  # beta's robot has no live session; alpha's is not beta's
            await asyncio.sleep(0.3)
            assert stops == []
            chunks = alpha_robot_sim.session.stats.chunks
            await asyncio.sleep(0.3)
            assert alpha_robot_sim.session.stats.chunks > chunks  # alpha kept being driven
        await beta.delete_robot(ROBOT)
