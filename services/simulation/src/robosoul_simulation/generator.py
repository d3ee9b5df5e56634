"""Procedurally generated serial arms, deterministic from (family, seed).

    >>> xml = generate("gen", seed=42, dof=6, gripper=True)   # MJCF text
    >>> source("gen-s42-6dof-grip").load()                    # an Arm

Every arm starts with a base yaw (vertical axis) and a shoulder pitch; the other
joints are pitches about the link's y or x axis and rolls about the link itself
(never two rolls in a row, never a roll right after the base yaw, which would
duplicate it). Drawn per arm: link lengths (reach 0.45-0.95 m), lateral offsets,
joint limits, link radii and densities (so masses), joint damping and armature,
speed and acceleration limits, and servo bandwidth and damping ratio. Servo gains
come from each joint's largest effective inertia (so every arm tracks 50 Hz
targets whatever its masses), and every moving body is gravity-compensated like
rs-arm4. With `gripper`, the last link carries a palm and a parallel jaw: two
slide fingers coupled by an equality constraint, one position actuator.

Arms with a gripper have at least three pitch joints about the same axis, so the
hand can point straight down for a top grasp. The ``home`` key bends the arm
elbow-up in front of the base; ``ready`` and ``stow`` are other named poses.
"""

from __future__ import annotations

import functools
import math
import zlib
from dataclasses import dataclass

import mujoco
import numpy as np

from robosoul_core.errors import InvalidArgument

PITCH_Y, PITCH_X, ROLL = "pitch", "side", "roll"
AXES = {PITCH_Y: "0 1 0", PITCH_X: "1 0 0", ROLL: "0 0 1"}
FINGER_TRAVEL = 0.04
GRIPPER_KP = 1000.0
GRIPPER_FORCE = 25.0


@dataclass(frozen=True)
class JointDesign:
    name: str
    kind: str  # "yaw" or one of PITCH_Y, PITCH_X, ROLL
    lo: float
    hi: float
    # Offset of the next joint (or the tool) from this one, in this joint's body frame.
    link: tuple[float, float, float]
    radius: float
    density: float
    damping: float
    armature: float
    max_velocity: float
    max_acceleration: float
    home: float


@dataclass(frozen=True)
class ArmDesign:
    tag: str
    base_height: float
    joints: tuple[JointDesign, ...]
    gripper: bool
    servo_hz: float
    damping_ratio: float
    ready: tuple[float, ...]
    stow: tuple[float, ...]


def _rng(family: str, seed: int) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(family.encode()), seed])


def _kinds(rng: np.random.Generator, dof: int, gripper: bool) -> list[str]:
    """Joint kinds after the base yaw and shoulder pitch."""
    for _ in range(1000):
        rest = list(rng.choice([PITCH_Y, PITCH_Y, ROLL, ROLL, PITCH_X], size=dof - 2)) if dof > 2 else []
        kinds = ["yaw", PITCH_Y, *rest]
        if any(a == ROLL and b == ROLL for a, b in zip(kinds, kinds[1:], strict=False)):
            continue
        if kinds.count(ROLL) > 3 or kinds.count(PITCH_X) > 1:
            continue
        if kinds.count(PITCH_Y) < (3 if gripper else 2):
            continue
        # The elbow (second y pitch) comes early enough to make a real arm of it.
        if kinds.index(PITCH_Y, 2) > 3:
            continue
        return kinds
    raise AssertionError("no joint layout found")


