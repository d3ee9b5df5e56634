"""Control-loop benchmark: SDK -> gateway -> NATS -> motion -> Triton -> SDK, against a
direct tritonclient call to the same model in the same run (the platform's overhead).

    python bench/control_loop.py --policy build/policy/generalist/policy.onnx

Three parts, printed as tables:
1. ping-pong: one robot asks for a chunk as soon as the last one arrived (many samples,
   pure round-trip latency), platform vs raw Triton.
2. control rate: 1/10/50 robots, each an SDK session at 50 Hz re-requesting its
   16-step chunk every 8 steps (the real workload), vs raw Triton clients at the same rate.
3. saturation: 50 concurrent clients back to back: chunk requests/s, platform vs raw.

Runs its own NATS, Triton and services (no tracing, so the figures are the platform's own).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

import grpc
import numpy as np
import tritonclient.grpc.aio as triton
from google.protobuf.timestamp_pb2 import Timestamp

from robosoul.v1 import robot_pb2, robot_service_pb2_grpc
from robosoul.v1 import robot_service_pb2 as rs
from robosoul.v1 import session_pb2 as sp
from robosoul_core import policy_io
from robosoul_devstack.stack import MODEL_NAME, LocalStack, StackConfig
from robosoul_sdk import JointReading, RoboSoulClient, RobotDriver, SessionConfig, reach
from robosoul_simulation.bodies import embodiment_for, load_body

TAG = "rs-arm4"


def pct(xs, q):
    return float(np.percentile(np.asarray(xs) * 1000, q)) if len(xs) else float("nan")


class KinematicArm(RobotDriver):
    """A perfectly tracking arm: the bench measures the platform, not physics."""

    def __init__(self, q0):
        self.q = np.array(q0, dtype=float)

    def read_joints(self):
        return JointReading(positions=self.q.tolist())

    def command_joints(self, positions):
        self.q = np.asarray(positions)


# ---------------------------------------------------------------------------- raw Triton


def _triton_inputs(q: np.ndarray, target: np.ndarray, index: int):
    arrays = (
        (policy_io.INPUT_STATE, policy_io.encode_state(q)[None], "FP32"),
        (policy_io.INPUT_GOAL, policy_io.encode_goal(sp.SKILL_REACH, target)[None], "FP32"),
        (policy_io.INPUT_EMBODIMENT, np.array([[index]], np.int64), "INT64"),
    )
    inputs = []
    for name, array, dtype in arrays:
        t = triton.InferInput(name, list(array.shape), dtype)
        t.set_data_from_numpy(array)
        inputs.append(t)
    return inputs


async def raw_triton(url: str, robots: int, seconds: float, period: float | None, q0, target) -> tuple[list[float], int]:
    """`robots` clients calling Triton directly, every `period` s (None: back to back)."""
    client = triton.InferenceServerClient(url)
    rtts: list[float] = []
    inputs = _triton_inputs(np.asarray(q0), np.asarray(target), 0)
    outputs = [triton.InferRequestedOutput(policy_io.OUTPUT_ACTIONS)]
    stop_at = time.monotonic() + seconds

    async def one(i: int):
        await asyncio.sleep((period or 0) * i / max(robots, 1))
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            await client.infer(MODEL_NAME, inputs, outputs=outputs, client_timeout=2.0)
            rtts.append(time.perf_counter() - t0)
            if period:
                await asyncio.sleep(max(period - (time.perf_counter() - t0), 0))

    await asyncio.gather(*(one(i) for i in range(robots)))
    await client.close()
    return rtts, len(rtts)


# ---------------------------------------------------------------------------- platform


async def platform_ping_pong(stack: LocalStack, key: str, robot_id: str, seconds: float, q0, target) -> list[float]:
    """One Connect stream asking for a chunk as soon as the previous one arrived."""
    names = [j.name for j in embodiment_for(TAG).joints]
    rtts = []
    async with grpc.aio.insecure_channel(stack.gateway_target) as channel:
        stub = robot_service_pb2_grpc.RobotServiceStub(channel)
        call = stub.Connect(metadata=(("authorization", f"Bearer {key}"),))
        await call.write(sp.ClientMessage(open=sp.SessionOpen(robot_id=robot_id, client_name="bench")))
        await call.read()
        await call.write(sp.ClientMessage(set_goal=reach(*target)))
        stop_at, seq = time.monotonic() + seconds, 0
        while time.monotonic() < stop_at:
            seq += 1
            ts = Timestamp()
            ts.GetCurrentTime()
            t0 = time.perf_counter()
            await call.write(sp.ClientMessage(observation=sp.Observation(
                seq=seq, request_actions=True, joint_state=sp.JointState(timestamp=ts, names=names, positions=list(q0)))))
            while True:
                msg = await call.read()
                if msg.WhichOneof("body") in ("actions", "error"):
                    break
            if msg.WhichOneof("body") == "error":
                raise RuntimeError(msg.error.message)
            rtts.append(time.perf_counter() - t0)
        call.cancel()
    return rtts


async def platform_sessions(stack: LocalStack, key: str, robot_ids: list[str], seconds: float, period: float, q0, targets) -> dict:
    """SDK sessions at the robots' own 50 Hz, re-requesting every 8 steps. Robots start
    at spread-out phases (independent robots are not synchronised), like the raw clients."""

    async def start(i: int, session):
        await asyncio.sleep(period * i / len(robot_ids))
        await session.run()

    async with RoboSoulClient(stack.gateway_target, key) as client:
        sessions = [client.session(rid, KinematicArm(q0), SessionConfig(replan_after_steps=8)) for rid in robot_ids]
        tasks = [asyncio.create_task(start(i, s)) for i, s in enumerate(sessions)]
        await asyncio.gather(*(s.wait_connected(30) for s in sessions))
        for s, target in zip(sessions, targets, strict=False):
            await s.set_goal(reach(*target))
        await asyncio.sleep(1.0)  # warm up
        for s in sessions:
            s.stats.chunk_rtt_s.clear()
            s.stats.tick_lateness_s.clear()
            s.stats.chunks = 0
            s.stats.holding_ticks = 0
            s.stats.ticks = 0
        await asyncio.sleep(seconds)
        for s in sessions:
            s.close()
        await asyncio.gather(*tasks, return_exceptions=True)
    rtts = [x for s in sessions for x in s.stats.chunk_rtt_s]
    lateness = [x for s in sessions for x in s.stats.tick_lateness_s]
    return {
        "rtts": rtts,
        "chunks": sum(s.stats.chunks for s in sessions),
        "holding": sum(s.stats.holding_ticks for s in sessions),
        "ticks": sum(s.stats.ticks for s in sessions),
        "errors": sum(sum(s.stats.errors.values()) for s in sessions),
        "lateness": lateness,
    }


async def platform_saturation(stack: LocalStack, key: str, robot_ids: list[str], seconds: float, q0, target) -> int:
    counts = await asyncio.gather(*(platform_ping_pong(stack, key, rid, seconds, q0, target) for rid in robot_ids))
    return sum(len(c) for c in counts)


# ---------------------------------------------------------------------------- server-side view


def gateway_buckets(stack: LocalStack) -> dict[float, float]:
    """Cumulative counts of the gateway's chunk-latency histogram (Prometheus text)."""
    import re
    import urllib.request

    text = urllib.request.urlopen(f"{stack.gateway_metrics}/metrics", timeout=5).read().decode()  # noqa: S310 - loopback
    pattern = r'robosoul_request_seconds_bucket\{le="([^"]+)",method="Connect.request_actions",service="gateway"\} ([0-9.e+]+)'
    return {float(le): float(n) for le, n in re.findall(pattern, text)}


