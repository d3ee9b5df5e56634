"""Run a batch of episodes of one skill on one arm, closed loop in MuJoCo physics.

Shared by demonstrations (the expert drives, with DART-style execution noise, and
every control step is recorded as (observed state, goal) -> the expert's chunk) and
evaluation (a policy drives; the report needs outcomes and traces).

Like a robot on the platform, each arm executes `replan_steps` (8) steps of a
16-step chunk, then gets a new one. Every episode has its own random stream, seeded
by the caller: the data of an episode does not depend on which batch or worker ran
it, so parallel and serial runs give identical results.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import mujoco
import numpy as np

from robosoul_core.errors import InvalidArgument
from robosoul_core.policy_io import HORIZON, MAX_DOF, STEP_S, encode_state
from robosoul_simulation.bodies import Arm
from robosoul_simulation.expert import Expert
from robosoul_simulation.randomize import Randomization
from robosoul_simulation.scene import grasp_scene
from robosoul_simulation.sim_arm import SimArm
from robosoul_simulation.skills import EPISODE_S, SETTLE_SPEED, SKILLS, TOLERANCE_M, Outcome, Task, sample_task

SETTLE_MARGIN_S = 1.5
log = logging.getLogger(__name__)
_BAD = (mujoco.mjtWarning.mjWARN_BADQACC, mujoco.mjtWarning.mjWARN_BADQPOS, mujoco.mjtWarning.mjWARN_BADQVEL)


def route_mujoco_warnings() -> None:
    """Send MuJoCo's warnings to logging (not stdout and a MUJOCO_LOG.TXT in the working directory)."""
    if mujoco.get_mju_user_warning() is None:
        mujoco.set_mju_user_warning(lambda message: log.warning("MuJoCo: %s", message.strip()))


def diverged(data: mujoco.MjData) -> bool:
    """Whether MuJoCo found the state non-finite or absurd (and reset it) since the last reset."""
    return any(data.warning[w].number > 0 for w in _BAD)
# A policy: contract inputs (state [B,24], goal [B,24], embodiment [B,1]) -> actions [B,16,8].
PolicyFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class RolloutConfig:
    replan_steps: int = 8
    randomization: Randomization = field(default_factory=Randomization)
    # Seconds per episode by skill (default: skills.EPISODE_S).
    episode_s: dict[str, float] | None = None
    # Demonstrations: share of episodes whose executed chunks get a random joint
    # offset (DART), its largest size (rad), the share of resting-on-goal samples kept,
    # and staggered replanning (episodes get new chunks at different steps).
    noise_fraction: float = 0.0
    noise_max: float = 0.04
    rest_keep: float = 1.0
    stagger: bool = False
    # Success: within `tolerance` (m) of the goal and slower than `settle_speed` (rad/s).
    tolerance: float = TOLERANCE_M
    settle_speed: float = SETTLE_SPEED

    # Share of reach episodes whose target jumps once mid-motion (demonstrations).
    reach_switch_share: float = 0.0
    # Lengthen reach and pose episodes for slow arms: the arm gets its crossing time
    # (`Arm.crossing_time_s`) plus SETTLE_MARGIN_S to arrive and settle.
    fit_to_arm: bool = True

    def steps(self, skill: str, arm: Arm | None = None) -> int:
        seconds = (self.episode_s or {}).get(skill, EPISODE_S[skill])
        if self.fit_to_arm and arm is not None and skill in ("reach", "pose"):
            seconds = max(seconds, arm.crossing_time_s + SETTLE_MARGIN_S)
        return int(round(seconds / STEP_S))


@dataclass
class BatchResult:
    skill: str
    outcomes: list[Outcome]
    # Demonstrations (record_demos): one row per recorded control step.
    state: np.ndarray | None = None
    goal: np.ndarray | None = None
    actions: np.ndarray | None = None
    episode: np.ndarray | None = None
    # Traces (record_trace): [steps + 1, B, 3] tool tip, [steps, B, n] commanded targets.
    ee: np.ndarray | None = None
    commanded: np.ndarray | None = None
    commanded_violations: int = 0
    measured_violations: int = 0
    call_ms: list[float] = field(default_factory=list)


def scene_model(arm: Arm, needs_scene: bool) -> mujoco.MjModel:
    if not needs_scene:
        return arm.model
    cached = getattr(arm, "_grasp_scene", None)
    if cached is None:
        cached = grasp_scene(arm)
        arm._grasp_scene = cached
    return cached


