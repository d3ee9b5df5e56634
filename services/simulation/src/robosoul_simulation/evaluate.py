"""Closed-loop evaluation of a policy in randomised MuJoCo physics, skill by skill.

    python -m robosoul_simulation.evaluate --embodiment rs-arm4 --policy build/policy/generalist/policy.onnx
    python -m robosoul_simulation.evaluate --embodiment gen-s14-6dof-grip --expert --skills reach pose path grasp

Each episode is one of `skills` (the same episodes as demonstrations, from a
different random stream so it never replays a training episode) on a randomised
robot (`randomize`). Like a robot on the platform, the arm asks for a 16-step
chunk, executes its first 8 steps, then asks again; episodes run side by side and
share batched policy calls, in `workers` processes (each loads the ONNX itself).
Success per skill is defined in `skills` (reach: within 2 cm and settled). The
expert runs the same episodes on the same robots, and the report says how far the
policy's tool tip strays from the expert's path (tracking error), how smooth the
commands are (mean |jerk|) and how often commands or joints pass the limits.

From Python:

    >>> report = evaluate_policy("build/policy/generalist/policy.onnx", "gen-s16-7dof", skills=("reach",), episodes=50)
    >>> report.success_rate, report.to_proto()
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from robosoul.v1 import onboarding_pb2
from robosoul_core.errors import InvalidArgument, NotFound, RoboSoulError
from robosoul_core.policy_io import HORIZON, INPUT_EMBODIMENT, INPUT_GOAL, INPUT_STATE, OUTPUT_ACTIONS, STEP_S
from robosoul_simulation import parallel
from robosoul_simulation.bodies import Arm, BodySource, body_source
from robosoul_simulation.randomize import Randomization
from robosoul_simulation.rollout import BatchResult, RolloutConfig, run_episodes
from robosoul_simulation.skills import SKILLS, TOLERANCE_M, skills_for

# The evaluation's random stream is [seed, EVAL_STREAM, ...]; demos use [seed, crc32(tag), ...].
EVAL_STREAM = 0x5EED_E7A1
EVAL_EPISODE_S = {"reach": 5.0, "pose": 5.0, "path": 7.0, "grasp": 10.0}
# The tool tip counts as moving (for the tracking error) above this speed, m/s.
MOVING_SPEED = 0.01


class Policy(Protocol):
    """Anything that maps contract inputs to an action chunk (absolute joint targets)."""

    embodiment_index: int

    def __call__(self, state: np.ndarray, goal: np.ndarray, embodiment: np.ndarray) -> np.ndarray: ...


def sidecar_index(path: Path, embodiment: str) -> int:
    """The embodiment's index from the policy's sidecar (policy.json or <name>.json next to it).

    Without a sidecar the policy is taken to serve the embodiment at index 0.
    """
    path = Path(path)
    for sidecar in (path.with_suffix(".json"), path.with_name("policy.json")):
        if sidecar.is_file():
            try:
                table = json.loads(sidecar.read_text(encoding="utf-8")).get("embodiments", {})
            except json.JSONDecodeError as exc:
                raise InvalidArgument(f"{sidecar}: not valid JSON ({exc})") from None
            if embodiment not in table:
                raise InvalidArgument(f"{path}: the policy does not serve embodiment {embodiment!r} (it serves {sorted(table)})")
            return int(table[embodiment])
    return 0


class OnnxPolicy:
    """An exported policy run by onnxruntime on one CPU thread."""

    def __init__(self, path: Path, embodiment: str | None = None, *, embodiment_index: int | None = None):
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise NotFound(f"{path}: policy file not found (make it with `make policy`)")
        self.path = path
        if embodiment_index is None:
            embodiment_index = sidecar_index(path, embodiment) if embodiment is not None else 0
        self.embodiment_index = int(embodiment_index)
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
    """Stands for the demonstrator itself: evaluating it gives the reference figures."""

    embodiment_index = 0


@functools.lru_cache(maxsize=4)
def _onnx(path: str, index: int) -> OnnxPolicy:
    return OnnxPolicy(Path(path), embodiment_index=index)


@dataclass(frozen=True)
class EvalConfig:
    # Episodes per skill.
    episodes: int = 50
    seed: int = 0
    tolerance: float = TOLERANCE_M
    # Seconds per episode for every skill (None: EVAL_EPISODE_S per skill).
    episode_s: float | None = None
    replan_steps: int = 8
    settle_speed: float = 0.05
    # Episodes simulated side by side in one job.
    batch: int = 64
    skills: tuple[str, ...] = ("reach",)
    randomize: bool = True
    # Worker processes (None: one per CPU).
    workers: int | None = None
    # Also run the expert on the same episodes for the tracking error.
    compare_expert: bool = True

    def rollout(self) -> RolloutConfig:
        durations = {s: self.episode_s for s in SKILLS} if self.episode_s is not None else dict(EVAL_EPISODE_S)
        return RolloutConfig(
            replan_steps=self.replan_steps,
            randomization=Randomization() if self.randomize else Randomization.off(),
            episode_s=durations,
            tolerance=self.tolerance,
            settle_speed=self.settle_speed,
            fit_to_arm=self.episode_s is None,
        )


@dataclass
class SkillReport:
    skill: str
    episodes: int
    success_rate: float
    final_error_mm: dict[str, float]
    tracking_error_m: float
    mean_jerk: float
    limit_violations: dict[str, int]
    expert_success_rate: float | None
    failures: list[dict] = field(default_factory=list)


@dataclass
class EvalReport:
    embodiment: str
    episodes: int
    tolerance_m: float
    success_rate: float
    final_error_mm: dict[str, float]
    tracking_error_m: float
    mean_jerk: float
    limit_violations: dict[str, int]
    inference_ms: dict[str, float]
    wall_s: float
    by_skill: dict[str, SkillReport] = field(default_factory=dict)
    failures: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    def to_proto(self) -> onboarding_pb2.EvaluationReport:
        """The report as `robosoul.v1.EvaluationReport` (the onboarding job carries it)."""
        return onboarding_pb2.EvaluationReport(
            episodes=self.episodes,
            success_rate=self.success_rate,
            final_error_p50_m=_finite(self.final_error_mm["p50"]) / 1000,
            final_error_p95_m=_finite(self.final_error_mm["p95"]) / 1000,
            tracking_error_m=_finite(self.tracking_error_m),
            mean_jerk=_finite(self.mean_jerk),
            joint_limit_violations=int(self.limit_violations["commanded"] + self.limit_violations["measured"]),
            success_by_skill={s: r.success_rate for s, r in self.by_skill.items()},
        )

    def table(self) -> str:
        e, lim = self.final_error_mm, self.limit_violations
        rows = [
            ("embodiment", self.embodiment),
            ("episodes", f"{self.episodes}"),
            ("success", f"{self.success_rate * 100:.1f} %"),
        ]
        for s, r in self.by_skill.items():
            ref = f" (expert {r.expert_success_rate * 100:.0f} %)" if r.expert_success_rate is not None else ""
            rows.append(
                (f"  {s}", f"{r.success_rate * 100:.1f} % of {r.episodes}{ref}, error p50 {r.final_error_mm['p50']:.1f} mm, "
                 f"tracking {r.tracking_error_m * 1000:.1f} mm")
            )
        rows += [
            ("final error p50 / p95 / max", f"{e['p50']:.1f} / {e['p95']:.1f} / {e['max']:.1f} mm"),
            ("tracking error vs expert", f"{self.tracking_error_m * 1000:.1f} mm"),
            ("joint-limit violations", f"{lim['commanded']} commanded, {lim['measured']} measured (steps)"),
            ("mean jerk (commands)", f"{self.mean_jerk:.1f} rad/s^3"),
            ("policy call p50 / p95", f"{self.inference_ms['p50']:.2f} / {self.inference_ms['p95']:.2f} ms (batched)"),
            ("wall time", f"{self.wall_s:.1f} s"),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)


def _finite(v: float) -> float:
    return float(v) if np.isfinite(v) else 0.0


def _percentiles(values: np.ndarray) -> dict[str, float]:
    if len(values) == 0:
        return {"p50": float("nan"), "p95": float("nan"), "max": float("nan")}
    return {"p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95)), "max": float(np.max(values))}


@dataclass(frozen=True)
class EvalJob:
    source: BodySource
    skill: str
    seeds: tuple[tuple[int, ...], ...]
    rollout: RolloutConfig
    policy_path: str | None  # None: the expert drives
    embodiment_index: int


def _run_job(job: EvalJob) -> BatchResult:
    arm = parallel.cached_arm(job.source)
    policy = _onnx(job.policy_path, job.embodiment_index) if job.policy_path is not None else None
    return run_episodes(arm, job.skill, job.seeds, job.rollout, policy=policy, embodiment_index=job.embodiment_index, record_trace=True)


def eval_seed(seed: int, tag: str, skill: str, index: int) -> tuple[int, ...]:
    return (seed, EVAL_STREAM, zlib.crc32(tag.encode()), list(SKILLS).index(skill), index)


def evaluate_policy(
    policy: str | Path | Policy,
    arm: str | Arm,
    embodiment_index: int | EvalConfig | None = None,
    *,
    skills: Sequence[str] | None = None,
    episodes: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    randomize: bool | None = None,
    config: EvalConfig | None = None,
) -> EvalReport:
    """Run `episodes` closed-loop episodes per skill; the report says how it went.

    `policy` is an ONNX path (each worker loads it), an `OnnxPolicy`, another
    in-process `Policy` (then one worker), or an `ExpertPolicy` (the reference).
    `embodiment_index` defaults to the sidecar's entry for the arm (or the policy's own).
    The older call `evaluate_policy(policy, tag, EvalConfig(...))` still works.
    """
    if isinstance(embodiment_index, EvalConfig):
        config, embodiment_index = embodiment_index, None
    config = config or EvalConfig()
    overrides = {
        k: v
        for k, v in (("skills", tuple(skills) if skills is not None else None), ("episodes", episodes), ("seed", seed),
                     ("workers", workers), ("randomize", randomize))
        if v is not None
    }  # fmt: skip
    config = replace(config, **overrides)
    if config.episodes < 1:
        raise InvalidArgument(f"episodes must be >= 1, got {config.episodes}")
    if not 1 <= config.replan_steps <= HORIZON:
        raise InvalidArgument(f"replan_steps must be in 1..{HORIZON}, got {config.replan_steps}")
    t0 = time.monotonic()
    arm = arm if isinstance(arm, Arm) else parallel.cached_arm(body_source(arm))
    in_process = None
    path: str | None = None
    if isinstance(policy, ExpertPolicy):
        index = 0
    elif isinstance(policy, str | Path):
        path = str(policy)
        index = embodiment_index if embodiment_index is not None else sidecar_index(Path(path), arm.tag)
        OnnxPolicy(Path(path), embodiment_index=index)  # fail here, not in a worker, if it does not load (not cached: a service runs many jobs)
    elif isinstance(policy, OnnxPolicy):
        path, index = str(policy.path), embodiment_index if embodiment_index is not None else policy.embodiment_index
    else:
        in_process, index = policy, embodiment_index if embodiment_index is not None else policy.embodiment_index
    skills_run = skills_for(arm, config.skills)
    if not skills_run:
        raise InvalidArgument(f"{arm.tag} can do none of the skills {list(config.skills)} (grasp needs a gripper)")
    rollout = config.rollout()
    workers = parallel.default_workers() if config.workers is None else config.workers
    if workers < 1:
        raise InvalidArgument(f"workers must be >= 1, got {workers}")
    # Enough jobs per skill to keep every worker busy, at most `batch` episodes each.
    per_job = max(1, min(config.batch, -(-config.episodes // workers)))
    jobs: list[EvalJob] = []
    for skill in skills_run:
        for lo in range(0, config.episodes, per_job):
            seeds = tuple(eval_seed(config.seed, arm.tag, skill, i) for i in range(lo, min(lo + per_job, config.episodes)))
            jobs.append(EvalJob(arm.source, skill, seeds, rollout, path, index))
    expert_policy = isinstance(policy, ExpertPolicy)
    compare = config.compare_expert and not expert_policy
    if in_process is not None:
        runs = [run_episodes(arm, j.skill, j.seeds, rollout, policy=in_process, embodiment_index=index, record_trace=True) for j in jobs]
        reference = parallel.map_jobs(_run_job, [replace(j, policy_path=None) for j in jobs], workers=workers) if compare else runs
    else:
        # The policy's episodes and the expert's on the same robots, in one pool.
        everything = jobs + ([replace(j, policy_path=None) for j in jobs] if compare else [])
        results = parallel.map_jobs(_run_job, everything, workers=workers)
        runs, reference = results[: len(jobs)], (results[len(jobs) :] if compare else results[: len(jobs)])
    return _report(arm, config, jobs, runs, reference, not compare, time.monotonic() - t0)


def _jerk(commanded: np.ndarray, chain: np.ndarray) -> np.ndarray:
    """Mean |third derivative| of the commanded joints per episode (rad/s^3)."""
    if len(commanded) < 4:
        return np.zeros(commanded.shape[1])
    jerk = np.diff(commanded[:, :, chain], n=3, axis=0) / STEP_S**3
    return np.abs(jerk).mean(axis=(0, 2))


def _tracking(ee: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Mean distance of the tool tip from the reference's, while the reference moves."""
    speed = np.linalg.norm(np.diff(ref, axis=0), axis=2) / STEP_S
    moving = speed > MOVING_SPEED
    dist = np.linalg.norm(ee[1:] - ref[1:], axis=2)
    out = np.where(moving.any(axis=0), (dist * moving).sum(axis=0) / np.maximum(moving.sum(axis=0), 1), dist.mean(axis=0))
    return out


