"""Language through the platform, as a vendor sees it: SDK -> gateway -> NATS -> language -> gateway -> SDK.

    python bench/language_platform.py --policy build/policy/generalist/policy.onnx [--repeats 50]

Measures, on the virtual MuJoCo arm connected through the SDK:
- stop fast path: `session.say("stop")` until the SDK's on_stop fires, and a
  transcript published on the bus (as the voice service does) until on_stop;
- first reply sentence: `session.ask(...)` until the first Reply arrives, for a
  command (plan + goal) and for chit-chat.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import nats
from stats import pct

from robosoul.bus.v1 import language_pb2
from robosoul.v1 import dialogue_pb2
from robosoul.v1.tensor_pb2 import Vec3
from robosoul_core import subjects
from robosoul_devstack.stack import LocalStack, StackConfig
from robosoul_sdk import RoboSoulClient
from robosoul_simulation.virtual_robot import VirtualRobot

STOPS = ["stop", "wait!", "freeze", "hold on", "please stop moving", "don't move"]



async def run(stack: LocalStack, key: str, repeats: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"stop: SDK text -> SDK Stop": [], "stop: transcript on the bus -> SDK Stop": [],
                                   "first sentence: command": [], "first sentence: chit-chat": []}
    async with RoboSoulClient(stack.gateway_target, key) as client:
        robot = VirtualRobot(client, "bench-talker")
        await robot.register(replace=True)
        stopped = asyncio.Event()
        robot.session.on_stop = lambda _: stopped.set()
        first = asyncio.Event()
        robot.session.on_reply = lambda r: first.set() if r.seq == 0 else None
        nc = await nats.connect(stack.nats_url)
        async with robot:
            target = robot.sample_targets(1, seed=3)[0]
            await robot.session.send_scene(dialogue_pb2.Scene(objects=[dialogue_pb2.SceneObject(
                object_id="c1", label="cube", color="red", position=Vec3(x=float(target[0]), y=float(target[1]), z=float(target[2])), size_m=0.04)]))
            await asyncio.sleep(0.3)
            for i in range(repeats):
                for name, say in (("stop: SDK text -> SDK Stop", None), ("stop: transcript on the bus -> SDK Stop", "bus")):
                    stopped.clear()
                    text = STOPS[i % len(STOPS)]
                    started = time.perf_counter()
                    if say is None:
                        await robot.session.say(text)
                    else:
                        req = language_pb2.TurnRequest(tenant="bench", robot_id="bench-talker", session_id=robot.session.session_id,
                                                       utterance=dialogue_pb2.UserText(utterance_id=f"b{i}", text=text), source="voice")
                        await nc.publish(subjects.LANGUAGE_TURN, req.SerializeToString(), reply=nc.new_inbox())
                    await asyncio.wait_for(stopped.wait(), 5)
                    out[name].append((time.perf_counter() - started) * 1e3)
                    await robot.session.resume()
                    await asyncio.sleep(0.05)
                for name, text in (("first sentence: command", "please touch the red cube"), ("first sentence: chit-chat", "how are you today?")):
                    first.clear()
                    started = time.perf_counter()
                    await robot.session.say(text)
                    await asyncio.wait_for(first.wait(), 10)
                    out[name].append((time.perf_counter() - started) * 1e3)
                    await asyncio.sleep(0.05)
        await nc.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policy", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = StackConfig(work_dir=Path(tmp), policy=args.policy, language=True)
        with LocalStack(config) as stack:
            key = stack.create_api_key("bench")
            results = asyncio.run(run(stack, key, args.repeats))
    print(f"\n| path (embedded backend, {args.repeats} each) | p50 (ms) | p95 (ms) | max (ms) |")
    print("|---|---|---|---|")
    for name, values in results.items():
        print(f"| {name} | {pct(values, 50):.1f} | {pct(values, 95):.1f} | {max(values):.1f} |")


if __name__ == "__main__":
    main()
