"""Forward and inverse kinematics of one arm, computed by MuJoCo on a scratch MjData."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import mujoco
import numpy as np

if TYPE_CHECKING:
    from robosoul_simulation.arms import Arm


class Kinematics:
    """FK, the tool-tip Jacobian and damped-least-squares IK for one arm.

    Owns its MjData, so it never disturbs a running simulation. Not thread-safe.
    """

    # IK: damping (metres) of the least-squares step, null-space pull towards the
    # rest posture per iteration, and the polish that removes the residual the pull leaves.
    DAMPING = 0.02
    POLISH_DAMPING = 0.002
    POSTURE_GAIN = 0.5
    POSTURE_ITERS = 80
    POLISH_ITERS = 40
    LIMIT_MARGIN = 0.02

    def __init__(self, arm: Arm):
        self.arm = arm
        self.model = arm.model
        self.data = mujoco.MjData(arm.model)
        self._jacp = np.zeros((3, arm.model.nv))
        # Bodies that move with the joints (parents come before children in MuJoCo's
        # body order): the lowest of their origins must stay above the floor.
        m = arm.model
        moving = np.zeros(m.nbody, dtype=bool)
        for b in range(1, m.nbody):
            moving[b] = m.body_dofnum[b] > 0 or moving[m.body_parentid[b]]
        self._moving_bodies = np.flatnonzero(moving)

    def _set(self, q: np.ndarray) -> None:
        self.data.qpos[self.arm.qpos_adr] = q
        mujoco.mj_kinematics(self.model, self.data)

    def ee_position(self, q: np.ndarray) -> np.ndarray:
        self._set(q)
        return self.data.site_xpos[self.arm.ee_site_id].copy()

    def lowest_link(self, q: np.ndarray) -> float:
        """Height of the lowest moving body origin or of the tool tip (metres)."""
        self._set(q)
        z = self.data.xpos[self._moving_bodies, 2].min() if len(self._moving_bodies) else math.inf
        return float(min(z, self.data.site_xpos[self.arm.ee_site_id, 2]))

    def jacobian(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tool-tip position and its 3 x n positional Jacobian at q."""
        self._set(q)
        mujoco.mj_comPos(self.model, self.data)
        mujoco.mj_jacSite(self.model, self.data, self._jacp, None, self.arm.ee_site_id)
        return self.data.site_xpos[self.arm.ee_site_id].copy(), self._jacp[:, self.arm.dof_adr].copy()

    def seed(self, target: np.ndarray) -> np.ndarray:
        """The canonical IK seed for a target: the rest posture, base yaw facing the target."""
        q = self.arm.rest.copy()
        j = self.arm.spec.azimuth_joint
        if j is not None:
            q[j] = math.atan2(target[1], target[0])
        return self.clamp_inside(q)

    def clamp_inside(self, q: np.ndarray) -> np.ndarray:
        return np.clip(q, self.arm.lower + self.LIMIT_MARGIN, self.arm.upper - self.LIMIT_MARGIN)

    def solve_ik(self, target: np.ndarray, seed: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        """Joint configuration that puts the tool tip on `target`, and the remaining error (m).

        Damped least squares (MuJoCo's mj_jacSite) with a null-space pull towards the
        seed's posture, then a few undamped-pull iterations to remove the residual.
        From the canonical seed the answer depends on the target alone, so a planner
        that re-plans from any state always heads for the same configuration.
        Deterministic; about a millisecond.
        """
        target = np.asarray(target, dtype=float)
        q = self.seed(target) if seed is None else self.clamp_inside(np.asarray(seed, dtype=float))
        rest = q.copy()
        damping, polish_damping = self.DAMPING**2 * np.eye(3), self.POLISH_DAMPING**2 * np.eye(3)
        eye = np.eye(self.arm.n)
        lo, hi = self.arm.lower + self.LIMIT_MARGIN, self.arm.upper - self.LIMIT_MARGIN
        for _ in range(self.POSTURE_ITERS):
            x, jac = self.jacobian(q)
            pinv = jac.T @ np.linalg.inv(jac @ jac.T + damping)
            dq = pinv @ (target - x) + (eye - pinv @ jac) @ (self.POSTURE_GAIN * (rest - q))
            q = np.clip(q + dq, lo, hi)
            if np.abs(dq).max() < 1e-7:
                break
        for _ in range(self.POLISH_ITERS):
            x, jac = self.jacobian(q)
            e = target - x
            if e @ e < 1e-14:
                break
            q = np.clip(q + jac.T @ np.linalg.solve(jac @ jac.T + polish_damping, e), lo, hi)
        x = self.ee_position(q)
        return q, float(np.linalg.norm(target - x))
