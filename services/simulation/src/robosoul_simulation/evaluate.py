"""Closed-loop evaluation of a reach policy in MuJoCo physics.

    python -m robosoul_simulation.evaluate --embodiment rs-arm4 --policy build/policy/rs-arm4/policy.onnx

Each episode: the arm at rest in a random pose, a random reachable target, 50 Hz
control for `episode_s` seconds. Like a robot on the platform, the arm asks for a
16-step chunk, executes its first 8 steps, then asks again. Success: at the end the
tool tip is within `tolerance` of the target and the arm has settled (every joint
slower than `settle_speed`). Episodes run side by side and share batched policy
calls. The evaluation draws from a different random stream than the demonstrations
with the same seed, so it never replays a training episode.

From Python:

    >>> report = evaluate_policy(OnnxPolicy(path, "rs-arm4"), "rs-arm4", EvalConfig(episodes=20))
    >>> report.success_rate
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from robosoul.v1 import session_pb2
from robosoul_core.errors import InvalidArgument, NotFound, RoboSoulError
from robosoul_core.policy_io import (
    HORIZON,
    INPUT_EMBODIMENT,
    INPUT_GOAL,
    INPUT_STATE,
    MAX_DOF,
    OUTPUT_ACTIONS,
    STEP_S,
    encode_goal,
    encode_state,
)
from robosoul_simulation.arms import load_arm
from robosoul_simulation.expert import ReachExpert
from robosoul_simulation.sim_arm import SimArm

# The evaluation's random stream is [seed, EVAL_STREAM]; demos use [seed, batch index].
EVAL_STREAM = 0x5EED_E7A1


class Policy(Protocol):
    """Anything that maps contract inputs to an action chunk (absolute joint targets)."""

    embodiment_index: int

    def __call__(self, state: np.ndarray, goal: np.ndarray, embodiment: np.ndarray) -> np.ndarray: ...


class OnnxPolicy:
    """An exported policy run by onnxruntime on one CPU thread.

    The embodiment's index comes from the sidecar (`policy.json` next to the ONNX);
    without a sidecar the policy is taken to serve the embodiment at index 0.
    """

    def __init__(self, path: Path, embodiment: str):
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise NotFound(f"{path}: policy file not found (make it with `make policy`)")
        sidecar = path.with_suffix(".json")
        table = {}
        if sidecar.is_file():
            try:
                table = json.loads(sidecar.read_text(encoding="utf-8")).get("embodiments", {})
            except json.JSONDecodeError as exc:
                raise InvalidArgument(f"{sidecar}: not valid JSON ({exc})") from None
            if embodiment not in table:
                raise InvalidArgument(f"{path}: the policy does not serve embodiment {embodiment!r} (it serves {sorted(table)})")
        self.embodiment_index = int(table.get(embodiment, 0))
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise InvalidArgument(f"{path}: onnxruntime cannot load it ({exc})") from None

    def __call__(self, state: np.ndarray, goal: np.ndarray, embodiment: np.ndarray) -> np.ndarray:
        (actions,) = self.session.run([OUTPUT_ACTIONS], {INPUT_STATE: state, INPUT_GOAL: goal, INPUT_EMBODIMENT: embodiment})
        return actions


class ExpertPolicy:
    """The demonstrator behind the policy interface: the reference a policy is measured against."""

    embodiment_index = 0

    def __init__(self, embodiment: str):
        self.expert = ReachExpert(load_arm(embodiment))

    def __call__(self, state: np.ndarray, goal: np.ndarray, embodiment: np.ndarray) -> np.ndarray:
        n = self.expert.arm.n
        goals = np.array([self.expert.goal_configuration(g[:3].astype(float)) for g in goal])
        out = np.zeros((len(state), HORIZON, MAX_DOF), dtype=np.float32)
        out[:, :, :n] = self.expert.plan_batch(state[:, :n], state[:, MAX_DOF : MAX_DOF + n], goals)
        return out


@dataclass(frozen=True)
class EvalConfig:
    episodes: int = 50
    seed: int = 0
    tolerance: float = 0.02
    episode_s: float = 3.0
    replan_steps: int = 8
    settle_speed: float = 0.05
    batch: int = 64


@dataclass
class EvalReport:
    embodiment: str
    episodes: int
    tolerance_m: float
    success_rate: float
    final_error_mm: dict[str, float]
    time_to_reach_s: dict[str, float]
    reached_rate: float
    limit_violations: dict[str, int]
    mean_jerk: float
    max_joint_speed_ratio: float
    inference_ms: dict[str, float]
    wall_s: float
    failures: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    def table(self) -> str:
        e, t, lim = self.final_error_mm, self.time_to_reach_s, self.limit_violations
        rows = [
            ("embodiment", self.embodiment),
            ("episodes", f"{self.episodes}"),
            (f"success (< {self.tolerance_m * 1000:.0f} mm, settled)", f"{self.success_rate * 100:.1f} %"),
            ("final error p50 / p95 / max", f"{e['p50']:.1f} / {e['p95']:.1f} / {e['max']:.1f} mm"),
            ("time to reach p50 / p95", f"{t['p50']:.2f} / {t['p95']:.2f} s  ({self.reached_rate * 100:.0f} % reached)"),
            ("joint-limit violations", f"{lim['commanded']} commanded, {lim['measured']} measured (steps)"),
            ("mean jerk", f"{self.mean_jerk:.1f} rad/s^3"),
            ("peak joint speed / limit", f"{self.max_joint_speed_ratio:.2f}"),
            ("policy call p50 / p95", f"{self.inference_ms['p50']:.2f} / {self.inference_ms['p95']:.2f} ms (batched)"),
            ("wall time", f"{self.wall_s:.1f} s"),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)


def _percentiles(values: np.ndarray) -> dict[str, float]:
    if len(values) == 0:
        return {"p50": float("nan"), "p95": float("nan"), "max": float("nan")}
    return {"p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95)), "max": float(np.max(values))}


def evaluate_policy(policy: Policy, embodiment: str, config: EvalConfig = EvalConfig()) -> EvalReport:
    """Run `config.episodes` closed-loop reach episodes; the report says how it went."""
    if config.episodes < 1:
        raise InvalidArgument(f"episodes must be >= 1, got {config.episodes}")
    if not 1 <= config.replan_steps <= HORIZON:
        raise InvalidArgument(f"replan_steps must be in 1..{HORIZON}, got {config.replan_steps}")
    t0 = time.monotonic()
    arm = load_arm(embodiment)
    rng = np.random.default_rng([config.seed, EVAL_STREAM])
    starts = np.array([arm.sample_start(rng) for _ in range(config.episodes)])
    targets = np.array([arm.sample_target(rng) for _ in range(config.episodes)])
    sims = [SimArm(arm) for _ in range(min(config.batch, config.episodes))]
    steps = int(round(config.episode_s / STEP_S))
    n = arm.n
    final_err = np.zeros(config.episodes)
    settled = np.zeros(config.episodes, dtype=bool)
    reach_time = np.full(config.episodes, np.nan)
    commanded_violations = measured_violations = 0
    jerks, speed_ratio, call_ms = [], 0.0, []
    emb = np.full((1, 1), policy.embodiment_index, dtype=np.int64)

    for first in range(0, config.episodes, config.batch):
        idx = np.arange(first, min(first + config.batch, config.episodes))
        batch = sims[: len(idx)]
        for sim, i in zip(batch, idx, strict=True):
            sim.reset(starts[i])
            sim.set_target_marker(targets[i])
        goal = np.stack([encode_goal(session_pb2.SKILL_REACH, targets[i]) for i in idx])
        embodiment_col = np.repeat(emb, len(idx), axis=0)
        positions = np.zeros((steps + 1, len(idx), n))
        positions[0] = starts[idx]
        chunk = None
        for step in range(steps):
            k = step % config.replan_steps
            if k == 0:
                state = np.stack([encode_state(s.joint_positions(), s.joint_velocities()) for s in batch])
                tc = time.perf_counter()
                chunk = np.asarray(policy(state, goal, embodiment_col), dtype=np.float64)
                call_ms.append((time.perf_counter() - tc) * 1000)
                if chunk.shape != (len(idx), HORIZON, MAX_DOF) or not np.isfinite(chunk).all():
                    raise InvalidArgument(
                        f"the policy returned {chunk.dtype}{list(chunk.shape)} with non-finite values or the wrong shape"
                    )
            for j, sim in enumerate(batch):
                wanted = chunk[j, k, :n]
                if np.any(wanted < arm.lower - 1e-3) or np.any(wanted > arm.upper + 1e-3):
                    commanded_violations += 1
                sim.command(wanted)
                sim.advance(STEP_S)
                q = sim.joint_positions()
                positions[step + 1, j] = q
                if np.any(q < arm.lower - 1e-3) or np.any(q > arm.upper + 1e-3):
                    measured_violations += 1
                speed_ratio = max(speed_ratio, float(np.max(np.abs(sim.joint_velocities()) / arm.max_velocity)))
                i = idx[j]
                if np.isnan(reach_time[i]) and np.linalg.norm(sim.ee_position() - targets[i]) < config.tolerance:
                    reach_time[i] = (step + 1) * STEP_S
        for j, sim in enumerate(batch):
            i = idx[j]
            final_err[i] = np.linalg.norm(sim.ee_position() - targets[i])
            settled[i] = np.max(np.abs(sim.joint_velocities())) < config.settle_speed
        jerk = np.diff(positions, n=3, axis=0) / STEP_S**3
        jerks.append(np.abs(jerk).mean(axis=(0, 2)))

    success = (final_err < config.tolerance) & settled
    failures = [
        {
            "episode": int(i),
            "start": [round(float(v), 4) for v in starts[i]],
            "target": [round(float(v), 4) for v in targets[i]],
            "final_error_mm": round(float(final_err[i] * 1000), 1),
            "settled": bool(settled[i]),
        }
        for i in np.flatnonzero(~success)
    ]
    reached = reach_time[~np.isnan(reach_time)]
    return EvalReport(
        embodiment=embodiment,
        episodes=config.episodes,
        tolerance_m=config.tolerance,
        success_rate=float(success.mean()),
        final_error_mm=_percentiles(final_err * 1000),
        time_to_reach_s=_percentiles(reached),
        reached_rate=float(len(reached) / config.episodes),
        limit_violations={"commanded": commanded_violations, "measured": measured_violations},
        mean_jerk=float(np.concatenate(jerks).mean()),
        max_joint_speed_ratio=speed_ratio,
        inference_ms=_percentiles(np.array(call_ms)),
        wall_s=round(time.monotonic() - t0, 2),
        failures=failures,
    )


def main(argv: list[str] | None = None) -> int:
    d = EvalConfig()
    parser = argparse.ArgumentParser(
        prog="python -m robosoul_simulation.evaluate", description="Evaluate a reach policy closed-loop in MuJoCo."
    )
    parser.add_argument("--embodiment", default="rs-arm4", help="embodiment tag (default: %(default)s)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--policy", type=Path, help="exported policy (.onnx, with its policy.json sidecar)")
    which.add_argument("--expert", action="store_true", help="evaluate the demonstrator instead (the reference)")
    parser.add_argument("--episodes", type=int, default=d.episodes, help="episodes (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=d.seed, help="random seed (default: %(default)s)")
    parser.add_argument("--tolerance", type=float, default=d.tolerance, help="success radius in metres (default: %(default)s)")
    parser.add_argument("--min-success", type=float, default=0.9, help="exit 1 below this success rate (default: %(default)s)")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes must be >= 1, got {args.episodes}")
    if not args.tolerance > 0:
        parser.error(f"--tolerance must be > 0, got {args.tolerance}")
    if not 0 <= args.min_success <= 1:
        parser.error(f"--min-success must be in [0, 1], got {args.min_success}")
    try:
        policy = ExpertPolicy(args.embodiment) if args.expert else OnnxPolicy(args.policy, args.embodiment)
        report = evaluate_policy(
            policy, args.embodiment, EvalConfig(episodes=args.episodes, seed=args.seed, tolerance=args.tolerance)
        )
    except RoboSoulError as exc:
        parser.error(str(exc))
    print(f"evaluate {'expert' if args.expert else args.policy}:")
    print(report.table())
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
    if report.success_rate < args.min_success:
        print(f"FAIL: success {report.success_rate * 100:.1f} % < {args.min_success * 100:.1f} %", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
