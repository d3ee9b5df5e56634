"""Chunk boundaries: how smooth is the commanded motion when a new chunk takes over?

    python bench/chunk_blending.py --policy build/policy/generalist/policy.onnx --embodiment rs-arm4

A simulated robot (MuJoCo physics, 50 Hz control) reaches random targets with
the real SDK executor and the real motion-service logic (policy in process via
onnxruntime). Each chunk request comes back after a random network + inference
latency. Three ways of taking over a new chunk, in the same episodes:

- naive: the new chunk replaces the old at once, its step 0 applied on arrival
  (LeRobot/GR00T clients; the arm "steps back" by the latency)
- aligned: time-aligned (steps already due are skipped), hard switch
- robosoul: the SDK sends where its commands will be one round trip ahead; the
  brain plans from there and starts the chunk at that moment; the executor
  blends with a smootherstep over 60 ms

Measured at every chunk boundary on the commanded joint positions: the jump
(distance of the first new command from the constant-velocity extrapolation of
the previous two, mrad) and the peak jerk within ±3 ticks (rad/s^3).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import numpy as np
from google.protobuf.timestamp_pb2 import Timestamp

from robosoul.bus.v1 import motion_pb2
from robosoul.v1 import session_pb2
from robosoul_core.tensors import to_numpy
from robosoul_core.validation import joint_limits
from robosoul_motion.policy import OnnxPolicy
from robosoul_motion.service import MotionService
from robosoul_sdk.executor import ChunkExecutor
from robosoul_sdk.session import reach
from robosoul_simulation.bodies import embodiment_for, load_body
from robosoul_simulation.sim_arm import SimArm

DT = 0.02
REPLAN_STEPS = 8
MODES = {"naive": dict(align=False, blend=0.0, plan=False), "aligned": dict(align=True, blend=0.0, plan=False),
         "robosoul": dict(align=True, blend=0.06, plan=True)}


def stamp(t: float) -> Timestamp:
    ts = Timestamp()
    ts.FromNanoseconds(int(t * 1e9))
    return ts


async def episode(motion: MotionService, arm, emb, target, q0, mode: dict, rng, latency: tuple[float, float], seconds: float):
    sim = SimArm(arm)
    sim.reset(q0)
    ex = ChunkExecutor(*joint_limits(emb), watchdog_s=1.0, blend_s=mode["blend"])
    names = [j.name for j in emb.joints]
    goal = reach(*target)
    commands, switches, inflight, rtt_estimate = [], [], None, None
    t, k = time.time(), 0  # simulated time, on the wall clock's scale (the service checks clock skew)
    while k * DT < seconds:
        if inflight is not None and t >= inflight[0]:
            arrival, chunk, t_obs = inflight
            positions = to_numpy(chunk.positions).astype(np.float64)
            t0 = t_obs + (chunk.start_time.ToNanoseconds() * 1e-9 - t_obs) if mode["align"] else t
            if ex.on_chunk(positions, t0=t0, step=DT, now=t):
                switches.append(len(commands))
            rtt_estimate = t - t_obs if rtt_estimate is None else 0.8 * rtt_estimate + 0.2 * (t - t_obs)
            inflight = None
        q = sim.joint_positions()
        cmd = ex.command(t, q)
        sim.command(cmd.positions)
        commands.append(cmd.positions.copy())
        if inflight is None and ex.chunk_progress(t) >= REPLAN_STEPS:
            req = motion_pb2.ChunkRequest(
                embodiment=emb, goal=goal, observation_seq=k + 1,
                state=session_pb2.JointState(timestamp=stamp(t), names=names, positions=q.tolist(), velocities=sim.joint_velocities().tolist()),
            )
            if mode["plan"] and rtt_estimate is not None:
                planned = ex.planned(t + rtt_estimate)
                if planned is not None:
                    req.planned.lead_s = rtt_estimate
                    req.planned.positions.extend(planned[0].tolist())
                    req.planned.velocities.extend(planned[1].tolist())
            reply = await motion.chunk(req)
            inflight = (t + rng.uniform(*latency), reply.chunk, t)
        sim.advance(DT)
        t += DT
        k += 1
    return np.array(commands), switches


def boundary_metrics(commands: np.ndarray, switches: list[int]) -> tuple[list[float], list[float]]:
    jumps, jerks = [], []
    for i in switches:
        if i < 3 or i + 3 >= len(commands):
            continue
        predicted = 2 * commands[i - 1] - commands[i - 2]
        jumps.append(float(np.abs(commands[i] - predicted).max()))
        window = commands[i - 3 : i + 4]
        jerk = np.diff(window, n=3, axis=0) / DT**3
        jerks.append(float(np.abs(jerk).max()))
    return jumps, jerks


async def run(args) -> dict:
    sidecar = json.loads(args.policy.with_suffix(".json").read_text())
    arm = load_body(args.embodiment)
    emb = embodiment_for(arm)
    emb.ClearField("model")
    policy = OnnxPolicy(str(args.policy), sidecar["embodiments"])
    await policy.start()
    motion = MotionService(policy, max_clock_skew_s=1e9)
    results = {m: {"jumps": [], "jerks": [], "errors": []} for m in MODES}
    rng_tasks = np.random.default_rng(args.seed)
    for e in range(args.episodes):
        target, q0 = arm.sample_target(rng_tasks), arm.sample_start(rng_tasks)
        for name, mode in MODES.items():
            rng = np.random.default_rng([args.seed, e])  # same latencies for every mode
            commands, switches = await episode(motion, arm, emb, target, q0, mode, rng, (args.latency_min, args.latency_max), args.seconds)
            jumps, jerks = boundary_metrics(commands, switches)
            results[name]["jumps"] += jumps
            results[name]["jerks"] += jerks
        print(f"episode {e + 1}/{args.episodes}", file=sys.stderr, flush=True)
    return results


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--policy", type=Path, default=Path("build/policy/generalist/policy.onnx"))
    p.add_argument("--embodiment", default="rs-arm4")
    p.add_argument("--episodes", type=int, default=20)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--latency-min", type=float, default=0.03)
    p.add_argument("--latency-max", type=float, default=0.09)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    results = asyncio.run(run(args))
    naive_jump = np.mean(results["naive"]["jumps"])
    print(f"#### Chunk boundaries: {args.embodiment}, {args.episodes} episodes, latency {args.latency_min * 1000:.0f}–{args.latency_max * 1000:.0f} ms\n")
    print("| switching | boundaries | jump mean mrad | jump p95 mrad | peak jerk p50 rad/s³ | peak jerk p95 rad/s³ | jump vs naive |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        j, k = np.array(r["jumps"]) * 1000, np.array(r["jerks"])
        print(f"| {name} | {len(j)} | {j.mean():.2f} | {np.percentile(j, 95):.2f} | {np.percentile(k, 50):.0f} | {np.percentile(k, 95):.0f} | "
              f"{naive_jump * 1000 / j.mean():.1f}× lower |" if name != "naive" else
              f"| {name} | {len(j)} | {j.mean():.2f} | {np.percentile(j, 95):.2f} | {np.percentile(k, 50):.0f} | {np.percentile(k, 95):.0f} | 1× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
