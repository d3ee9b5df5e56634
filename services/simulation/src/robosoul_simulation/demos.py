"""Expert demonstrations of reaching, collected in MuJoCo physics.

    python -m robosoul_simulation.demos --embodiment rs-arm4 --out build/demos/rs-arm4.npz

Many arms run side by side (one MjData each, one batched expert call per control
step). Each episode starts at rest in a random pose with a random reach target; in
some the target moves once, mid-motion. The arms execute the expert's chunks in
physics the way the policy will run (8 of 16 steps, then a new chunk), and every
control step records (observed state, goal) -> the expert's chunk from that state.
DART-style noise: in most episodes each executed chunk is offset by a random joint
error, so the data also shows how to get back on track from where the expert itself
would never be. Samples of an arm resting on its goal are thinned.

The .npz (np.savez, loads with allow_pickle=False) holds the policy contract's
arrays (robosoul_core.policy_io) and metadata:

    state [N, 24] float32, goal [N, 8] float32, embodiment [N, 1] int64,
    actions [N, 16, 8] float32, episode [N] int32,
    embodiment_tags [E] str (index = embodiment value), joint_names [n] str,
    tag str, seed int64, episodes int64
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robosoul.v1 import session_pb2
from robosoul_core.errors import RoboSoulError
from robosoul_core.policy_io import (
    GOAL_DIM,
    HORIZON,
    INPUT_EMBODIMENT,
    INPUT_GOAL,
    INPUT_STATE,
    MAX_DOF,
    OUTPUT_ACTIONS,
    STATE_DIM,
    STEP_S,
    encode_goal,
    encode_state,
)
from robosoul_simulation.arms import Arm, load_arm
from robosoul_simulation.expert import ReachExpert
from robosoul_simulation.sim_arm import SimArm

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class DemoConfig:
    embodiment: str = "rs-arm4"
    episodes: int = 1200
    seed: int = 0
    episode_s: float = 3.2
    # Arms simulated side by side.
    batch: int = 100
    # A new chunk every `replan_steps` control steps (what the evaluation does).
    replan_steps: int = 8
    # Share of episodes whose target moves once, and when (seconds) it may move.
    switch_fraction: float = 0.5
    switch_window_s: tuple[float, float] = (0.4, 2.2)
    # Share of episodes with execution noise, and the largest per-joint noise (rad).
    noise_fraction: float = 0.7
    noise_max: float = 0.04
    # Share of resting-on-goal samples kept.
    rest_keep: float = 0.25


def generate(config: DemoConfig, progress: Progress | None = None) -> dict[str, np.ndarray]:
    """Collect demonstrations; returns the arrays that `save` writes."""
    if config.episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {config.episodes}")
    arm = load_arm(config.embodiment)
    if arm.n > MAX_DOF:
        raise ValueError(f"{config.embodiment} has {arm.n} joints; the policy serves at most {MAX_DOF}")
    expert = ReachExpert(arm)
    sims = [SimArm(arm) for _ in range(min(config.batch, config.episodes))]
    parts: list[dict[str, np.ndarray]] = []
    done = 0
    for b, first in enumerate(range(0, config.episodes, config.batch)):
        count = min(config.batch, config.episodes - first)
        # Seeded per batch: the data does not depend on how batches are scheduled.
        rng = np.random.default_rng([config.seed, b])
        parts.append(_run_batch(arm, expert, sims[:count], first, config, rng))
        done += count
        if progress is not None:
            progress(done, config.episodes)
    data = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    data["embodiment_tags"] = np.array([config.embodiment])
    data["joint_names"] = np.array(arm.joint_names)
    data["tag"] = np.array(config.embodiment)
    data["seed"] = np.array(config.seed, dtype=np.int64)
    data["episodes"] = np.array(config.episodes, dtype=np.int64)
    return data


def _run_batch(
    arm: Arm, expert: ReachExpert, sims: list[SimArm], first: int, config: DemoConfig, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    count, n = len(sims), arm.n
    steps = int(round(config.episode_s / STEP_S))
    starts = np.array([arm.sample_start(rng) for _ in range(count)])
    targets = np.array([arm.sample_target(rng) for _ in range(count)])
    next_targets = np.array([arm.sample_target(rng) for _ in range(count)])
    lo, hi = (int(round(s / STEP_S)) for s in config.switch_window_s)
    switch_at = np.where(rng.random(count) < config.switch_fraction, rng.integers(lo, hi, count), -1)
    noise = np.where(rng.random(count) < config.noise_fraction, rng.uniform(0.0, config.noise_max, count), 0.0)
    phase = rng.integers(0, config.replan_steps, count)

    goals = np.array([expert.goal_configuration(t) for t in targets])
    for sim, q, t in zip(sims, starts, targets, strict=True):
        sim.reset(q)
        sim.set_target_marker(t)
    chunk = np.zeros((count, HORIZON, n))
    since = np.zeros(count, dtype=int)
    states, goal_rows, actions, episode = [], [], [], []
    for step in range(steps):
        switched = switch_at == step
        for i in np.flatnonzero(switched):
            targets[i] = next_targets[i]
            goals[i] = expert.goal_configuration(targets[i])
            sims[i].set_target_marker(targets[i])
        q = np.array([s.joint_positions() for s in sims])
        qd = np.array([s.joint_velocities() for s in sims])
        plans = expert.plan_batch(q, qd, goals)

        resting = (np.abs(goals - q).max(axis=1) < 1e-3) & (np.abs(qd).max(axis=1) < 1e-2)
        keep = ~resting | (rng.random(count) < config.rest_keep)
        for i in np.flatnonzero(keep):
            states.append(encode_state(q[i], qd[i]))
            goal_rows.append(encode_goal(session_pb2.SKILL_REACH, targets[i]))
            actions.append(plans[i])
            episode.append(first + i)

        replan = switched | ((step - phase) % config.replan_steps == 0) | (step == 0)
        offsets = rng.standard_normal((count, n)) * noise[:, None]
        chunk[replan] = plans[replan] + offsets[replan][:, None, :]
        since[replan] = 0
        for i, sim in enumerate(sims):
            sim.command(chunk[i, since[i]])
            sim.advance(STEP_S)
        since += 1

    padded = np.zeros((len(actions), HORIZON, MAX_DOF), dtype=np.float32)
    padded[:, :, :n] = np.array(actions)
    return {
        INPUT_STATE: np.array(states, dtype=np.float32),
        INPUT_GOAL: np.array(goal_rows, dtype=np.float32),
        INPUT_EMBODIMENT: np.zeros((len(actions), 1), dtype=np.int64),
        OUTPUT_ACTIONS: padded,
        "episode": np.array(episode, dtype=np.int32),
    }


def save(path: Path, data: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **data)
    tmp.replace(path)


def check_contract(data: dict[str, np.ndarray]) -> None:
    """Raise ValueError unless the arrays match the policy contract."""
    n = data[INPUT_STATE].shape[0] if INPUT_STATE in data else 0
    want = {
        INPUT_STATE: ((n, STATE_DIM), np.float32),
        INPUT_GOAL: ((n, GOAL_DIM), np.float32),
        INPUT_EMBODIMENT: ((n, 1), np.int64),
        OUTPUT_ACTIONS: ((n, HORIZON, MAX_DOF), np.float32),
    }
    for key, (shape, dtype) in want.items():
        if key not in data:
            raise ValueError(f"missing array {key!r}")
        if data[key].shape != shape or data[key].dtype != dtype:
            raise ValueError(f"{key!r} is {data[key].dtype}{list(data[key].shape)}, expected {np.dtype(dtype)}{list(shape)}")


class _StderrProgress:
    def __init__(self, label: str):
        self.label = label
        self.t0 = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        dt = max(time.monotonic() - self.t0, 1e-6)
        rate = done / dt
        eta = (total - done) / rate if rate > 0 else 0.0
        end = "\n" if done == total else ""
        print(
            f"\r{self.label}: {done}/{total} episodes, {rate:.0f} episodes/s, eta {eta:.0f} s   ",
            end=end,
            file=sys.stderr,
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    defaults = DemoConfig()
    parser = argparse.ArgumentParser(
        prog="python -m robosoul_simulation.demos", description="Collect expert reach demonstrations in MuJoCo."
    )
    parser.add_argument("--embodiment", default=defaults.embodiment, help="embodiment tag (default: %(default)s)")
    parser.add_argument("--out", type=Path, required=True, help="output .npz")
    parser.add_argument("--episodes", type=int, default=defaults.episodes, help="episodes (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="random seed (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes must be >= 1, got {args.episodes}")
    config = DemoConfig(embodiment=args.embodiment, episodes=args.episodes, seed=args.seed)
    t0 = time.monotonic()
    try:
        data = generate(config, progress=_StderrProgress(f"demos {args.embodiment}"))
    except RoboSoulError as e:
        parser.error(str(e))
    check_contract(data)
    save(args.out, data)
    n = data[INPUT_STATE].shape[0]
    print(f"wrote {args.out}: {n} samples from {args.episodes} episodes in {time.monotonic() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
