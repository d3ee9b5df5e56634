"""Expert demonstrations of every skill on any body, collected in MuJoCo physics.

    python -m robosoul_simulation.demos --embodiment rs-arm4 --out build/demos/rs-arm4.npz
    python -m robosoul_simulation.demos --embodiment training --out build/demos/training.npz \\
        --skills reach pose path grasp --workers 2
    python -m robosoul_simulation.demos --embodiment gym-pusher novel-s1-6dof --out build/demos/held-out/

``--embodiment`` takes tags, or ``training`` / ``held-out`` for the registry's lists.
``--out`` ending in ``.npz`` writes one file for all bodies (embodiment index =
position in the list); otherwise a directory with one ``<tag>.npz`` per body (each
its own index 0). From Python: `collect(arm, skills=..., episodes=...)`.

Each episode (see `skills`) starts from a random pose on a randomised robot
(`randomize`: masses, friction, servo gains, command latency, sensor noise) and the
expert drives it the way the policy will (8 of 16 steps, then a new chunk); every
control step records (observed state, goal) -> the expert's chunk from that state.
DART-style noise: in most episodes each executed chunk is offset by a random joint
error, so the data also shows how to get back on track from where the expert itself
would never be. Samples of an arm resting on its goal are thinned.

The .npz (np.savez_compressed, loads with allow_pickle=False) holds the policy contract's
arrays (robosoul_core.policy_io) and metadata:

    state [N, 24] float32, goal [N, 24] float32, embodiment [N, 1] int64,
    actions [N, 16, 8] float32, episode [N] int32 (unique in the file),
    skill [N] int32 (robosoul.v1.Skill), embodiment_tags [E] str (index = embodiment
    value), embodiment_dof [E] int64, joint_names [E, 8] str ('' = padding),
    kinematics [E, KIN_DIM] float32 (each body's chain, policy_io.pack_kinematics),
    skills [S] str, tag str (the tags, comma-separated), seed int64, episodes int64
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from robosoul_core.errors import InvalidArgument, RoboSoulError
from robosoul_core.policy_io import (
    INPUT_EMBODIMENT,
    INPUT_GOAL,
    INPUT_STATE,
    KIN_DIM,
    MAX_DOF,
    OUTPUT_ACTIONS,
    check_arrays,
)
from robosoul_simulation import parallel
from robosoul_simulation.bodies import Arm, BodySource, body_source, held_out_bodies, training_bodies
from robosoul_simulation.randomize import Randomization
from robosoul_simulation.rollout import RolloutConfig, run_episodes
from robosoul_simulation.skills import SKILLS, skills_for

Progress = Callable[[int, int], None]
# Episodes per skill and body by default: enough for the generalist, and the whole
# training set (23 bodies) in a few minutes on 2 cores.
DEFAULT_EPISODES = {"reach": 100, "pose": 40, "path": 30, "grasp": 30}
SKILL_ORDER = tuple(SKILLS)


@dataclass(frozen=True)
class DemoConfig:
    embodiment: str = "rs-arm4"
    # Episodes per skill per body (None: DEFAULT_EPISODES).
    episodes: int | None = None
    seed: int = 0
    skills: tuple[str, ...] = ("reach",)
    # Episodes simulated side by side in one job.
    batch: int = 25
    replan_steps: int = 8
    # Share of episodes with execution noise, and the largest per-joint noise (rad).
    noise_fraction: float = 0.7
    noise_max: float = 0.04
    # Share of resting-on-goal samples kept.
    rest_keep: float = 0.25
    # Share of reach episodes whose target jumps once, mid-motion.
    reach_switch_share: float = 0.5
    randomization: Randomization = field(default_factory=Randomization)
    episode_s: dict[str, float] | None = None
    workers: int = 1

    def episodes_for(self, skill: str) -> int:
        return self.episodes if self.episodes is not None else DEFAULT_EPISODES[skill]

    def rollout(self) -> RolloutConfig:
        return RolloutConfig(
            replan_steps=self.replan_steps,
            randomization=self.randomization,
            episode_s=self.episode_s,
            noise_fraction=self.noise_fraction,
            noise_max=self.noise_max,
            rest_keep=self.rest_keep,
            stagger=True,
            fit_to_arm=self.episode_s is None,
            reach_switch_share=self.reach_switch_share,
        )


@dataclass(frozen=True)
class DemoJob:
    """One batch of episodes of one skill on one body (picklable: goes to a worker)."""

    source: BodySource
    skill: str
    seeds: tuple[tuple[int, ...], ...]
    first_episode: int
    rollout: RolloutConfig


def _run_job(job: DemoJob) -> dict[str, np.ndarray]:
    arm = parallel.cached_arm(job.source)
    r = run_episodes(arm, job.skill, job.seeds, job.rollout, record_demos=True)
    return {
        INPUT_STATE: r.state,
        INPUT_GOAL: r.goal,
        OUTPUT_ACTIONS: r.actions,
        "episode": r.episode + job.first_episode,
        "skill": np.full(len(r.episode), SKILLS[job.skill], dtype=np.int32),
        # The expert's success where its execution was not perturbed (DART noise ends
        # episodes off target on purpose); NaN-free: -1 marks perturbed episodes.
        "success": np.array([-1 if o.detail["execution_noise"] else int(o.success) for o in r.outcomes]),
    }


def episode_seed(seed: int, tag: str, skill: str, index: int) -> tuple[int, ...]:
    """The random stream of one demonstration episode."""
    return (seed, zlib.crc32(tag.encode()), SKILL_ORDER.index(skill), index)


def _jobs(sources: Sequence[BodySource], arms: Sequence[Arm], config: DemoConfig) -> list[tuple[int, DemoJob]]:
    jobs, first = [], 0
    rollout = config.rollout()
    for b, (source, arm) in enumerate(zip(sources, arms, strict=True)):
        skills = skills_for(arm, config.skills)
        if not skills:
            raise InvalidArgument(f"{arm.tag}: no skills this body can do among {list(config.skills)} (grasp needs a gripper)")
        for skill in skills:
            count = config.episodes_for(skill)
            for lo in range(0, count, config.batch):
                idx = range(lo, min(lo + config.batch, count))
                seeds = tuple(episode_seed(config.seed, source.tag, skill, i) for i in idx)
                jobs.append((b, DemoJob(source, skill, seeds, first + lo, rollout)))
            first += count
    return jobs


def collect_many(
    bodies: Sequence[str | Arm], config: DemoConfig = DemoConfig(), progress: Progress | None = None
) -> list[dict[str, np.ndarray]]:
    """Demonstrations for several bodies in one pool of workers; one dict per body."""
    if config.episodes is not None and config.episodes < 1:
        raise InvalidArgument(f"episodes must be >= 1, got {config.episodes}")
    if not config.skills:
        raise InvalidArgument("no skills asked for")
    arms = [b if isinstance(b, Arm) else parallel.cached_arm(body_source(b)) for b in bodies]
    for arm in arms:
        if arm.n > MAX_DOF:
            raise InvalidArgument(f"{arm.tag} has {arm.n} joints; the policy serves at most {MAX_DOF}")
    sources = [a.source for a in arms]
    jobs = _jobs(sources, arms, config)
    results = parallel.map_jobs(
        _run_job, [j for _, j in jobs], workers=config.workers, progress=progress, weights=[len(j.seeds) for _, j in jobs]
    )
    out = []
    for b, arm in enumerate(arms):
        parts = [r for (owner, _), r in zip(jobs, results, strict=True) if owner == b]
        data = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else {}
        clean = data.pop("success") if parts else np.zeros(0)
        clean = clean[clean >= 0]
        data["success_rate"] = np.array(float(clean.mean()) if len(clean) else float("nan"))
        data["tag"] = arm.tag
        data["joint_names"] = np.array(arm.joint_names)
        data["kinematics"] = arm.kinematics.chain_vector()
        out.append(data)
    return out


def collect(
    arm: str | Arm,
    *,
    skills: Sequence[str] = ("reach",),
    episodes: int | None = None,
    seed: int = 0,
    workers: int | None = None,
    randomization: Randomization | None = None,
    embodiment_index: int = 0,
    progress: Progress | None = None,
    config: DemoConfig | None = None,
) -> dict[str, np.ndarray]:
    """Demonstrations of `skills` on one body, as the arrays `save` writes.

    `episodes` per skill (default DEFAULT_EPISODES); grasp is skipped for bodies
    without a gripper. `workers` defaults to one per CPU.
    """
    base = config or DemoConfig()
    config = replace(
        base,
        skills=tuple(skills),
        episodes=episodes if episodes is not None else base.episodes,
        seed=seed,
        workers=parallel.default_workers() if workers is None else workers,
        randomization=randomization if randomization is not None else base.randomization,
    )
    (data,) = collect_many([arm], config, progress)
    return assemble([data], config, embodiment_indices=[embodiment_index])


def assemble(parts: Sequence[dict[str, np.ndarray]], config: DemoConfig, embodiment_indices: Sequence[int] | None = None) -> dict[str, np.ndarray]:
    """One file's arrays from per-body parts (embodiment index = position, unless given)."""
    indices = list(embodiment_indices) if embodiment_indices is not None else list(range(len(parts)))
    keys = (INPUT_STATE, INPUT_GOAL, OUTPUT_ACTIONS, "episode", "skill")
    data = {k: np.concatenate([p[k] for p in parts]) for k in keys}
    data[INPUT_EMBODIMENT] = np.concatenate([np.full((len(p["episode"]), 1), i, dtype=np.int64) for p, i in zip(parts, indices, strict=True)])
    tags = [str(p["tag"]) for p in parts]
    table = [""] * (max(indices) + 1)
    names = np.full((len(table), MAX_DOF), "", dtype=object)
    dof = np.zeros(len(table), dtype=np.int64)
    kinematics = np.zeros((len(table), KIN_DIM), dtype=np.float32)
    for p, i in zip(parts, indices, strict=True):
        table[i] = str(p["tag"])
        kinematics[i] = p["kinematics"]
        joints = [str(j) for j in p["joint_names"]]
        names[i, : len(joints)] = joints
        dof[i] = len(joints)
    data["embodiment_tags"] = np.array(table)
    data["embodiment_dof"] = dof
    data["joint_names"] = names.astype(str)
    data["kinematics"] = kinematics
    data["skills"] = np.array(list(config.skills))
    data["tag"] = np.array(",".join(tags))
    data["seed"] = np.array(config.seed, dtype=np.int64)
    data["episodes"] = np.array(len(np.unique(data["episode"])), dtype=np.int64)
    return data


