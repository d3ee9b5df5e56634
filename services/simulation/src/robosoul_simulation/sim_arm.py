"""One simulated arm in MuJoCo physics: set joint targets, step time, read the state.

Cheap and free of I/O (a virtual robot steps it in real time):

    >>> from robosoul_simulation.arms import load_arm
    >>> sim = SimArm(load_arm("rs-arm4"))
    >>> sim.reset()
    >>> _ = sim.command(sim.joint_positions() + 0.1)  # joint targets, clamped to the limits
    >>> sim.advance(0.02)                             # one 50 Hz control period of physics
    >>> sim.ee_position()                             # tool tip, metres
"""

from __future__ import annotations

import mujoco
import numpy as np

from robosoul_simulation.arms import Arm


class SimArm:
    """MjModel + MjData of one arm, driven through its position servos."""

    def __init__(self, arm: Arm):
        self.arm = arm
        self.model = arm.model
        self.data = mujoco.MjData(arm.model)
        self.dt = float(arm.model.opt.timestep)
        self._target_mocap = self._mocap_id("target")
        self.reset()

    def _mocap_id(self, body: str) -> int:
        b = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, body)
        return int(self.model.body_mocapid[b]) if b >= 0 else -1

    @property
    def time(self) -> float:
        """Simulation time in seconds since the last reset."""
        return float(self.data.time)

    def reset(self, q: np.ndarray | None = None) -> None:
        """Put the arm at rest at q (default: the rest posture), holding it there."""
        q = self.arm.rest if q is None else np.asarray(q, dtype=float)
        if q.shape != (self.arm.n,):
            raise ValueError(f"expected {self.arm.n} joint positions, got shape {q.shape}")
        mujoco.mj_resetData(self.model, self.data)
        q = self.arm.clamp(q)
        self.data.qpos[self.arm.qpos_adr] = q
        self.data.ctrl[self.arm.actuator_ids] = q
        mujoco.mj_forward(self.model, self.data)

    def joint_positions(self) -> np.ndarray:
        return self.data.qpos[self.arm.qpos_adr].copy()

    def joint_velocities(self) -> np.ndarray:
        return self.data.qvel[self.arm.dof_adr].copy()

    def ee_position(self) -> np.ndarray:
        """Tool-tip position (world frame, metres) at the current state."""
        return self.data.site_xpos[self.arm.ee_site_id].copy()

    def command(self, q_targets: np.ndarray) -> np.ndarray:
        """Set the servos' joint position targets, clamped into the joint limits; returns them."""
        q_targets = np.asarray(q_targets, dtype=float)
        if q_targets.shape != (self.arm.n,):
            raise ValueError(f"expected {self.arm.n} joint targets, got shape {q_targets.shape}")
        clamped = self.arm.clamp(q_targets)
        self.data.ctrl[self.arm.actuator_ids] = clamped
        return clamped

    def step_to(self, sim_time: float) -> None:
        """Step physics until simulation time reaches sim_time (to the nearest timestep)."""
        n = int(round((sim_time - self.data.time) / self.dt))
        if n > 0:
            mujoco.mj_step(self.model, self.data, n)
            # mj_step leaves positions-derived quantities one step behind; refresh them
            # so that ee_position() and renderers see the state just reached.
            mujoco.mj_forward(self.model, self.data)

    def advance(self, seconds: float) -> None:
        self.step_to(self.data.time + seconds)

    def set_target_marker(self, xyz: np.ndarray | None) -> None:
        """Show the reach target (None hides it far below the floor)."""
        if self._target_mocap >= 0:
            self.data.mocap_pos[self._target_mocap] = (0.0, 0.0, -10.0) if xyz is None else xyz
