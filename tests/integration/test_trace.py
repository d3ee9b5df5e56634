"""One chunk request is ONE trace: spans from the SDK, gateway, motion and Triton."""

import asyncio
import time

from robosoul_devstack.testing import TEST_CLIENT_SERVICE
from robosoul_sdk import RoboSoulClient, reach
from robosoul_simulation.virtual_robot import VirtualRobot

SERVICES = {TEST_CLIENT_SERVICE, "robosoul-gateway", "robosoul-motion", "triton"}


async def test_one_trace_spans_sdk_gateway_motion_and_triton(stack, keys, trace_sink):
    async with RoboSoulClient(stack.gateway_target, keys["alpha"]) as client:
        robot = VirtualRobot(client, "traced-arm")
        await robot.register(replace=True)
        async with robot:
            await robot.session.set_goal(reach(*robot.sample_targets(1, seed=3)[0]))
            await asyncio.sleep(1.0)

    deadline = time.monotonic() + 20
    complete = None
    while complete is None and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        for root in [s for s in trace_sink.spans() if s.name == "sdk.request_actions"]:
            if trace_sink.services(root.trace_id) >= SERVICES:
                complete = root
                break
    assert complete is not None, f"no trace crossed all of {SERVICES}; seen: {sorted({s.service for s in trace_sink.spans()})}"
    spans = trace_sink.spans(complete.trace_id)
    by_id = {s.span_id: s for s in spans}
    # every span but the SDK's root has its parent inside the same trace
    orphans = [s.name for s in spans if s is not complete and s.parent_span_id not in by_id]
    assert orphans == [], orphans
    names = {s.name for s in spans}
    assert {"sdk.request_actions", "gateway.request_actions", "motion.chunk", "triton.infer"} <= names