def run_episodes(
    arm: Arm,
    skill: str,
    seeds: Sequence[Sequence[int]],
    config: RolloutConfig,
    *,
    policy: PolicyFn | None = None,
    embodiment_index: int = 0,
    expert: Expert | None = None,
    record_demos: bool = False,
    record_trace: bool = False,
) -> BatchResult:
    """Run one episode per seed, side by side; the expert drives unless `policy` is given."""
    if skill not in SKILLS:
        raise InvalidArgument(f"unknown skill {skill!r}")
    if not 1 <= config.replan_steps <= HORIZON:
        raise InvalidArgument(f"replan_steps must be in 1..{HORIZON}, got {config.replan_steps}")
    route_mujoco_warnings()
    expert = expert or Expert(arm)
    steps = config.steps(skill, arm)
    count, n = len(seeds), arm.n
    rngs = [np.random.default_rng(list(s)) for s in seeds]
    tasks: list[Task] = [sample_task(skill, arm, expert, rng, steps, switch_share=config.reach_switch_share) for rng in rngs]
    for task in tasks:
        task.tolerance, task.settle_speed = config.tolerance, config.settle_speed
    base = scene_model(arm, tasks[0].needs_scene if tasks else False)
    draws = [config.randomization.draw(arm, rng, base) for rng in rngs]
    sims = [SimArm(arm, d.apply(base) if config.randomization.enabled else base, latency_s=d.latency_s) for d in draws]
    dart = np.array([rng.random() < config.noise_fraction for rng in rngs])
    dart_size = np.array([rng.uniform(0.0, config.noise_max) for rng in rngs]) * dart
    phase = np.array([int(rng.integers(0, config.replan_steps)) if config.stagger else 0 for rng in rngs])
    for sim, task in zip(sims, tasks, strict=True):
        sim.reset(task.start)
        task.setup(sim)
        mujoco.mj_forward(sim.model, sim.data)
    emb = np.full((count, 1), embodiment_index, dtype=np.int64)
    chunk = np.zeros((count, HORIZON, n))
    since = np.zeros(count, dtype=int)
    blown = np.zeros(count, dtype=bool)
    states, goal_rows, actions, episode = [], [], [], []
    ee = np.zeros((steps + 1, count, 3)) if record_trace else None
    commanded = np.zeros((steps, count, n)) if record_trace else None
    if ee is not None:
        ee[0] = [s.ee_position() for s in sims]
    result = BatchResult(skill=skill, outcomes=[])
    lo, hi = arm.lower - 1e-3, arm.upper + 1e-3
    previous_goals = None
    for step in range(steps):
        for sim, task in zip(sims, tasks, strict=True):
            task.observe(sim)
            task.update(step, sim)
            sim.set_target_marker(task.marker())
        q_true = np.array([s.joint_positions() for s in sims])
        qd_true = np.array([s.joint_velocities() for s in sims])
        observed = [d.observe(q_true[i], qd_true[i], rngs[i]) for i, d in enumerate(draws)]
        q = np.array([o[0] for o in observed])
        qd = np.array([o[1] for o in observed])
        goals = np.stack([t.goal_vector() for t in tasks])
        state = np.stack([encode_state(q[i], qd[i]) for i in range(count)])
        expert_goals = np.stack([t.expert_goal() for t in tasks]) if policy is None or record_demos else None
        # Demonstrations record the expert's chunk at every step; driving needs it only on replan rows.
        plans = expert.plan_batch(q, qd, expert_goals) if record_demos else None
        if record_demos:
            resting = (np.abs(expert_goals - q_true).max(axis=1) < 1e-3) & (np.abs(qd_true).max(axis=1) < 1e-2)
            keep = (~resting | np.array([rng.random() < config.rest_keep for rng in rngs])) & ~blown
            for i in np.flatnonzero(keep):
                states.append(state[i])
                goal_rows.append(goals[i])
                actions.append(plans[i])
                episode.append(i)
        changed = np.zeros(count, dtype=bool) if previous_goals is None else np.array(
            [not np.array_equal(previous_goals[i], goals[i]) and tasks[i].skill == "reach" for i in range(count)]
        )
        previous_goals = goals
        replan = ((step - phase) % config.replan_steps == 0) | (step == 0) | changed
        if replan.any():
            if policy is None:
                planned = plans[replan] if plans is not None else expert.plan_batch(q[replan], qd[replan], expert_goals[replan])
                offsets = np.array([rng.standard_normal(n) for rng in rngs]) * dart_size[:, None]
                chunk[replan] = planned + offsets[replan][:, None, :]
            else:
                t0 = time.perf_counter()
                out = np.asarray(policy(state[replan], goals[replan].astype(np.float32), emb[replan]), dtype=np.float64)
                result.call_ms.append((time.perf_counter() - t0) * 1000)
                if out.shape != (int(replan.sum()), HORIZON, MAX_DOF) or not np.isfinite(out).all():
                    raise InvalidArgument(
                        f"the policy returned {out.dtype}{list(out.shape)}; expected finite float32{[int(replan.sum()), HORIZON, MAX_DOF]}"
                    )
                chunk[replan] = out[:, :, :n]
            since[replan] = 0
        for i, sim in enumerate(sims):
            wanted = chunk[i, min(since[i], HORIZON - 1)]
            if np.any(wanted < lo) or np.any(wanted > hi):
                result.commanded_violations += 1
            sent = sim.command(wanted)
            if commanded is not None:
                commanded[step, i] = sent
            sim.advance(STEP_S)
            if not blown[i] and diverged(sim.data):
                # MuJoCo reset the state: nothing after this is a demonstration.
                blown[i] = True
                log.warning("%s %s episode %s: simulation diverged at %.3f s; episode dropped", arm.tag, skill, seeds[i], sim.time)
            qi = sim.joint_positions()
            if np.any(qi < lo) or np.any(qi > hi):
                result.measured_violations += 1
            if ee is not None:
                ee[step + 1, i] = sim.ee_position()
        since += 1
    result.outcomes = [t.outcome(s) for t, s in zip(tasks, sims, strict=True)]
    for outcome, noisy, bad in zip(result.outcomes, dart, blown, strict=True):
        outcome.detail["execution_noise"] = bool(noisy)
        if bad:
            outcome.success = False
            outcome.detail["diverged"] = True
    if record_demos:
        padded = np.zeros((len(actions), HORIZON, MAX_DOF), dtype=np.float32)
        if actions:
            padded[:, :, :n] = np.array(actions)
        result.state = np.array(states, dtype=np.float32).reshape(-1, encode_state(np.zeros(1)).shape[0])
        result.goal = np.array(goal_rows, dtype=np.float32).reshape(len(goal_rows), -1)
        result.actions = padded
        result.episode = np.array(episode, dtype=np.int32)
    result.ee, result.commanded = ee, commanded
    return result