def generate(config: DemoConfig, progress: Progress | None = None) -> dict[str, np.ndarray]:
    """Demonstrations for `config.embodiment` (the older entry point; see `collect`)."""
    (data,) = collect_many([config.embodiment], config, progress)
    return assemble([data], config)


def save(path: Path, data: dict[str, np.ndarray]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    # Compressed: padding and unused goal slots are mostly zeros (about 3x smaller).
    np.savez_compressed(tmp, **data)
    tmp.replace(path)


class StderrProgress:
    """A one-line progress bar with rate and ETA on stderr."""

    def __init__(self, label: str, unit: str = "episodes", clock: Callable[[], float] = time.monotonic):
        self.label, self.unit, self.clock = label, unit, clock
        self.t0 = clock()

    def __call__(self, done: int, total: int) -> None:
        dt = max(self.clock() - self.t0, 1e-6)
        rate = done / dt
        eta = (total - done) / rate if rate > 0 else 0.0
        width = 24
        filled = int(width * done / max(total, 1))
        end = "\n" if done == total else ""
        print(
            f"\r{self.label}: [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {self.unit}, "
            f"{rate:.1f} {self.unit}/s, eta {eta:.0f} s   ",
            end=end,
            file=sys.stderr,
            flush=True,
        )


def expand_tags(tags: Sequence[str]) -> list[str]:
    out: list[str] = []
    for t in tags:
        out.extend(training_bodies() if t == "training" else held_out_bodies() if t == "held-out" else [t])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m robosoul_simulation.demos", description="Collect expert demonstrations in MuJoCo."
    )
    parser.add_argument(
        "--embodiment", nargs="+", default=["rs-arm4"], help="body tags, or 'training' / 'held-out' (default: rs-arm4)"
    )
    parser.add_argument("--out", type=Path, required=True, help="output .npz (all bodies), or a directory (one .npz per body)")
    parser.add_argument("--skills", nargs="+", default=["reach"], choices=list(SKILLS), help="skills (default: reach)")
    parser.add_argument("--episodes", type=int, help=f"episodes per skill and body (default: {DEFAULT_EPISODES})")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: one per CPU)")
    parser.add_argument("--no-randomize", action="store_true", help="simulate the nominal robot (no domain randomisation)")
    args = parser.parse_args(argv)
    if args.episodes is not None and args.episodes < 1:
        parser.error(f"--episodes must be >= 1, got {args.episodes}")
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    tags = expand_tags(args.embodiment)
    config = DemoConfig(
        embodiment=tags[0],
        episodes=args.episodes,
        seed=args.seed,
        skills=tuple(dict.fromkeys(args.skills)),
        workers=parallel.default_workers() if args.workers is None else args.workers,
        randomization=Randomization.off() if args.no_randomize else Randomization(),
    )
    t0 = time.monotonic()
    try:
        parts = collect_many(tags, config, progress=StderrProgress(f"demos {len(tags)} bod{'y' if len(tags) == 1 else 'ies'}"))
    except RoboSoulError as e:
        parser.error(str(e))
    if args.out.suffix == ".npz":
        files = [(args.out, assemble(parts, config))]
    else:
        files = [(args.out / f"{p['tag']}.npz", assemble([p], config)) for p in parts]
    for path, data in files:
        check_arrays(data)
        save(path, data)
    n = sum(len(d[INPUT_STATE]) for _, d in files)
    episodes = sum(int(d["episodes"]) for _, d in files)
    rates = ", ".join(f"{p['tag']} {float(p['success_rate']) * 100:.0f} %" for p in parts)
    print(f"expert success (episodes without execution noise): {rates}", file=sys.stderr)
    print(
        f"wrote {args.out}: {n} samples from {episodes} episodes in {time.monotonic() - t0:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
