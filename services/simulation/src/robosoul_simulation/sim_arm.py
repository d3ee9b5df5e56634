"""One simulated arm in MuJoCo physics: set joint targets, step time, read the state.

Cheap and free of I/O (a virtual robot steps it in real time):

    >>> from robosoul_simulation.bodies import load_body
    >>> sim = SimArm(load_body("rs-arm4"))
    >>> sim.reset()
    >>> _ = sim.command(sim.joint_positions() + 0.1)  # joint targets, clamped to the limits
    >>> sim.advance(0.02)                             # one 50 Hz control period of physics
    >>> sim.ee_position()                             # tool tip, metres

`model` may be a variant of the arm's model with the same joints (a randomised copy,
or a scene with objects from `scene.grasp_scene`); `latency_s` delays every command
by that much simulated time, as a real robot's bus and servo loop would.
"""

from __future__ import annotations

import mujoco
import numpy as np

from robosoul_simulation.bodies import TARGET_BODY, Arm


class SimArm:
    """MjModel + MjData of one arm, driven through its position servos."""

    def __init__(self, arm: Arm, model: mujoco.MjModel | None = None, *, latency_s: float = 0.0):
        self.arm = arm
        self.model = arm.model if model is None else model
        self.data = mujoco.MjData(self.model)
        self.dt = float(self.model.opt.timestep)
        m = self.model
        names = tuple(m.joint(j).name for j in arm.joint_ids)
        if names != arm.joint_names or m.nu < arm.n:
            raise ValueError(f"model variant does not have the arm's joints {arm.joint_names}")
        self.qpos_adr, self.dof_adr = arm.qpos_adr, arm.dof_adr
        self.ee_site_id = arm.ee_site_id
        b = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, TARGET_BODY)
        self._target_mocap = int(m.body_mocapid[b]) if b >= 0 else -1
        self.latency_steps = int(round(latency_s / self.dt))
        self._pending: np.ndarray | None = None
        self._pending_at = 0.0
        self.reset()

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
        self.data.qpos[self.qpos_adr] = q
        self._mirror_fingers(q)
        self.data.ctrl[self.arm.actuator_ids] = q
        self._pending = None
        mujoco.mj_forward(self.model, self.data)

    def _mirror_fingers(self, q: np.ndarray) -> None:
        # Coupled finger joints start where their equality constraint puts them.
        for j in self.arm._finger_joints:
            if j != self.arm.joint_ids[self.arm.gripper]:
                self.data.qpos[self.model.jnt_qposadr[j]] = q[self.arm.gripper]

    def joint_positions(self) -> np.ndarray:
        return self.data.qpos[self.qpos_adr].copy()

    def joint_velocities(self) -> np.ndarray:
        return self.data.qvel[self.dof_adr].copy()

    def ee_position(self) -> np.ndarray:
        """Tool-tip position (world frame, metres) at the current state."""
        return self.data.site_xpos[self.ee_site_id].copy()

    def command(self, q_targets: np.ndarray) -> np.ndarray:
        """Set the servos' joint position targets, clamped into the joint limits; returns them.

        With latency, the servos receive them `latency_s` of simulated time later.
        """
        q_targets = np.asarray(q_targets, dtype=float)
        if q_targets.shape != (self.arm.n,):
            raise ValueError(f"expected {self.arm.n} joint targets, got shape {q_targets.shape}")
        clamped = self.arm.clamp(q_targets)
        if self.latency_steps:
            if self._pending is not None:
                self.data.ctrl[self.arm.actuator_ids] = self._pending
            self._pending = clamped
            self._pending_at = self.data.time + self.latency_steps * self.dt
        else:
            self.data.ctrl[self.arm.actuator_ids] = clamped
        return clamped

    def step_to(self, sim_time: float) -> None:
        """Step physics until simulation time reaches sim_time (to the nearest timestep)."""
        if self._pending is not None and self._pending_at <= sim_time + self.dt / 2:
            self._step(int(round((self._pending_at - self.data.time) / self.dt)))
            self.data.ctrl[self.arm.actuator_ids] = self._pending
            self._pending = None
        self._step(int(round((sim_time - self.data.time) / self.dt)))
        # mj_step leaves positions-derived quantities one step behind; refresh them
        # so that ee_position() sees the state just reached.
        mujoco.mj_kinematics(self.model, self.data)

    def _step(self, n: int) -> None:
        if n > 0:
            mujoco.mj_step(self.model, self.data, n)

    def advance(self, seconds: float) -> None:
        self.step_to(self.data.time + seconds)

    def set_target_marker(self, xyz: np.ndarray | None) -> None:
        """Show the reach target (None hides it far below the floor)."""
        if self._target_mocap >= 0:
            self.data.mocap_pos[self._target_mocap] = (0.0, 0.0, -10.0) if xyz is None else xyz