def design(family: str, seed: int, dof: int, gripper: bool) -> ArmDesign:
    """Draw an arm; the same (family, seed, dof, gripper) always gives the same one."""
    if not 3 <= dof <= 7:
        raise InvalidArgument(f"generated arms have 3 to 7 joints, not {dof}")
    if gripper and dof < 4:
        raise InvalidArgument(f"generated arms with a gripper have 4 to 7 joints (a top grasp needs 3 pitches), not {dof}")
    rng = _rng(family, seed * 16 + dof * 2 + int(gripper))
    kinds = _kinds(rng, dof, gripper)
    # A hand must reach the floor pointing down: arms with a gripper are not the shortest.
    reach = rng.uniform(0.6 if gripper else 0.45, 0.95)
    pitches = [i for i, k in enumerate(kinds) if k == PITCH_Y]
    shoulder, elbow = pitches[0], pitches[1]
    # Share of the reach per link: upper arm and forearm long, the rest short.
    shares = np.array(
        [0.0 if k == "yaw" else (rng.uniform(0.32, 0.45) if i in (shoulder, elbow) else rng.uniform(0.03, 0.12)) for i, k in enumerate(kinds)]
    )
    shares[-1] += rng.uniform(0.08, 0.16)  # the tool after the last joint
    lengths = shares / shares.sum() * reach
    base_height = rng.uniform(0.05, 0.15)
    shoulder_height = rng.uniform(0.06, 0.14)
    joints = []
    radius = rng.uniform(0.035, 0.05)
    home_shoulder, home_elbow = rng.uniform(0.2, 0.55), rng.uniform(0.9, 1.5)
    wrist_pitches = pitches[2:]
    for i, kind in enumerate(kinds):
        if kind == "yaw":
            span = rng.uniform(2.3, 3.0)
            lo, hi, link = -span, span, (0.0, 0.0, shoulder_height)
            home = 0.0
        else:
            length = lengths[i]
            offset = rng.choice([0.0, 0.0, rng.uniform(-0.06, 0.06)]) if kind == PITCH_Y and i in (shoulder, elbow) else 0.0
            link = (0.0, float(offset), float(length))
            if i == shoulder:
                lo, hi, home = -rng.uniform(1.3, 2.2), rng.uniform(1.4, 2.2), home_shoulder
            elif i == elbow:
                lo, hi, home = -rng.uniform(0.3, 2.5), rng.uniform(2.0, 2.6), home_elbow
            elif kind == PITCH_Y:
                lo, hi = -rng.uniform(1.4, 2.2), rng.uniform(1.6, 2.3)
                # The wrist pitches share what makes the tool point down and forward.
                home = (math.pi - home_shoulder - home_elbow) / max(len(wrist_pitches), 1) * 0.7
            elif kind == ROLL:
                span = rng.uniform(1.5, 3.0)
                lo, hi, home = -span, span, 0.0
            else:
                span = rng.uniform(0.8, 1.6)
                lo, hi, home = -span, span, 0.0
        home = float(np.clip(home, lo + 0.1, hi - 0.1))
        distal = i >= elbow + 1
        joints.append(
            JointDesign(
                name=f"j{i + 1}_{kind}",
                kind=kind,
                lo=float(lo),
                hi=float(hi),
                link=tuple(float(v) for v in link),
                radius=float(radius),
                density=float(rng.uniform(400, 1500)),
                damping=float(rng.uniform(0.05, 0.3)),
                armature=float(rng.uniform(0.005, 0.05)),
                max_velocity=float(rng.uniform(2.5, 3.5) if distal else rng.uniform(1.6, 2.6)),
                max_acceleration=float(rng.uniform(7, 12) if distal else rng.uniform(5, 9)),
                home=home,
            )
        )
        radius = max(0.018, radius * rng.uniform(0.8, 0.95))
    home = np.array([j.home for j in joints])
    ready = np.clip(home + np.array([0.0 if j.kind == ROLL else rng.uniform(-0.4, 0.4) for j in joints]), [j.lo + 0.1 for j in joints], [j.hi - 0.1 for j in joints])
    stow = np.clip(np.array([0.0 if j.kind in ("yaw", ROLL, PITCH_X) else (-0.3 if idx == shoulder else 1.9 if idx == elbow else 0.5) for idx, j in enumerate(joints)]), [j.lo + 0.05 for j in joints], [j.hi - 0.05 for j in joints])
    return ArmDesign(
        tag=f"{family}-s{seed}-{dof}dof{'-grip' if gripper else ''}",
        base_height=float(base_height),
        joints=tuple(joints),
        gripper=gripper,
        servo_hz=float(rng.uniform(5.0, 8.0)),
        damping_ratio=float(rng.uniform(0.85, 1.1)),
        ready=tuple(float(v) for v in ready),
        stow=tuple(float(v) for v in stow),
    )


def _f(v: float) -> str:
    return f"{v:.5g}"