def histogram_quantile(before: dict[float, float], after: dict[float, float], q: float) -> float:
    """The q-quantile (ms) of what was observed between two snapshots, interpolated in its bucket."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1]
    if total <= 0:
        return float("nan")
    rank, lower, below = q * total, 0.0, 0.0
    for bound, cumulative in zip(bounds, counts, strict=True):
        if cumulative >= rank:
            if bound == float("inf"):
                return lower * 1000
            share = (rank - below) / max(cumulative - below, 1e-9)
            return (lower + share * (bound - lower)) * 1000
        lower, below = bound, cumulative
    return float("nan")


# ---------------------------------------------------------------------------- main


async def register(stack: LocalStack, key: str, n: int) -> list[str]:
    ids = [f"bench-{i:03d}" for i in range(n)]
    async with grpc.aio.insecure_channel(stack.gateway_target) as channel:
        stub = robot_service_pb2_grpc.RobotServiceStub(channel)
        md = (("authorization", f"Bearer {key}"),)
        for rid in ids:
            try:
                await stub.RegisterRobot(rs.RegisterRobotRequest(robot=robot_pb2.Robot(robot_id=rid, embodiment=embodiment_for(TAG))), metadata=md)
            except grpc.aio.AioRpcError as err:
                if err.code() != grpc.StatusCode.ALREADY_EXISTS:
                    raise
    return ids


async def run(args, stack: LocalStack) -> dict:
    key = stack.create_api_key("bench")
    robot_ids = await register(stack, key, max(args.robots))
    arm = load_body(TAG)
    rng = np.random.default_rng(0)
    q0 = arm.rest.tolist()
    targets = [arm.sample_target(rng).tolist() for _ in robot_ids]
    period = args.replan_steps / args.control_hz
    results: dict = {"ping_pong": None, "control": [], "saturation": None}

    if "ping-pong" in args.parts:
        print(f"ping-pong, 1 robot, {args.seconds:.0f} s each ...", file=sys.stderr, flush=True)
        raw, _ = await raw_triton(stack.triton_grpc, 1, args.seconds, None, q0, targets[0])
        plat = await platform_ping_pong(stack, key, robot_ids[0], args.seconds, q0, targets[0])
        results["ping_pong"] = {"raw": raw, "platform": plat}

    for n in args.robots if "control" in args.parts else ():
        print(f"control rate, {n} robots, {args.seconds:.0f} s each ...", file=sys.stderr, flush=True)
        raw, _ = await raw_triton(stack.triton_grpc, n, args.seconds, period, q0, targets[0])
        before = gateway_buckets(stack)
        plat = await platform_sessions(stack, key, robot_ids[:n], args.seconds, period, q0, targets[:n])
        after = gateway_buckets(stack)
        plat["gateway_ms"] = (histogram_quantile(before, after, 0.5), histogram_quantile(before, after, 0.99))
        results["control"].append({"robots": n, "raw": raw, "platform": plat})

    if "saturation" in args.parts:
        n = max(args.robots)
        print(f"saturation, {n} clients back to back, {args.seconds:.0f} s each ...", file=sys.stderr, flush=True)
        _, raw_count = await raw_triton(stack.triton_grpc, n, args.seconds, None, q0, targets[0])
        plat_count = await platform_saturation(stack, key, robot_ids[:n], args.seconds, q0, targets[0])
        results["saturation"] = {"clients": n, "raw_rps": raw_count / args.seconds, "platform_rps": plat_count / args.seconds}
    return results


def report(results: dict, args) -> str:
    lines = []
    pp = results["ping_pong"]
    lines += [] if pp is None else [
        "### Chunk round trip, one robot, ping-pong",
        "",
        "| path | samples | p50 ms | p99 ms |",
        "|---|---:|---:|---:|",
        f"| raw Triton (tritonclient gRPC) | {len(pp['raw'])} | {pct(pp['raw'], 50):.2f} | {pct(pp['raw'], 99):.2f} |",
        f"| platform (gRPC stream → gateway → NATS → motion → Triton) | {len(pp['platform'])} | {pct(pp['platform'], 50):.2f} | {pct(pp['platform'], 99):.2f} |",
        f"| **overhead** | | **{pct(pp['platform'], 50) - pct(pp['raw'], 50):+.2f}** | {pct(pp['platform'], 99) - pct(pp['raw'], 99):+.2f} |",
        "",
    ]
    lines += [] if not results["control"] else [
        f"### Control rate: {args.control_hz:.0f} Hz robots, 16-step chunks re-requested every {args.replan_steps} steps (SDK sessions)",
        "",
        "| robots | chunk req/s | platform p50 ms | platform p99 ms | at the gateway p50 / p99 ms | raw Triton p50 ms | raw Triton p99 ms | overhead p50 ms | robot tick lateness p99 ms | holding ticks | errors |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results["control"]:
        p, raw = row["platform"], row["raw"]
        lines.append(
            f"| {row['robots']} | {p['chunks'] / args.seconds:.0f} | {pct(p['rtts'], 50):.2f} | {pct(p['rtts'], 99):.2f} | "
            f"{p['gateway_ms'][0]:.1f} / {p['gateway_ms'][1]:.1f} | "
            f"{pct(raw, 50):.2f} | {pct(raw, 99):.2f} | {pct(p['rtts'], 50) - pct(raw, 50):+.2f} | {pct(p['lateness'], 99):.2f} | "
            f"{p['holding']}/{p['ticks']} | {p['errors']} |"
        )
    sat = results["saturation"]
    lines += [] if sat is None else [
        "",
        f"### Saturation: {sat['clients']} clients back to back",
        "",
        "| path | chunk requests/s |",
        "|---|---:|",
        f"| raw Triton | {sat['raw_rps']:.0f} |",
        f"| platform | {sat['platform_rps']:.0f} ({sat['platform_rps'] / sat['raw_rps']:.0%} of raw) |",
    ]
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--policy", type=Path, default=Path("build/policy/generalist/policy.onnx"))
    p.add_argument("--robots", type=int, nargs="+", default=[1, 10, 50])
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--parts", nargs="+", choices=["ping-pong", "control", "saturation"], default=["ping-pong", "control", "saturation"])
    p.add_argument("--control-hz", type=float, default=50.0)
    p.add_argument("--replan-steps", type=int, default=8)
    p.add_argument("--queue-delay-us", type=int, default=None, help="Triton dynamic batching delay (default: model_repo's)")
    p.add_argument("--triton-instances", type=int, default=1)
    p.add_argument("--work-dir", type=Path, default=Path("build/bench"))
    p.add_argument("--json", type=Path, help="also write the raw figures here")
    args = p.parse_args()
    if not args.policy.exists():
        print(f"no policy at {args.policy}: run `make policy`", file=sys.stderr)
        return 2
    config = StackConfig(work_dir=args.work_dir, policy=args.policy, max_queue_delay_us=args.queue_delay_us, triton_instances=args.triton_instances)
    print(f"starting the stack (cpus: {os.cpu_count()}) ...", file=sys.stderr, flush=True)
    with LocalStack(config) as stack:
        results = asyncio.run(run(args, stack))
    print(report(results, args))
    if args.json:
        summary = json.loads(json.dumps(results, default=lambda o: None))
        args.json.write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
