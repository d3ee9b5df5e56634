"""`make demo`: RoboSoul on this machine, driving a virtual MuJoCo arm through targets.

Starts (or reuses) NATS, starts Triton with the trained policy, the motion
service and the gateway; issues an API key; connects the virtual robot through
the SDK; gives it reach targets; prints per-target error and loop latency and
one end-to-end trace; stops everything it started.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter
from pathlib import Path

from robosoul_core.config import TelemetryConfig
from robosoul_core.telemetry import setup_tracing
from robosoul_devstack.stack import LocalStack, StackConfig
from robosoul_devstack.trace_sink import TraceSink
from robosoul_sdk import RoboSoulClient
from robosoul_simulation.virtual_robot import RESULT_HEADER, VirtualRobot, format_latency, format_result, reach_targets


def say(msg: str) -> None:
    print(f"==> {msg}", flush=True)


def describe_trace(sink: TraceSink) -> str:
    """The most recent chunk request's trace: which services it crossed."""
    roots = [s for s in sink.spans() if s.name == "sdk.request_actions"]
    for root in reversed(roots):
        spans = sink.spans(root.trace_id)
        services = {s.service for s in spans}
        if {"virtual-robot", "robosoul-gateway", "robosoul-motion", "triton"} <= services:
            spans.sort(key=lambda s: s.start_ns)
            t0 = spans[0].start_ns
            lines = [f"trace {root.trace_id}: {len(spans)} spans across {', '.join(sorted(services))}"]
            lines += [f"  {(s.start_ns - t0) / 1e6:7.2f} ms  {s.duration_ms:6.2f} ms  {s.service:<17} {s.name}" for s in spans]
            return "\n".join(lines)
    counts = Counter(s.service for s in sink.spans())
    return f"no complete trace found yet (spans per service: {dict(counts)})"


async def drive(stack: LocalStack, api_key: str, targets: int, seed: int, tolerance: float) -> bool:
    async with RoboSoulClient(stack.gateway_target, api_key) as client:
        robot = VirtualRobot(client, "demo-arm")
        await robot.register(replace=True)
        say(f"virtual robot {robot.robot_id} ({robot.tag}, {len(robot.arm.joint_names)} joints) connected through the SDK")
        async with robot:
            print(RESULT_HEADER, flush=True)
            results = await reach_targets(
                robot.session, robot.driver, robot.sample_targets(targets, seed), tolerance_m=tolerance,
                on_result=lambda i, r: print(format_result(i, r, tolerance), flush=True),
            )
        reached = sum(r.reached for r in results)
        errors = sorted(r.final_error_m * 1000 for r in results)
        say(f"{reached}/{len(results)} targets reached within {tolerance * 100:.0f} cm; final error median {errors[len(errors) // 2]:.1f} mm, max {errors[-1]:.1f} mm")
        print(format_latency(robot.session.stats.summary()), flush=True)
    return reached == len(results)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--policy", type=Path, default=Path("build/policy/generalist/policy.onnx"))
    p.add_argument("--work-dir", type=Path, default=Path("build/demo"))
    p.add_argument("--targets", type=int, default=6)
    p.add_argument("--seed", type=int, default=int(time.time()) % 1000)
    p.add_argument("--tolerance", type=float, default=0.02)
    args = p.parse_args(argv)
    if not args.policy.exists():
        print(f"demo: no policy at {args.policy}; run `make policy` first", file=sys.stderr)
        return 2

    sink = TraceSink().start()
    tracing = setup_tracing("virtual-robot", TelemetryConfig(exporter_otlp_endpoint=sink.endpoint, bsp_schedule_delay_s=0.2))
    config = StackConfig(
        work_dir=args.work_dir, policy=args.policy, nats_url=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"),
        otlp_endpoint=sink.endpoint, trace_triton=True,  # one robot: no batches of traced requests
    )
    started = time.monotonic()
    say("starting RoboSoul: NATS, Triton (policy), motion, gateway")
    try:
        with LocalStack(config) as stack:
            owned = "started" if "nats" in stack.processes else "reused"
            say(f"up in {time.monotonic() - started:.1f} s — NATS {stack.nats_url} ({owned}), Triton {stack.triton_grpc}, gateway {stack.gateway_target}")
            for name, proc in stack.processes.items():
                print(f"    {name:<8} pid {proc.pid:<7} log {proc.log_path}")
            api_key = stack.create_api_key("demo")
            say(f"issued an API key for tenant 'demo' (seed {args.seed})")
            ok = asyncio.run(drive(stack, api_key, args.targets, args.seed, args.tolerance))
            tracing.force_flush()
            time.sleep(1.0)  # let the services' exporters flush their last batch
            say("one control request, end to end:")
            print(describe_trace(sink), flush=True)
            say("stopping everything this demo started")
    finally:
        tracing.shutdown()
        sink.stop()
    say("done" if ok else "done — some targets were missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