def _body_xml(d: ArmDesign, i: int, indent: str) -> str:
    j = d.joints[i]
    pos = "0 0 0" if i == 0 else " ".join(_f(v) for v in d.joints[i - 1].link)
    ax = AXES.get(j.kind, "0 0 1")
    end = " ".join(_f(v) for v in j.link)
    housing = f'<geom name="{j.name}_housing" type="cylinder" size="{_f(j.radius * 1.15)} {_f(j.radius * 0.9)}" zaxis="{ax}" material="accent"/>'
    lines = [
        f'{indent}<body name="link{i + 1}" pos="{pos}" gravcomp="1">',
        f'{indent}  <joint name="{j.name}" axis="{ax}" range="{_f(j.lo)} {_f(j.hi)}" damping="{_f(j.damping)}" armature="{_f(j.armature)}"/>',
        f"{indent}  {housing}",
        f'{indent}  <geom name="link{i + 1}" type="capsule" fromto="0 0 0 {end}" size="{_f(j.radius * 0.8)}" density="{_f(j.density)}"/>',
    ]
    if i + 1 < len(d.joints):
        lines.append(_body_xml(d, i + 1, indent + "  "))
    elif d.gripper:
        lines.append(_gripper_xml(j.link, indent + "  "))
    else:
        lines.append(f'{indent}  <geom name="tip" type="sphere" pos="{end}" size="{_f(j.radius * 0.7)}" material="dark"/>')
        lines.append(f'{indent}  <site name="ee" pos="{end}" size="0.01" group="2" rgba="0.1 0.8 0.3 1"/>')
    lines.append(f"{indent}</body>")
    return "\n".join(lines)


def _gripper_xml(at: tuple[float, float, float], indent: str) -> str:
    x, y, z = at
    t = FINGER_TRAVEL
    return "\n".join(
        [
            f'{indent}<body name="palm" pos="{_f(x)} {_f(y)} {_f(z)}" gravcomp="1">',
            f'{indent}  <geom name="palm" type="box" size="0.02 {_f(t + 0.025)} 0.012" pos="0 0 0.012" material="dark" mass="0.15"/>',
            f'{indent}  <site name="ee" pos="0 0 0.055" size="0.01" group="2" rgba="0.1 0.8 0.3 1"/>',
            f'{indent}  <body name="finger_l" pos="0 0.004 0.024" gravcomp="1">',
            f'{indent}    <joint name="finger_l" type="slide" axis="0 1 0" range="0 {_f(t)}" damping="2" armature="0.01"/>',
            f'{indent}    <geom name="finger_l" class="finger" pos="0 0.006 0.03"/>',
            f"{indent}  </body>",
            f'{indent}  <body name="finger_r" pos="0 -0.004 0.024" gravcomp="1">',
            f'{indent}    <joint name="finger_r" type="slide" axis="0 -1 0" range="0 {_f(t)}" damping="2" armature="0.01"/>',
            f'{indent}    <geom name="finger_r" class="finger" pos="0 -0.006 0.03"/>',
            f"{indent}  </body>",
            f"{indent}</body>",
        ]
    )


