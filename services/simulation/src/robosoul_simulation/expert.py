"""The demonstrator: from a joint state and a goal configuration, the next action chunk.

Two stages:

1. **Goal configuration.** For a 3-D target: damped-least-squares IK in MuJoCo
   (`mj_jac`) from a canonical seed (rest posture, base yawed towards the target),
   with a null-space pull to that posture. The goal configuration is a function of
   the target alone: re-planning from any state heads for the same pose, never
   switches IK branch, and the policy has a single-valued map to learn. A moving
   target (FOLLOW_PATH) is tracked from the previous goal instead, so the goal moves
   continuously; a joint-space goal (MOVE_TO_POSE) is used as it is; a grasp also
   turns the hand to point down (`grasp_configuration`).
2. **Joint-space trajectory** from the current position and velocity to the goal
   configuration, along the straight line in joint space (which never sweeps the
   tool through the base), with a speed profile that is the least of: the joint
   speed limits, the braking curve sqrt(2 a d) at half the acceleration limit, and
   a linear approach k * d (exponential arrival, no overshoot). Per joint, the
   velocity changes by at most max_acceleration * dt per step. The arm settles on
   the goal and holds it: at the goal with zero velocity the chunk is constant.
   The gripper (if any) moves on its own line, at its own pace.

The chunk holds position *targets* for the servos, not positions: each is the planned
position plus the servo's lag times the planned velocity (see `Arm.servo_lag_s`) plus
half a control period (a target is held for a whole period), so that a servo tracks
the plan and consecutive chunks join without the arm stepping back.

Deterministic: the same (q, qdot, goal) gives the same chunk.
"""

from __future__ import annotations

import numpy as np

from robosoul_core.policy_io import HORIZON, STEP_S
from robosoul_simulation.bodies import Arm
from robosoul_simulation.kinematics import DOWN


class Expert:
    """Plans action chunks for one arm."""

    # Planned speed as a fraction of the joint limits: the targets' own rate (planned
    # speed + lead * acceleration) then stays within max_velocity, so rate limiters
    # downstream never bite. The linear approach gain (1/s).
    SPEED_FRACTION = 0.8
    APPROACH_GAIN = 8.0
    BRAKING_FRACTION = 0.5
    _CACHE_SIZE = 4096
    TRACK_ITERS = 12

    def __init__(self, arm: Arm, horizon: int = HORIZON, step_s: float = STEP_S):
        self.arm = arm
        self.horizon = horizon
        self.dt = step_s
        self.vmax = arm.max_velocity * self.SPEED_FRACTION
        self.amax = arm.max_acceleration
        self.lead_s = arm.servo_lag_s + step_s / 2
        self._goals: dict[tuple[float, ...], np.ndarray] = {}
        self._groups = [arm.chain] + ([np.array([arm.gripper])] if arm.gripper is not None else [])

    def goal_configuration(self, target: np.ndarray, gripper: float | None = None) -> np.ndarray:
        """The joint configuration the arm converges to for this target (cached).

        The gripper, if any, holds `gripper` (default: its rest opening).
        """
        key = tuple(float(v) for v in np.asarray(target, dtype=float))
        goal = self._goals.get(key)
        if goal is None:
            if len(self._goals) >= self._CACHE_SIZE:
                self._goals.clear()
            goal, _ = self.arm.kinematics.solve_ik(np.array(key))
            self._goals[key] = goal
        return self._with_gripper(goal, gripper)

    def _with_gripper(self, goal: np.ndarray, gripper: float | None) -> np.ndarray:
        goal = goal.copy()
        if gripper is not None and self.arm.gripper is not None:
            goal[self.arm.gripper] = gripper
        return goal

    def track_configuration(self, target: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """The goal for a moving target: IK from the previous goal, so it moves continuously."""
        goal, _ = self.arm.kinematics.solve_ik(np.asarray(target, dtype=float), seed=previous, iters=self.TRACK_ITERS)
        if self.arm.gripper is not None:
            goal[self.arm.gripper] = previous[self.arm.gripper]
        return goal

    def grasp_configuration(self, point: np.ndarray, gripper: float, seed: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        """The configuration with the hand at `point` pointing straight down, and the IK error."""
        goal, err = self.arm.kinematics.solve_ik(np.asarray(point, dtype=float), seed=seed, axis=DOWN)
        return self._with_gripper(goal, gripper), err

    def plan(self, q: np.ndarray, qdot: np.ndarray | None, target: np.ndarray) -> np.ndarray:
        """The next `horizon` joint position targets [horizon, n] towards a 3-D target; row 0 is for now."""
        q = np.asarray(q, dtype=float)
        qdot = np.zeros_like(q) if qdot is None else np.asarray(qdot, dtype=float)
        gripper = q[self.arm.gripper] if self.arm.gripper is not None else None
        return self.plan_batch(q[None], qdot[None], self.goal_configuration(target, gripper)[None])[0]

    def plan_batch(self, q: np.ndarray, qdot: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """Chunks [B, horizon, n] for B states [B, n] towards goal configurations [B, n].

        Vectorised over the batch: planning for a hundred arms costs about what one does.
        """
        p, v = self.trajectory_batch(q, qdot, goal)
        return np.clip(p + self.lead_s * v, self.arm.lower, self.arm.upper)

    def trajectory_batch(self, q: np.ndarray, qdot: np.ndarray, goal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The planned positions and velocities [B, horizon, n] behind `plan_batch`."""
        lo, hi = self.arm.lower, self.arm.upper
        p = np.clip(np.asarray(q, dtype=float), lo, hi)
        v = np.clip(np.asarray(qdot, dtype=float), -self.arm.max_velocity, self.arm.max_velocity)
        positions = np.empty((p.shape[0], self.horizon, p.shape[1]))
        velocities = np.empty_like(positions)
        positions[:, 0], velocities[:, 0] = p, v
        goal = np.asarray(goal, dtype=float)
        for k in range(1, self.horizon):
            for cols in self._groups:
                v[:, cols] = self._next_velocity(p[:, cols], v[:, cols], goal[:, cols], self.vmax[cols], self.amax[cols])
            p = np.clip(p + v * self.dt, lo, hi)
            positions[:, k], velocities[:, k] = p, v
        return positions, velocities

    def _next_velocity(self, p: np.ndarray, v: np.ndarray, goal: np.ndarray, vmax: np.ndarray, amax: np.ndarray) -> np.ndarray:
        e = goal - p
        d = np.sqrt(np.einsum("bj,bj->b", e, e))
        moving = d > 1e-9
        d_safe = np.where(moving, d, 1.0)
        n = np.where(moving[:, None], np.abs(e) / d_safe[:, None], 1.0)
        inv = np.divide(1.0, n, out=np.full_like(n, np.inf), where=n > 1e-9)
        # Largest speed and acceleration along the line that every joint can follow.
        s_max = np.min(vmax * inv, axis=1)
        a_line = np.min(amax * inv, axis=1)
        s = np.minimum(np.minimum(s_max, np.sqrt(2 * self.BRAKING_FRACTION * a_line * d)), self.APPROACH_GAIN * d)
        v_des = e * np.where(moving, s / d_safe, 0.0)[:, None]
        step = amax * self.dt
        return v + np.clip(v_des - v, -step, step)


# The older name.
ReachExpert = Expert
