"""`robosoul`: the vendor's command line (API key from ROBOSOUL_API_KEY, gateway from ROBOSOUL_URL).

    robosoul robots
    robosoul upload-model arm-1 arm.xml [--asset meshes/link1.stl ...]
    robosoul onboard arm-1 [--mjcf arm.xml] [--min-success 0.9]      # progress bar with stage and ETA
    robosoul watch JOB_ID
    robosoul stop arm-1 --reason "person in the way"
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

from robosoul.v1 import onboarding_pb2, session_pb2
from robosoul_sdk.client import RoboSoulClient
from robosoul_sdk.errors import RoboSoulError

SKILLS = {"reach": session_pb2.SKILL_REACH, "pose": session_pb2.SKILL_MOVE_TO_POSE, "path": session_pb2.SKILL_FOLLOW_PATH,
          "grasp": session_pb2.SKILL_GRASP_AND_PLACE}


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class ProgressBar:
    """One line, redrawn in place on a terminal (one line per update otherwise)."""

    def __init__(self, stream=sys.stderr, width: int = 30):
        self.stream, self.width = stream, width
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.started = time.monotonic()
        self._last = ""

    def render(self, job: onboarding_pb2.OnboardingJob) -> str:
        filled = int(round(job.progress * self.width))
        stage = onboarding_pb2.OnboardingStage.Name(job.stage)[17:].lower()
        eta = f"ETA {_duration(job.eta_s)}" if job.eta_s > 0 else f"{_duration(time.monotonic() - self.started)} elapsed"
        return (f"[{'#' * filled}{'.' * (self.width - filled)}] {job.progress:4.0%}  {stage:<11} "
                f"{job.stage_progress:4.0%} of stage  {eta}  {job.message}")

    def update(self, job: onboarding_pb2.OnboardingJob) -> None:
        line = self.render(job)
        if line == self._last:
            return
        self._last = line
        self.stream.write(("\r\x1b[2K" + line) if self.tty else line + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")


def describe(job: onboarding_pb2.OnboardingJob) -> str:
    state = onboarding_pb2.OnboardingState.Name(job.state)[17:]
    lines = [f"job {job.job_id}: {state} — {job.message}"]
    r = job.report
    if r.episodes:
        lines.append(
            f"evaluation: {r.success_rate:.0%} success over {r.episodes} episodes, final error p50 {r.final_error_p50_m * 1000:.1f} mm, "
            f"p95 {r.final_error_p95_m * 1000:.1f} mm, mean jerk {r.mean_jerk:.1f} rad/s^3, joint-limit violations {r.joint_limit_violations}"
        )
    if job.model_version:
        lines.append(f"policy {job.model_version} (embodiment {job.embodiment_tag}) now drives {job.robot_id}")
    return "\n".join(lines)


def read_model(args: argparse.Namespace) -> tuple[str, dict[str, bytes]] | None:
    """The MJCF and its asset files, keyed by their paths relative to the MJCF."""
    if not getattr(args, "mjcf", None):
        return None
    mjcf = Path(args.mjcf)
    assets = {}
    for name in args.asset:
        path = Path(name)
        key = str(path.relative_to(mjcf.parent)) if path.is_relative_to(mjcf.parent) else path.name
        assets[key] = path.read_bytes()
    return mjcf.read_text(), assets


async def run(args: argparse.Namespace, url: str, key: str, model: tuple[str, dict[str, bytes]] | None) -> int:
    async with RoboSoulClient(url, key, tls=args.tls) as client:
        if args.command == "robots":
            for robot in await client.list_robots():
                tag = robot.embodiment.embodiment_tag or "(no policy yet)"
                print(f"{robot.robot_id:<24} {len(robot.embodiment.joints)} joints  {tag}")
            return 0
        if args.command == "stop":
            delivered = await client.stop_robot(args.robot, args.reason)
            print("stopped" if delivered else "no live session received the stop")
            return 0 if delivered else 1
        if model is not None:
            report = await client.upload_model(args.robot, model[0], assets=model[1])
            chains = "; ".join(f"{len(c.joints)} joints to {c.end_effector_site or '?'}" + (f" + gripper {c.gripper_joint}" if c.gripper_joint else "")
                               for c in report.chains)
            print(f"model accepted: {chains}" + "".join(f"\n  warning: {w}" for w in report.warnings), file=sys.stderr)
            if args.command == "upload-model":
                return 0
        if args.command == "onboard":
            job = await client.start_onboarding(
                args.robot, min_success=args.min_success, demo_episodes=args.demo_episodes, eval_episodes=args.eval_episodes,
                skills=[SKILLS[s] for s in args.skill], allow_fine_tune=args.fine_tune,
            )
            print(f"onboarding job {job.job_id} started", file=sys.stderr)
            if args.detach:
                print(job.job_id)
                return 0
            job_id = job.job_id
        else:
            job_id = args.job_id
        bar = ProgressBar()
        final = None
        async for job in client.watch_onboarding(job_id):
            bar.update(job)
            final = job
        bar.done()
        print(describe(final))
        return 0 if final.state == onboarding_pb2.ONBOARDING_STATE_SUCCEEDED else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="robosoul", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default=None, help="gateway host:port (default: $ROBOSOUL_URL or localhost:50051)")
    p.add_argument("--tls", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("robots", help="list your robots")
    up = sub.add_parser("upload-model", help="upload and validate a robot's MJCF")
    up.add_argument("robot")
    up.add_argument("mjcf")
    up.add_argument("--asset", action="append", default=[], help="a file the MJCF refers to (repeat)")
    on = sub.add_parser("onboard", help="adapt the policy to a robot, with a progress bar")
    on.add_argument("robot")
    on.add_argument("--mjcf", help="upload this model first")
    on.add_argument("--asset", action="append", default=[])
    on.add_argument("--min-success", type=float, default=0.9)
    on.add_argument("--demo-episodes", type=int, default=0)
    on.add_argument("--eval-episodes", type=int, default=0)
    on.add_argument("--skill", action="append", choices=sorted(SKILLS), default=[])
    on.add_argument("--fine-tune", action="store_true")
    on.add_argument("--detach", action="store_true", help="print the job id and return")
    watch = sub.add_parser("watch", help="follow an onboarding job")
    watch.add_argument("job_id")
    stop = sub.add_parser("stop", help="emergency stop a robot")
    stop.add_argument("robot")
    stop.add_argument("--reason", default="robosoul stop")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    key = os.environ.get("ROBOSOUL_API_KEY", "")
    if not key:
        print("robosoul: set ROBOSOUL_API_KEY to your API key", file=sys.stderr)
        return 2
    url = args.url or os.environ.get("ROBOSOUL_URL", "localhost:50051")
    try:
        model = read_model(args)
    except OSError as err:
        print(f"robosoul: cannot read {err.filename}: {err.strerror}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(run(args, url, key, model))
    except RoboSoulError as err:
        print(f"robosoul: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