def _report(arm, config, jobs, runs, reference, no_reference, wall) -> EvalReport:
    by_skill: dict[str, SkillReport] = {}
    all_err, all_track, all_jerk, failures, call_ms = [], [], [], [], []
    violations = {"commanded": 0, "measured": 0}
    for skill in dict.fromkeys(j.skill for j in jobs):
        idx = [i for i, j in enumerate(jobs) if j.skill == skill]
        outcomes = [o for i in idx for o in runs[i].outcomes]
        ref_outcomes = [o for i in idx for o in reference[i].outcomes]
        err = np.array([o.error_m for o in outcomes])
        success = np.array([o.success for o in outcomes])
        track = np.concatenate([_tracking(runs[i].ee, reference[i].ee) for i in idx])
        jerk = np.concatenate([_jerk(runs[i].commanded, arm.chain) for i in idx])
        lim = {
            "commanded": sum(runs[i].commanded_violations for i in idx),
            "measured": sum(runs[i].measured_violations for i in idx),
        }
        fails = [
            {"skill": skill, "episode": k, "final_error_mm": round(float(o.error_m * 1000), 1), **o.detail}
            for k, o in enumerate(outcomes)
            if not o.success
        ]
        by_skill[skill] = SkillReport(
            skill=skill,
            episodes=len(outcomes),
            success_rate=float(success.mean()),
            final_error_mm=_percentiles(err * 1000),
            tracking_error_m=float(track.mean()),
            mean_jerk=float(jerk.mean()),
            limit_violations=lim,
            expert_success_rate=None if no_reference else float(np.mean([o.success for o in ref_outcomes])),
            failures=fails,
        )
        all_err.append(err)
        all_track.append(track)
        all_jerk.append(jerk)
        failures += fails
        for k in violations:
            violations[k] += lim[k]
        for i in idx:
            call_ms += runs[i].call_ms
    episodes = sum(r.episodes for r in by_skill.values())
    return EvalReport(
        embodiment=arm.tag,
        episodes=episodes,
        tolerance_m=config.tolerance,
        success_rate=float(sum(s.success_rate * s.episodes for s in by_skill.values()) / episodes),
        final_error_mm=_percentiles(np.concatenate(all_err) * 1000),
        tracking_error_m=float(np.concatenate(all_track).mean()),
        mean_jerk=float(np.concatenate(all_jerk).mean()),
        limit_violations=violations,
        inference_ms=_percentiles(np.array(call_ms)),
        wall_s=round(wall, 2),
        by_skill=by_skill,
        failures=failures,
    )


