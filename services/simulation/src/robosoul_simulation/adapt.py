"""Make any arm model simulate the way RoboSoul drives robots: position servos at 50 Hz.

A vendor's MJCF (or a gymnasium one) may drive its joints with torque motors, step
with an explicit integrator at 100 Hz, or leave a joint without limits. The policy
sends joint *position targets*, so the simulation needs position servos that track
them; `adapt` edits the model (an `mujoco.MjSpec`) to that effect and says what it
changed, one line each, for the model report:

- actuators that are not position servos become ones (``set_to_position``), with
  gains from the joint's largest effective inertia (mass matrix diagonal over random
  configurations, armature included): a critically damped servo of SERVO_HZ
  bandwidth; a motor's torque bound (gear x ctrlrange) stays its force limit;
- a hinge without limits gets [-pi, pi];
- a timestep that does not divide the 20 ms control period or exceeds MAX_TIMESTEP
  becomes DEFAULT_TIMESTEP; explicit integrators become implicitfast (stable with
  stiff servos);
- without any gravity compensation in the model, every body the arm joints move
  gets ``gravcomp="1"`` (a real arm's servo controller feeds gravity forward).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import mujoco
import numpy as np

from robosoul_simulation.chains import Structure

CONTROL_PERIOD_S = 0.02
DEFAULT_TIMESTEP = 0.002
MAX_TIMESTEP = 0.004
SERVO_HZ = 6.0
SERVO_DAMPING_RATIO = 1.0
INERTIA_SAMPLES = 32
_ARM_JOINTS = (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE))


@dataclass
class Adaptation:
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.warnings)


def is_position_servo(model: mujoco.MjModel, a: int) -> bool:
    kp = model.actuator_gainprm[a, 0]
    return (
        model.actuator_gaintype[a] == mujoco.mjtGain.mjGAIN_FIXED
        and model.actuator_biastype[a] == mujoco.mjtBias.mjBIAS_AFFINE
        and model.actuator_dyntype[a] == mujoco.mjtDyn.mjDYN_NONE
        and kp > 0
        and math.isclose(model.actuator_biasprm[a, 1], -kp, rel_tol=1e-9)
        and model.actuator_biasprm[a, 2] <= 0
    )


def effective_inertia(model: mujoco.MjModel, dofs: np.ndarray, rng_seed: int = 0) -> np.ndarray:
    """Largest diagonal of the joint-space mass matrix per dof over random configurations."""
    data = mujoco.MjData(model)
    rng = np.random.default_rng(rng_seed)
    full = np.zeros((model.nv, model.nv))
    best = np.zeros(len(dofs))
    lo, hi = model.jnt_range[:, 0], model.jnt_range[:, 1]
    for k in range(INERTIA_SAMPLES):
        mujoco.mj_resetData(model, data)
        if k:
            for j in range(model.njnt):
                if int(model.jnt_type[j]) in _ARM_JOINTS and model.jnt_limited[j]:
                    data.qpos[model.jnt_qposadr[j]] = rng.uniform(lo[j], hi[j])
        mujoco.mj_forward(model, data)
        mujoco.mj_fullM(model, data, full)
        best = np.maximum(best, full[dofs, dofs])
    return best


def adapt(spec: mujoco.MjSpec, model: mujoco.MjModel, structure: Structure) -> Adaptation:
    """Edit `spec` (compiled as `model`) for position control; the caller recompiles it."""
    out = Adaptation()
    m = model
    ts = float(m.opt.timestep)
    steps = CONTROL_PERIOD_S / ts
    if ts > MAX_TIMESTEP or abs(steps - round(steps)) > 1e-6:
        spec.option.timestep = DEFAULT_TIMESTEP
        out.warnings.append(f"timestep {ts:g} s replaced by {DEFAULT_TIMESTEP:g} s (needs to divide the 20 ms control period, at most {MAX_TIMESTEP:g} s)")
    if int(m.opt.integrator) not in (int(mujoco.mjtIntegrator.mjINT_IMPLICIT), int(mujoco.mjtIntegrator.mjINT_IMPLICITFAST)):
        name = mujoco.mjtIntegrator(m.opt.integrator).name[6:]
        spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
        out.warnings.append(f"integrator {name} replaced by IMPLICITFAST (stable with stiff position servos)")

    driven: list[tuple[int, int]] = []  # (joint, actuator)
    for chain in structure.chains:
        driven.extend(zip(chain.joints, chain.actuators, strict=True))
    for g in structure.grippers:
        if m.actuator_trntype[g.actuator] == mujoco.mjtTrn.mjTRN_JOINT:
            driven.append((g.joint, g.actuator))
    driven = sorted(set(driven))

    unlimited = []
    for j, _ in driven:
        if not m.jnt_limited[j]:
            name = m.joint(j).name
            if m.jnt_type[j] != mujoco.mjtJoint.mjJNT_HINGE:
                continue  # a slide without limits is refused by the caller
            spec.joints[j].range = [-math.pi, math.pi]
            spec.joints[j].limited = mujoco.mjtLimited.mjLIMITED_TRUE
            unlimited.append(name)
    if unlimited:
        out.warnings.append(f"joints {unlimited} have no range; limited to [-pi, pi]")

    to_convert = [(j, a) for j, a in driven if not is_position_servo(m, a)]
    if to_convert:
        dofs = np.array([m.jnt_dofadr[j] for j, _ in to_convert])
        inertia = effective_inertia(m, dofs)
        omega = 2 * math.pi * SERVO_HZ
        names = []
        for (j, a), inert in zip(to_convert, inertia, strict=True):
            act = spec.actuators[a]
            effort = 0.0
            if m.actuator_ctrllimited[a] and m.actuator_biastype[a] == mujoco.mjtBias.mjBIAS_NONE:
                effort = abs(m.actuator_gear[a, 0]) * float(np.max(np.abs(m.actuator_ctrlrange[a])))
            if m.actuator_forcelimited[a]:
                effort = float(np.max(np.abs(m.actuator_forcerange[a])))
            kp = inert * omega**2
            kv = 2 * SERVO_DAMPING_RATIO * inert * omega
            act.set_to_position(kp=float(kp), kv=float(kv))
            act.gear = [1, 0, 0, 0, 0, 0]
            lo, hi = (m.jnt_range[j] if m.jnt_limited[j] else (-math.pi, math.pi))
            act.ctrlrange = [float(lo), float(hi)]
            act.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
            if effort > 0:
                act.forcerange = [-effort, effort]
                act.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
            names.append(m.actuator(a).name or m.joint(j).name)
        out.warnings.append(
            f"actuators {names} are not position servos; replaced by position servos "
            f"({SERVO_HZ:g} Hz, critically damped, gains from each joint's inertia; torque bounds kept as force limits)"
        )

    gravity = float(np.linalg.norm(m.opt.gravity))
    if gravity > 0 and not np.any(m.body_gravcomp > 0) and driven:
        moving = _moved_bodies(m, [j for j, _ in driven])
        for b in moving:
            spec.bodies[b].gravcomp = 1.0
        out.warnings.append(
            f"no gravity compensation in the model; added to the {len(moving)} bodies the arm moves "
            "(a real arm's servo controller feeds gravity forward)"
        )
    return out


def _moved_bodies(m: mujoco.MjModel, joints: list[int]) -> list[int]:
    roots = {int(m.jnt_bodyid[j]) for j in joints}
    out = []
    for b in range(1, m.nbody):
        x, hit = b, False
        while x > 0:
            if x in roots:
                hit = True
                break
            if m.body_jntnum[x] and any(m.jnt_type[k] == mujoco.mjtJoint.mjJNT_FREE for k in range(m.body_jntadr[x], m.body_jntadr[x] + m.body_jntnum[x])):
                break
            x = int(m.body_parentid[x])
        if hit:
            out.append(b)
    return out
