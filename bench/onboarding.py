"""Onboarding benchmark: bodies the generalist never saw, onboarded through the platform.

    python bench/onboarding.py [--policy build/policy/generalist/policy.onnx]
        [--bodies gym-pusher novel-s1-6dof novel-s2-7dof] [--demo-episodes 0 (service default)]
        [--eval-episodes 100] [--json build/bench/onboarding.json]

Starts the local stack (NATS, Triton serving the generalist, motion, gateway and the
simulation service), registers each body as a vendor robot, uploads its MJCF through
the SDK and runs `client.onboard(...)` with the production defaults: validate, expert
demonstrations, adapter training with the shared trunk frozen, evaluation over
randomised episodes, publish to Triton if reach success >= 90 %. Wall time is what
the vendor waits, from StartOnboarding to the job's end, per stage from the job's
own progress stream. The bodies are the registry's held-out ones
(robosoul_simulation.bodies.held_out_bodies): no demonstration of them is in the
generalist's training set (train.py refuses them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from robosoul.v1 import onboarding_pb2 as ob
from robosoul.v1 import session_pb2
from robosoul_devstack.stack import LocalStack, StackConfig
from robosoul_sdk import RoboSoulClient
from robosoul_simulation.bodies import held_out_bodies, load_body
from robosoul_simulation.virtual_robot import VirtualRobot

STAGES = {
    ob.ONBOARDING_STAGE_VALIDATE: "validate",
    ob.ONBOARDING_STAGE_DEMONSTRATE: "demos",
    ob.ONBOARDING_STAGE_ADAPT: "adapt",
    ob.ONBOARDING_STAGE_EVALUATE: "evaluate",
    ob.ONBOARDING_STAGE_PUBLISH: "publish",
}


async def onboard_one(client: RoboSoulClient, tag: str, args) -> dict:
    robot_id = f"bench-{tag}"
    robot = VirtualRobot(client, robot_id, tag=tag)
    await robot.register(replace=True)
    await client.upload_model(robot_id, robot.arm.mjcf)
    entered: dict[int, float] = {}
    t0 = time.monotonic()

    def on_progress(job: ob.OnboardingJob) -> None:
        entered.setdefault(job.stage, time.monotonic())
        print(f"\r  {tag}: {STAGES.get(job.stage, 'queued'):>8} {job.progress * 100:5.1f} % eta {job.eta_s:5.0f} s  {job.message[:60]:<60}",
              end="", file=sys.stderr, flush=True)

    job = await client.onboard(
        robot_id, on_progress=on_progress, min_success=args.min_success, demo_episodes=args.demo_episodes,
        eval_episodes=args.eval_episodes, skills=[session_pb2.SKILL_REACH],
    )
    total = time.monotonic() - t0
    print(file=sys.stderr)
    marks = sorted((t, s) for s, t in entered.items() if s in STAGES) + [(t0 + total, None)]
    stage_s = {STAGES[s]: round(marks[i + 1][0] - t, 1) for i, (t, s) in enumerate(marks[:-1])}
    r = job.report
    return {
        "body": tag,
        "dof": load_body(tag).dof,
        "state": ob.OnboardingState.Name(job.state).removeprefix("ONBOARDING_STATE_").lower(),
        "wall_s": round(total, 1),
        **{f"{k}_s": v for k, v in stage_s.items()},
        "success": r.success_rate,
        "episodes": r.episodes,
        "error_p50_mm": round(r.final_error_p50_m * 1000, 1),
        "error_p95_mm": round(r.final_error_p95_m * 1000, 1),
        "jerk": round(r.mean_jerk, 1),
        "limit_violations": r.joint_limit_violations,
        "version": job.model_version,
        "message": job.message,
    }


async def run(stack: LocalStack, args) -> list[dict]:
    key = stack.create_api_key("bench")
    rows = []
    async with RoboSoulClient(stack.gateway_target, key) as client:
        for tag in args.bodies:
            rows.append(await onboard_one(client, tag, args))
    return rows


def table(rows: list[dict]) -> str:
    head = "| body (held out) | DOF | result | wall time | demos | adapt | evaluate | publish | reach success | final error p50 / p95 |"
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for r in rows:
        lines.append(
            f"| {r['body']} | {r['dof']} | {r['state']} | {r['wall_s']:.0f} s | {r.get('demos_s', 0):.0f} s | {r.get('adapt_s', 0):.0f} s"
            f" | {r.get('evaluate_s', 0):.0f} s | {r.get('publish_s', 0):.1f} s | {r['success'] * 100:.0f} % of {r['episodes']}"
            f" | {r['error_p50_mm']} / {r['error_p95_mm']} mm |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policy", type=Path, default=Path("build/policy/generalist/policy.onnx"))
    parser.add_argument("--bodies", nargs="+", default=held_out_bodies())
    parser.add_argument("--demo-episodes", type=int, default=0, help="0: the service's default")
    parser.add_argument("--eval-episodes", type=int, default=100)
    parser.add_argument("--min-success", type=float, default=0.9)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    if not args.policy.with_suffix(".pt").exists():
        parser.error(f"no generalist checkpoint next to {args.policy}: run `make policy`")
    with tempfile.TemporaryDirectory(prefix="rs-onboard-bench-") as work:
        config = StackConfig(work_dir=Path(work), policy=args.policy, simulation=True)
        with LocalStack(config) as stack:
            rows = asyncio.run(run(stack, args))
    print(table(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0 if all(r["state"] == "succeeded" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
