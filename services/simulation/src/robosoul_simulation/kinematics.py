"""Forward and inverse kinematics of one arm, computed by MuJoCo on a scratch MjData.

Joint vectors are full embodiment vectors (`Arm.n` entries, gripper included); only
the arm's chain joints (`Arm.chain`) move the end effector, so the IK changes those
and leaves the others as they are in the seed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import mujoco
import numpy as np

from robosoul_core import policy_io
from robosoul_simulation.chains import body_depth

if TYPE_CHECKING:
    from robosoul_simulation.bodies import Arm

DOWN = np.array([0.0, 0.0, -1.0])


class Kinematics:
    """FK, the tool-tip Jacobian, clearance and damped-least-squares IK for one arm.

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
    # Weight (metres per radian) of the tool-axis error when an axis is asked for.
    AXIS_WEIGHT = 0.1

    def __init__(self, arm: Arm):
        self.arm = arm
        self.model = arm.model
        self.data = mujoco.MjData(arm.model)
        self._jacp = np.zeros((3, arm.model.nv))
        self._jacr = np.zeros((3, arm.model.nv))
        self._chain = arm.chain
        self._mask = np.zeros(arm.n, dtype=bool)
        self._mask[arm.chain] = True
        self._floor_pairs: list[tuple[int, int]] = []
        self._self_pairs: list[tuple[int, int]] = []
        self._fromto = np.zeros(6)

    # -- forward ---------------------------------------------------------------------

    def _set(self, q: np.ndarray) -> None:
        self.data.qpos[self.arm.qpos_adr] = q
        mujoco.mj_kinematics(self.model, self.data)

    def ee_position(self, q: np.ndarray) -> np.ndarray:
        self._set(q)
        return self.arm.ee_point(self.data).copy()

    def chain_vector(self) -> np.ndarray:
        """The arm's chain for the policy's own forward kinematics (policy_io.pack_kinematics).

        Product of exponentials at the model's reference configuration (qpos0): every
        chain joint's world axis and anchor, the end effector's position there.
        """
        m, d = self.model, self.data
        d.qpos[:] = m.qpos0
        mujoco.mj_kinematics(m, d)
        columns = sorted(self._chain, key=lambda c: (body_depth(m, int(m.jnt_bodyid[self.arm.joint_ids[c]])), int(self.arm.joint_ids[c])))
        joints = self.arm.joint_ids[columns]
        kin = policy_io.pack_kinematics(
            axes=d.xaxis[joints],
            points=d.xanchor[joints],
            slide=(m.jnt_type[joints] == mujoco.mjtJoint.mjJNT_SLIDE).astype(np.float32),
            q0=m.qpos0[m.jnt_qposadr[joints]],
            columns=np.array(columns),
            ee=self.arm.ee_point(d),
        )
        return kin

    def ee_axis(self, q: np.ndarray, axis: int = 2) -> np.ndarray:
        """A unit axis (0 x, 1 y, 2 z) of the end-effector frame in the world at q."""
        self._set(q)
        return self.arm.ee_frame(self.data)[:, axis].copy()

    def _jacobians(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self._set(q)
        mujoco.mj_comPos(self.model, self.data)
        x = self.arm.ee_point(self.data).copy()
        mujoco.mj_jac(self.model, self.data, self._jacp, self._jacr, x, self.arm.ee_body_id)
        jp = self._jacp[:, self.arm.dof_adr] * self._mask
        jr = self._jacr[:, self.arm.dof_adr] * self._mask
        return x, jp, jr

    # -- clearance -------------------------------------------------------------------

    def set_clearance_pairs(self, floor: list[tuple[int, int]], self_pairs: list[tuple[int, int]]) -> None:
        self._floor_pairs, self._self_pairs = floor, self_pairs

    def clearance(self, q: np.ndarray) -> tuple[float, float]:
        """Smallest distance (m) of the arm to the floor and between its own non-adjacent links."""
        self._set(q)
        return self._pair_distance(self._floor_pairs), self._pair_distance(self._self_pairs)

    def _pair_distance(self, pairs: list[tuple[int, int]]) -> float:
        best = math.inf
        for g1, g2 in pairs:
            best = min(best, mujoco.mj_geomDistance(self.model, self.data, g1, g2, 1.0, self._fromto))
        return best

    def is_clear(self, q: np.ndarray) -> bool:
        floor, own = self.clearance(q)
        ws = self.arm.workspace
        return floor >= ws.floor_clearance and own >= ws.self_clearance

    # -- inverse ---------------------------------------------------------------------

    def seed(self, target: np.ndarray) -> np.ndarray:
        """The canonical IK seed for a target: the rest posture, base yaw facing the target."""
        q = self.arm.rest.copy()
        ws = self.arm.workspace
        j = ws.azimuth_joint
        if j is not None:
            d = np.asarray(target, dtype=float) - ws.base
            if math.hypot(d[0], d[1]) > 1e-6:
                turn = math.atan2(d[1], d[0]) - ws.azimuth_at_rest
                turn = math.atan2(math.sin(turn), math.cos(turn))
                value = self.arm.rest[j] + ws.azimuth_sign * turn
                lo, hi = self.arm.lower[j], self.arm.upper[j]
                for shift in (0.0, 2 * math.pi, -2 * math.pi):
                    if lo <= value + shift <= hi:
                        value += shift
                        break
                q[j] = value
        return self.clamp_inside(q)

    def clamp_inside(self, q: np.ndarray) -> np.ndarray:
        out = np.array(q, dtype=float)
        out[self._chain] = np.clip(out[self._chain], self.arm.lower[self._chain] + self.LIMIT_MARGIN, self.arm.upper[self._chain] - self.LIMIT_MARGIN)
        return out

    def solve_ik(
        self, target: np.ndarray, seed: np.ndarray | None = None, *, axis: np.ndarray | None = None, iters: int | None = None
    ) -> tuple[np.ndarray, float]:
        """Joint configuration that puts the tool tip on `target`, and the remaining error (m).

        Damped least squares (MuJoCo's mj_jac) with a null-space pull towards the
        seed's posture, then a few undamped-pull iterations to remove the residual.
        With `axis` (a world direction, e.g. DOWN) the end effector's z axis is turned
        onto it as well; the error then includes the axis error (radians) times
        AXIS_WEIGHT. From the canonical seed the answer depends on the target alone,
        so a planner that re-plans from any state always heads for the same
        configuration. Deterministic; about a millisecond.
        """
        target = np.asarray(target, dtype=float)
        q = self.seed(target) if seed is None else self.clamp_inside(np.asarray(seed, dtype=float))
        rest = q.copy()
        rows = 3 if axis is None else 6
        damping, polish_damping = self.DAMPING**2 * np.eye(rows), self.POLISH_DAMPING**2 * np.eye(rows)
        eye = np.eye(self.arm.n)
        lo = np.where(self._mask, self.arm.lower + self.LIMIT_MARGIN, -np.inf)
        hi = np.where(self._mask, self.arm.upper - self.LIMIT_MARGIN, np.inf)
        posture_iters = self.POSTURE_ITERS if iters is None else iters
        polish_iters = self.POLISH_ITERS if iters is None else max(iters // 2, 4)
        for _ in range(posture_iters):
            e, jac = self._task(q, target, axis)
            pinv = jac.T @ np.linalg.inv(jac @ jac.T + damping)
            dq = pinv @ e + (eye - pinv @ jac) @ (self.POSTURE_GAIN * (rest - q))
            q = np.clip(q + dq, lo, hi)
            if np.abs(dq).max() < 1e-7:
                break
        for _ in range(polish_iters):
            e, jac = self._task(q, target, axis)
            if e @ e < 1e-14:
                break
            q = np.clip(q + jac.T @ np.linalg.solve(jac @ jac.T + polish_damping, e), lo, hi)
        e, _ = self._task(q, target, axis)
        return q, float(np.linalg.norm(e))

    def _task(self, q: np.ndarray, target: np.ndarray, axis: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        x, jp, jr = self._jacobians(q)
        e = target - x
        if axis is None:
            return e, jp
        z = self.arm.ee_frame(self.data)[:, 2]
        # The rotation that turns z onto axis, and what the joints' rotation does to z
        # (a spin about z itself changes nothing, so it is projected out).
        err = np.cross(z, axis) * self.AXIS_WEIGHT
        jz = (np.eye(3) - np.outer(z, z)) @ jr * self.AXIS_WEIGHT
        return np.concatenate([e, err]), np.vstack([jp, jz])