def _skeleton(d: ArmDesign, actuators: str, extra: str = "") -> str:
    n = len(d.joints)
    vel = [j.max_velocity for j in d.joints] + ([0.2] if d.gripper else [])
    acc = [j.max_acceleration for j in d.joints] + ([2.0] if d.gripper else [])
    grip_home = [FINGER_TRAVEL] if d.gripper else []
    keys = {
        "home": [j.home for j in d.joints] + grip_home,
        "ready": list(d.ready) + grip_home,
        "stow": list(d.stow) + ([0.0] if d.gripper else []),
    }
    # Keyframe qpos covers every joint: the right finger mirrors the left.
    key_lines = "\n".join(
        f'    <key name="{k}" qpos="{" ".join(_f(v) for v in (q + [q[-1]] if d.gripper else q))}"/>' for k, q in keys.items()
    )
    equality = (
        '  <equality>\n    <joint joint1="finger_r" joint2="finger_l" polycoef="0 1 0 0 0" solref="0.005 1"/>\n  </equality>\n'
        if d.gripper
        else ""
    )
    return f"""<!--
  {d.tag}: a procedurally generated {n}-DOF arm{" with a parallel-jaw gripper" if d.gripper else ""}
  (robosoul_simulation.generator; deterministic from its tag). Joints: {", ".join(j.kind for j in d.joints)}.
-->
<mujoco model="{d.tag}">
  <compiler angle="radian" autolimits="true"/>
  <option timestep="0.002" integrator="implicitfast"/>

  <custom>
    <numeric name="max_velocity" data="{" ".join(_f(v) for v in vel)}"/>
    <numeric name="max_acceleration" data="{" ".join(_f(v) for v in acc)}"/>
  </custom>

  <visual>
    <global offwidth="640" offheight="480"/>
    <headlight ambient="0.35 0.35 0.35" diffuse="0.4 0.4 0.4"/>
  </visual>

  <asset>
    <texture name="grid" type="2d" builtin="checker" width="256" height="256" rgb1="0.32 0.34 0.38" rgb2="0.26 0.28 0.31"/>
    <material name="floor" texture="grid" texrepeat="8 8" reflectance="0.05"/>
    <material name="shell" rgba="0.85 0.88 0.92 1"/>
    <material name="dark" rgba="0.18 0.2 0.24 1"/>
    <material name="accent" rgba="0.2 0.55 0.9 1"/>
  </asset>

  <default>
    <!-- Links touch the floor but not themselves; fingers touch objects only. -->
    <geom contype="0" conaffinity="1" density="1000" material="shell"/>
    <site group="3"/>
    <default class="finger">
      <geom type="box" size="0.008 0.006 0.03" contype="2" conaffinity="2" friction="1.5 0.01 0.001" material="dark" mass="0.03"/>
    </default>
  </default>

  <worldbody>
    <light name="key" pos="0.6 -0.6 1.8" dir="-0.4 0.4 -1" diffuse="0.7 0.7 0.7"/>
    <geom name="floor" type="plane" size="2 2 0.05" material="floor" contype="1" conaffinity="1"/>
    <camera name="front" pos="1.6 0 0.8" xyaxes="0 1 0 -0.45 0 1.3" fovy="50"/>
    <body name="base">
      <geom name="base" type="cylinder" size="0.08 {_f(d.base_height / 2)}" pos="0 0 {_f(d.base_height / 2)}" material="dark" mass="5"/>
      <body name="turret" pos="0 0 {_f(d.base_height)}">
{_body_xml(d, 0, "        ")}
      </body>
    </body>
    <body name="target" mocap="true" pos="0.4 0 0.3">
      <site name="target" type="sphere" size="0.018" group="2" rgba="0.95 0.15 0.2 0.6"/>
    </body>
{extra}  </worldbody>
{equality}
  <keyframe>
{key_lines}
  </keyframe>

  <actuator>
{actuators}
  </actuator>
</mujoco>
"""


def _actuators(d: ArmDesign, kp: np.ndarray, kv: np.ndarray, force: np.ndarray) -> str:
    lines = []
    for j, p, v, f in zip(d.joints, kp, kv, force, strict=True):
        lines.append(
            f'    <position name="{j.name}" joint="{j.name}" kp="{_f(p)}" kv="{_f(v)}" ctrlrange="{_f(j.lo)} {_f(j.hi)}" forcerange="{_f(-f)} {_f(f)}"/>'
        )
    if d.gripper:
        lines.append(
            f'    <position name="gripper" joint="finger_l" kp="{_f(GRIPPER_KP)}" kv="20" ctrlrange="0 {_f(FINGER_TRAVEL)}" forcerange="{_f(-GRIPPER_FORCE)} {_f(GRIPPER_FORCE)}"/>'
        )
    return "\n".join(lines)


def render(d: ArmDesign) -> str:
    """The MJCF of a design; servo gains from the arm's own inertia (compiles it once to measure)."""
    from robosoul_simulation.adapt import effective_inertia

    n = len(d.joints)
    probe = mujoco.MjModel.from_xml_string(_skeleton(d, _actuators(d, np.ones(n), np.zeros(n), np.ones(n))))
    dofs = np.array([probe.jnt_dofadr[probe.joint(j.name).id] for j in d.joints])
    inertia = effective_inertia(probe, dofs)
    omega = 2 * math.pi * d.servo_hz
    kp = inertia * omega**2
    kv = 2 * d.damping_ratio * inertia * omega
    # Enough force for the acceleration limit three times over (gravity is compensated).
    force = np.maximum(3.0 * inertia * np.array([j.max_acceleration for j in d.joints]), 1.0)
    return _skeleton(d, _actuators(d, kp, kv, force))


@functools.lru_cache(maxsize=256)
def generate(family: str, seed: int, dof: int, gripper: bool = False) -> str:
    """The MJCF text of a generated arm (cached: it is a pure function of its arguments)."""
    return render(design(family, seed, dof, gripper))


def source(tag: str):
    """The registry source for a generated tag like ``gen-s42-6dof`` or ``novel-s1-7dof-grip``."""
    from robosoul_simulation.bodies import BodySource

    family, s, d, *grip = tag.split("-")
    return BodySource(tag=tag, mjcf=generate(family, int(s[1:]), int(d[0]), bool(grip)))
