"""Domain randomisation: each episode simulates a slightly different robot than the nominal one.

Per episode (seeded, so the same seed gives the same robots):

- every body's mass and inertia scaled by its own factor in 1 +/- `mass` (20 %),
- every geom's sliding friction scaled within `friction`,
- every servo's stiffness kp and damping kv (and the joint's own damping) scaled
  within 1 +/- `gain` and 1 +/- `damping` (15 %),
- a command latency drawn from `latency_s` (0-40 ms): targets reach the servos that
  much later -- but SimArm holds one pending command, so at a 20 ms control period
  a draw above 20 ms acts as 20 ms,
- joint-sensor noise: the observation the controller sees is the true joint state
  plus Gaussian noise (`position_noise` rad or m, `velocity_noise` per second).

The expert and the policy plan with the nominal model; only physics and sensing change.

    >>> draw = Randomization().draw(arm, np.random.default_rng(0))
    >>> model = draw.apply(arm.model)     # a randomised copy; arm.model is untouched
    >>> q_seen, qd_seen = draw.observe(q, qd, rng)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import mujoco
import numpy as np

from robosoul_simulation.bodies import Arm


@dataclass(frozen=True)
class Randomization:
    """Bounds of what is randomised; `Randomization.off()` randomises nothing."""

    mass: float = 0.2
    friction: tuple[float, float] = (0.7, 1.3)
    gain: float = 0.15
    damping: float = 0.15
    position_noise: float = 0.001
    velocity_noise: float = 0.01
    latency_s: tuple[float, float] = (0.0, 0.04)

    @classmethod
    def off(cls) -> Randomization:
        return cls(mass=0.0, friction=(1.0, 1.0), gain=0.0, damping=0.0, position_noise=0.0, velocity_noise=0.0, latency_s=(0.0, 0.0))

    @property
    def enabled(self) -> bool:
        return self != Randomization.off()

    def draw(self, arm: Arm, rng: np.random.Generator, model: mujoco.MjModel | None = None) -> Draw:
        """One episode's robot: the factors for `model` (default: the arm's), drawn from rng."""
        m = arm.model if model is None else model
        return Draw(
            mass_scale=rng.uniform(1 - self.mass, 1 + self.mass, m.nbody),
            friction_scale=rng.uniform(*self.friction, m.ngeom),
            kp_scale=rng.uniform(1 - self.gain, 1 + self.gain, arm.n),
            kv_scale=rng.uniform(1 - self.damping, 1 + self.damping, arm.n),
            latency_s=float(rng.uniform(*self.latency_s)),
            position_noise=self.position_noise,
            velocity_noise=self.velocity_noise,
            actuators=arm.actuator_ids,
            dofs=arm.dof_adr,
        )


@dataclass(frozen=True)
class Draw:
    """What was drawn for one episode."""

    mass_scale: np.ndarray
    friction_scale: np.ndarray
    kp_scale: np.ndarray
    kv_scale: np.ndarray
    latency_s: float
    position_noise: float
    velocity_noise: float
    actuators: np.ndarray
    dofs: np.ndarray

    def apply(self, model: mujoco.MjModel) -> mujoco.MjModel:
        """A randomised copy of `model` (the arm's joints and actuators where the arm has them)."""
        m = copy.copy(model)
        m.body_mass[:] = model.body_mass * self.mass_scale
        m.body_inertia[:] = model.body_inertia * self.mass_scale[:, None]
        m.geom_friction[:, 0] = model.geom_friction[:, 0] * self.friction_scale
        a = self.actuators
        kp = model.actuator_gainprm[a, 0] * self.kp_scale
        m.actuator_gainprm[a, 0] = kp
        m.actuator_biasprm[a, 1] = -kp
        m.actuator_biasprm[a, 2] = model.actuator_biasprm[a, 2] * self.kv_scale
        m.dof_damping[self.dofs] = model.dof_damping[self.dofs] * self.kv_scale
        return m

    def observe(self, q: np.ndarray, qd: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The joint state as the robot's sensors report it."""
        if self.position_noise == 0 and self.velocity_noise == 0:
            return q, qd
        return q + rng.normal(0.0, self.position_noise, q.shape), qd + rng.normal(0.0, self.velocity_noise, qd.shape)