def main(argv: list[str] | None = None) -> int:
    d = EvalConfig()
    parser = argparse.ArgumentParser(
        prog="python -m robosoul_simulation.evaluate", description="Evaluate a policy closed-loop in randomised MuJoCo physics."
    )
    parser.add_argument("--embodiment", default="rs-arm4", help="body tag (default: %(default)s)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--policy", type=Path, help="exported policy (.onnx, with its policy.json sidecar)")
    which.add_argument("--expert", action="store_true", help="evaluate the demonstrator instead (the reference)")
    parser.add_argument("--skills", nargs="+", default=list(d.skills), choices=list(SKILLS), help="skills (default: reach)")
    parser.add_argument("--episodes", type=int, default=d.episodes, help="episodes per skill (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=d.seed, help="random seed (default: %(default)s)")
    parser.add_argument("--tolerance", type=float, default=d.tolerance, help="success radius in metres (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: one per CPU)")
    parser.add_argument("--no-randomize", action="store_true", help="simulate the nominal robot")
    parser.add_argument("--min-success", type=float, default=0.9, help="exit 1 below this success rate (default: %(default)s)")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes must be >= 1, got {args.episodes}")
    if not args.tolerance > 0:
        parser.error(f"--tolerance must be > 0, got {args.tolerance}")
    if not 0 <= args.min_success <= 1:
        parser.error(f"--min-success must be in [0, 1], got {args.min_success}")
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    config = EvalConfig(
        episodes=args.episodes,
        seed=args.seed,
        tolerance=args.tolerance,
        skills=tuple(dict.fromkeys(args.skills)),
        randomize=not args.no_randomize,
        workers=parallel.default_workers() if args.workers is None else args.workers,
    )
    try:
        policy = ExpertPolicy() if args.expert else args.policy
        if not args.expert and not args.policy.is_file():
            raise NotFound(f"{args.policy}: policy file not found (make it with `make policy`)")
        report = evaluate_policy(policy, args.embodiment, config=config)
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
