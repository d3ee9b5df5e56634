"""Motion replicas are discoverable (nats.micro) and share the load (queue group)."""

import asyncio
import json
import re
import urllib.request

from robosoul_core import bus
from robosoul_core.config import NatsConfig
from robosoul_sdk import RoboSoulClient, reach
from robosoul_simulation.virtual_robot import VirtualRobot


def served_chunks(metrics_url: str) -> float:
    text = urllib.request.urlopen(f"{metrics_url}/metrics", timeout=5).read().decode()  # noqa: S310 - loopback
    match = re.search(r'robosoul_requests_total\{code="200",method="chunk",service="motion"\} ([0-9.e+]+)', text)
    return float(match.group(1)) if match else 0.0


async def test_two_motion_replicas_are_discoverable_and_share_the_work(stack, keys):
    second = stack.start_motion(1)
    try:
        nc = await bus.connect(NatsConfig(url=stack.nats_url), "discovery")
        replies = []
        inbox = nc.new_inbox()
        sub = await nc.subscribe(inbox)
        await nc.publish("$SRV.INFO.motion", b"", reply=inbox)
        for _ in range(2):
            replies.append(json.loads((await sub.next_msg(timeout=5)).data))
        await nc.close()
        assert {r["name"] for r in replies} == {"motion"} and len({r["id"] for r in replies}) == 2
        assert any(e["subject"] == "rs.svc.motion.chunk" for e in replies[0]["endpoints"])

        before = [served_chunks(url) for url in stack.motion_metrics]
        async with RoboSoulClient(stack.gateway_target, keys["alpha"]) as client:
            robot = VirtualRobot(client, "shared-load-arm")
            await robot.register(replace=True)
            async with robot:
                await robot.session.set_goal(reach(*robot.sample_targets(1, seed=8)[0]))
                await asyncio.sleep(3.0)
        after = [served_chunks(url) for url in stack.motion_metrics]
        gained = [a - b for a, b in zip(after, before, strict=True)]
        assert all(g > 0 for g in gained), f"chunks served per replica: {gained}"
    finally:
        second.stop()
        stack.processes.pop("motion-1", None)
        stack.motion_metrics.pop()
