"""Robot bodies RoboSoul can simulate: any single serial arm from its MJCF, and a registry.

`Arm.from_mjcf` takes any single-arm MJCF (a vendor's upload, a gymnasium model,
a generated arm) and finds what the simulation and the expert need: the chain of
actuated joints, the gripper, the end-effector site, limits, servo gains, a rest
pose, named poses, and a reachable workspace to draw start poses and targets from.

    >>> arm = load_body("rs-arm4")
    >>> arm.joint_names
    ('base_yaw', 'shoulder_pitch', 'elbow_pitch', 'wrist_pitch')
    >>> arm = Arm.from_mjcf(open("vendor_arm.xml").read(), "vendor-x", assets={"meshes/link1.stl": b"..."})
    >>> arm.warnings          # what had to be assumed or changed
    >>> embodiment_for(arm)   # robosoul.v1.Embodiment, model included

What is read from the MJCF, and the fallbacks:

- joints, types and limits from ``<joint>`` (a hinge without limits gets [-pi, pi]);
- effort limits from the actuators' ``forcerange`` (or a motor's gear x ctrlrange);
- speed and acceleration limits from ``<custom><numeric name="max_velocity">`` and
  ``max_acceleration`` (one number per actuated joint, actuator order); without
  them 2 rad/s and 6 rad/s^2 (0.25 m/s, 1.5 m/s^2 for slides), the acceleration
  capped by what the effort limit can give;
- the rest pose from a ``<keyframe><key name="home">``, else the middle of each
  joint's range (a gripper open); every keyframe is a named pose;
- the end effector from a site at the chain's tip (see `chains`), else a site added
  at the deepest body's origin;
- position servos, timestep, integrator and gravity compensation per `adapt`.

The registry (`load_body`, `training_bodies`, `held_out_bodies`) knows RoboSoul's
own rs-arm4, the gymnasium arms (Pusher's 7-DOF arm, Reacher's planar 2-DOF, read
from the installed gymnasium package) and procedurally generated arms
(`generator`): ``gen-s<seed>-<n>dof[-grip]`` for training, the ``novel`` family
for the held-out ones.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources

import mujoco
import numpy as np

from robosoul.v1 import robot_pb2, tensor_pb2
from robosoul_core.errors import InvalidArgument, NotFound
from robosoul_simulation.adapt import adapt, effective_inertia
from robosoul_simulation.chains import find_structure
from robosoul_simulation.kinematics import Kinematics

CONTROL_RATE_HZ = 50.0
DEFAULT_MAX_VELOCITY = {int(mujoco.mjtJoint.mjJNT_HINGE): 2.0, int(mujoco.mjtJoint.mjJNT_SLIDE): 0.25}
DEFAULT_MAX_ACCELERATION = {int(mujoco.mjtJoint.mjJNT_HINGE): 6.0, int(mujoco.mjtJoint.mjJNT_SLIDE): 1.5}
# Share of the effort limit the expert may spend on acceleration (the rest rejects disturbances).
EFFORT_FOR_ACCELERATION = 0.6
# Workspace: targets keep this height above the floor and this share of the reach away
# from the base's axis; the arm keeps these distances to the floor and to itself.
MIN_TARGET_HEIGHT = 0.06
MIN_TARGET_RADIUS_SHARE = 0.2
FLOOR_CLEARANCE = 0.02
SELF_CLEARANCE = 0.005
# Joint sub-ranges: starts within this share of the way from the rest pose to each
# limit; targets anywhere but this share of the range at either end.
START_SHARE = 0.6
TARGET_MARGIN_SHARE = 0.04
WORKSPACE_SAMPLES = 256
MAX_SAMPLING_ATTEMPTS = 2000
TARGET_IK_TOLERANCE = 1e-3
TARGET_BODY = "target"
HOME = "home"


@dataclass(frozen=True)
class BodySource:
    """Everything needed to rebuild an Arm (in another process, say): plain data, picklable."""

    tag: str
    mjcf: str
    assets: Mapping[str, bytes] = field(default_factory=dict)
    ee_site: str | None = None
    joint_order: tuple[str, ...] | None = None

    def load(self) -> Arm:
        return Arm.from_mjcf(self.mjcf, self.tag, self.assets, ee_site=self.ee_site, joint_order=self.joint_order)


@dataclass(frozen=True)
class Workspace:
    """Where the arm can usefully reach: derived from FK of random configurations."""

    base: np.ndarray
    reach: float
    floor_z: float | None
    planar: bool
    min_target_height: float
    min_target_radius: float
    floor_clearance: float
    self_clearance: float
    # The base yaw joint (vertical axis), if the chain starts with one, and the
    # azimuth of the tool tip at the rest pose; the IK seed turns it to face a target.
    azimuth_joint: int | None
    azimuth_at_rest: float
    azimuth_sign: float


def _compile(spec: mujoco.MjSpec, tag: str) -> mujoco.MjModel:
    try:
        return spec.compile()
    except ValueError as exc:
        raise InvalidArgument(f"{tag}: MuJoCo cannot compile the model: {exc}".strip()) from None


def load_spec(xml: str, tag: str, assets: Mapping[str, bytes] | None = None) -> mujoco.MjSpec:
    """Parse an MJCF into an MjSpec from memory only (includes and meshes from `assets`)."""
    files = {k: bytes(v) for k, v in (assets or {}).items()}
    try:
        return mujoco.MjSpec.from_string(xml, include=files, assets=files)
    except ValueError as exc:
        raise InvalidArgument(f"{tag}: MuJoCo cannot parse the model: {exc}".strip()) from None


class Arm:
    """One loaded arm: its MuJoCo model and the per-joint facts read from it.

    Joint vectors everywhere (positions, limits, targets) are in `joint_names` order:
    the chain's joints from the base outwards, then the gripper's, if any (or the
    registered embodiment's order, when one is given).
    """

    def __init__(self, source: BodySource):
        tag = source.tag
        self.tag = tag
        self.source = source
        self.assets = dict(source.assets)
        spec = load_spec(source.mjcf, tag, self.assets)
        model0 = _compile(spec, tag)
        structure = find_structure(model0)
        if not structure.chains:
            raise InvalidArgument(
                f"{tag}: no actuated joint chain; the arm needs one actuator (<position> or <motor>) per hinge or slide joint"
            )
        if len(structure.chains) > 1:
            names = [[model0.joint(j).name for j in c.joints] for c in structure.chains]
            raise InvalidArgument(f"{tag}: {len(structure.chains)} kinematic chains {names}; an Arm is one serial chain")
        chain = structure.chains[0]
        structure.warnings.extend(f"{s}; ignored" for s in structure.ignored_actuators)
        for j in chain.joints:
            if model0.jnt_type[j] == mujoco.mjtJoint.mjJNT_SLIDE and not model0.jnt_limited[j]:
                raise InvalidArgument(f"{tag}: slide joint {model0.joint(j).name!r} has no range; every joint needs position limits")
        adaptation = adapt(spec, model0, structure)
        warnings = list(structure.warnings) + adaptation.warnings
        changed = adaptation.changed

        if source.ee_site:
            if mujoco.mj_name2id(model0, mujoco.mjtObj.mjOBJ_SITE, source.ee_site) < 0:
                raise InvalidArgument(f"{tag}: the model has no site named {source.ee_site!r} for the end effector")
            ee_name = source.ee_site
        elif chain.ee_site >= 0:
            ee_name = model0.site(chain.ee_site).name
            if not ee_name:
                ee_name = "ee"
                spec.sites[chain.ee_site].name = ee_name
                warnings.append("the end-effector site had no name; named it 'ee'")
                changed = True
        else:
            body_name = model0.body(chain.ee_body).name or f"body{chain.ee_body}"
            ee_name = "ee" if mujoco.mj_name2id(model0, mujoco.mjtObj.mjOBJ_SITE, "ee") < 0 else "rs_ee"
            spec.bodies[chain.ee_body].add_site(name=ee_name, size=[0.01, 0.01, 0.01], group=3)
            warnings.append(f"no site at the end of the chain; the end effector is the origin of body {body_name!r} (site {ee_name!r} added)")
            changed = True

        self.warnings = warnings
        self.model = _compile(spec, tag) if changed else model0
        self.mjcf = spec.to_xml() if changed else source.mjcf
        m = self.model
        self.ee_site = ee_name
        self.ee_site_id = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, ee_name)
        self.ee_body_id = int(m.site_bodyid[self.ee_site_id])

        joints = list(chain.joints)
        actuators = list(chain.actuators)
        gripper = chain.gripper
        if gripper is not None and m.actuator_trntype[gripper.actuator] != mujoco.mjtTrn.mjTRN_JOINT:
            warnings.append(f"gripper actuator {m.actuator(gripper.actuator).name!r} drives a tendon; not part of the embodiment")
            gripper = None
        if gripper is not None:
            joints.append(gripper.joint)
            actuators.append(gripper.actuator)
        names = [m.joint(j).name for j in joints]
        if source.joint_order is not None:
            if sorted(source.joint_order) != sorted(names):
                raise InvalidArgument(
                    f"{tag}: the registered joints {list(source.joint_order)} are not the arm's actuated joints {names}"
                )
            order = [names.index(n) for n in source.joint_order]
            joints, actuators, names = [joints[i] for i in order], [actuators[i] for i in order], list(source.joint_order)
        self.joint_ids = np.array(joints)
        self.actuator_ids = np.array(actuators)
        self.joint_names = tuple(names)
        self.n = len(joints)
        self.gripper: int | None = names.index(m.joint(gripper.joint).name) if gripper is not None else None
        self._finger_joints = tuple(gripper.joints) if gripper is not None else ()
        self.chain = np.array([i for i in range(self.n) if i != self.gripper])
        self.qpos_adr = m.jnt_qposadr[self.joint_ids].copy()
        self.dof_adr = m.jnt_dofadr[self.joint_ids].copy()
        self.joint_types = m.jnt_type[self.joint_ids].copy()
        self.lower = m.jnt_range[self.joint_ids, 0].copy()
        self.upper = m.jnt_range[self.joint_ids, 1].copy()
        if np.any(self.lower >= self.upper):
            bad = [names[i] for i in np.flatnonzero(self.lower >= self.upper)]
            raise InvalidArgument(f"{tag}: joints {bad} have an empty range")
        self.max_effort = np.array(
            [max(abs(m.actuator_forcerange[a, 0]), abs(m.actuator_forcerange[a, 1])) if m.actuator_forcelimited[a] else 0.0 for a in actuators]
        )
        self.max_velocity, self.max_acceleration = self._speed_limits(actuators)
        # Position servos: force = kp * (target - q) - kv * qdot. A joint moving at a
        # steady speed v sits (kv / kp) * v behind its target, which the expert
        # feeds forward so that consecutive action chunks join without a step back.
        kp = m.actuator_gainprm[self.actuator_ids, 0]
        kv = -m.actuator_biasprm[self.actuator_ids, 2]
        self.servo_lag_s = np.where(kp > 0, kv / np.maximum(kp, 1e-9), 0.0)
        self.gripper_open = float(self.upper[self.gripper]) if self.gripper is not None else None
        self.gripper_closed = float(self.lower[self.gripper]) if self.gripper is not None else None

        self.named_poses = self._named_poses()
        self.rest = self.named_poses[HOME].copy()
        span = self.upper - self.lower
        self.start_lo = np.maximum(self.rest - START_SHARE * (self.rest - self.lower), self.lower + TARGET_MARGIN_SHARE * span)
        self.start_hi = np.minimum(self.rest + START_SHARE * (self.upper - self.rest), self.upper - TARGET_MARGIN_SHARE * span)
        self.target_lo = self.lower + TARGET_MARGIN_SHARE * span
        self.target_hi = self.upper - TARGET_MARGIN_SHARE * span
        if self.gripper is not None:
            self.start_lo[self.gripper], self.start_hi[self.gripper] = self.lower[self.gripper], self.upper[self.gripper]
        self.kinematics = Kinematics(self)
        self.workspace = self._workspace()

    # -- construction helpers --------------------------------------------------------

    @classmethod
    def from_mjcf(
        cls,
        xml: str,
        tag: str,
        assets: Mapping[str, bytes] | None = None,
        *,
        ee_site: str | None = None,
        joint_order: tuple[str, ...] | list[str] | None = None,
    ) -> Arm:
        """Load any single serial arm from its MJCF (and the files it refers to, by relative path).

        Trusted input only: untrusted uploads go through `validate.validate_model` first.
        """
        order = tuple(joint_order) if joint_order is not None else None
        return cls(BodySource(tag=tag, mjcf=xml, assets=dict(assets or {}), ee_site=ee_site, joint_order=order))

    def __reduce__(self):
        return (BodySource.load, (self.source,))

    def _numeric(self, name: str) -> np.ndarray | None:
        i = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_NUMERIC, name)
        if i < 0:
            return None
        adr, size = self.model.numeric_adr[i], self.model.numeric_size[i]
        values = self.model.numeric_data[adr : adr + size].copy()
        if size != self.n or np.any(values <= 0):
            raise InvalidArgument(f"{self.tag}: numeric {name!r} needs {self.n} positive values, got {values.tolist()}")
        return values

    def _speed_limits(self, actuators: list[int]) -> tuple[np.ndarray, np.ndarray]:
        m = self.model
        # The numerics list one value per actuated joint in actuator order.
        by_actuator = np.argsort(np.argsort(actuators))
        vel, acc = self._numeric("max_velocity"), self._numeric("max_acceleration")
        defaults = []
        if vel is None:
            vel = np.array([DEFAULT_MAX_VELOCITY[int(t)] for t in self.joint_types])
            defaults.append("max_velocity")
        else:
            vel = vel[by_actuator]
        if acc is None:
            acc = np.array([DEFAULT_MAX_ACCELERATION[int(t)] for t in self.joint_types])
            inertia = effective_inertia(m, self.dof_adr)
            cap = np.where(self.max_effort > 0, EFFORT_FOR_ACCELERATION * self.max_effort / np.maximum(inertia, 1e-9), np.inf)
            acc = np.minimum(acc, cap)
            defaults.append("max_acceleration")
        else:
            acc = acc[by_actuator]
        if defaults:
            self.warnings.append(
                f"no <custom><numeric> {' / '.join(defaults)}; assumed speed {np.round(vel, 2).tolist()} and "
                f"acceleration {np.round(acc, 2).tolist()} per joint"
            )
        return vel, acc

    def _named_poses(self) -> dict[str, np.ndarray]:
        m = self.model
        poses = {}
        for k in range(m.nkey):
            name = m.key(k).name
            if name:
                poses[name] = self.clamp(m.key_qpos[k, self.qpos_adr].copy())
        if HOME not in poses:
            mid = (self.lower + self.upper) / 2
            if self.gripper is not None:
                mid[self.gripper] = self.upper[self.gripper]
            poses[HOME] = mid
        return poses

    def _workspace(self) -> Workspace:
        m, kin = self.model, self.kinematics
        data = kin.data
        kin._set(self.rest)
        j0 = int(self.joint_ids[self.chain[0]])
        base = data.xanchor[j0].copy()
        ee_rest = self.ee_point(data).copy()
        axis0 = data.xaxis[j0].copy()
        azimuth_joint, azimuth_at_rest, sign = None, 0.0, 1.0
        d = ee_rest - base
        if m.jnt_type[j0] == mujoco.mjtJoint.mjJNT_HINGE and abs(axis0[2]) > 0.999 and math.hypot(d[0], d[1]) > 1e-3:
            azimuth_joint, azimuth_at_rest, sign = int(self.chain[0]), math.atan2(d[1], d[0]), float(np.sign(axis0[2]))

        moving = self._moving_bodies()
        moving_geoms = [g for g in range(m.ngeom) if int(m.geom_bodyid[g]) in moving]
        floors = [
            g
            for g in range(m.ngeom)
            if m.geom_bodyid[g] == 0 and m.geom_type[g] == mujoco.mjtGeom.mjGEOM_PLANE and data.geom_xmat[g, 8] > 0.999
            and data.geom_xpos[g, 2] < base[2]
        ]
        floor_z = max((float(data.geom_xpos[g, 2]) for g in floors), default=None)
        floor_pairs = [
            (g, f)
            for f in floors
            for g in moving_geoms
            if (m.geom_contype[g] & m.geom_conaffinity[f]) or (m.geom_contype[f] & m.geom_conaffinity[g])
        ]
        finger_bodies = self._finger_bodies()
        self_pairs = []
        for i, g1 in enumerate(moving_geoms):
            for g2 in moving_geoms[i + 1 :]:
                b1, b2 = int(m.geom_bodyid[g1]), int(m.geom_bodyid[g2])
                if b1 == b2 or (b1 in finger_bodies and b2 in finger_bodies) or _tree_distance(m, b1, b2) < 2:
                    continue
                self_pairs.append((g1, g2))
        kin.set_clearance_pairs(floor_pairs, self_pairs)
        floor_at_rest, self_at_rest = kin.clearance(self.rest)
        # Pairs already touching at the rest pose are part of the design (a link resting
        # on the ground, overlapping shells): they are not checked.
        if floor_at_rest < FLOOR_CLEARANCE:
            floor_pairs = [p for p in floor_pairs if kin._pair_distance([p]) >= FLOOR_CLEARANCE]
        if self_at_rest < SELF_CLEARANCE:
            self_pairs = [p for p in self_pairs if kin._pair_distance([p]) >= SELF_CLEARANCE]
        kin.set_clearance_pairs(floor_pairs, self_pairs)

        rng = np.random.default_rng(0)
        points = np.array([kin.ee_position(rng.uniform(self.lower, self.upper)) for _ in range(WORKSPACE_SAMPLES)])
        reach = float(np.max(np.linalg.norm(points - base, axis=1)))
        planar = float(np.ptp(points[:, 2])) < 0.01
        if floor_z is None:
            self.warnings.append("no floor plane below the base; reach targets are not kept above a floor")
        return Workspace(
            base=base,
            reach=reach,
            floor_z=floor_z,
            planar=planar,
            min_target_height=MIN_TARGET_HEIGHT,
            min_target_radius=MIN_TARGET_RADIUS_SHARE * reach,
            floor_clearance=FLOOR_CLEARANCE,
            self_clearance=SELF_CLEARANCE,
            azimuth_joint=azimuth_joint,
            azimuth_at_rest=azimuth_at_rest,
            azimuth_sign=sign,
        )

    def _moving_bodies(self) -> set[int]:
        m = self.model
        roots = {int(m.jnt_bodyid[j]) for j in self.joint_ids}
        out = set()
        for b in range(1, m.nbody):
            x = b
            while x > 0:
                if x in roots:
                    out.add(b)
                    break
                x = int(m.body_parentid[x])
        return out

    def _finger_bodies(self) -> set[int]:
        """Bodies the gripper's joints move (the fingers and what they carry)."""
        m = self.model
        roots = {int(m.jnt_bodyid[j]) for j in self._finger_joints}
        out = set()
        for b in range(1, m.nbody):
            x = b
            while x > 0 and x not in roots:
                x = int(m.body_parentid[x])
            if x > 0:
                out.add(b)
        return out

    # -- the end effector ------------------------------------------------------------

    def ee_point(self, data: mujoco.MjData) -> np.ndarray:
        """The end-effector position in `data` (kinematics computed)."""
        return data.site_xpos[self.ee_site_id]

    def ee_frame(self, data: mujoco.MjData) -> np.ndarray:
        return data.site_xmat[self.ee_site_id].reshape(3, 3)

    # -- poses and targets -----------------------------------------------------------

    @property
    def dof(self) -> int:
        """Arm joints (the gripper not counted)."""
        return len(self.chain)

    def clamp(self, q: np.ndarray) -> np.ndarray:
        return np.clip(q, self.lower, self.upper)

    @property
    def crossing_time_s(self) -> float:
        """How long the expert takes, rest to rest, for the longest joint move from a start to a target pose."""
        c = self.chain
        span = np.maximum(self.target_hi - self.start_lo, self.start_hi - self.target_lo)[c]
        # The expert's own profile: 80 % of the speed limit, braking at half the acceleration limit.
        v, a = 0.8 * self.max_velocity[c], 0.5 * self.max_acceleration[c]
        t = np.where(span < v**2 / a, 2 * np.sqrt(span / a), span / v + v / a)
        return float(t.max())

    def _attempts(self, what: str):
        for _ in range(MAX_SAMPLING_ATTEMPTS):
            yield
        raise InvalidArgument(f"{self.tag}: no {what} found in {MAX_SAMPLING_ATTEMPTS} tries; is the arm's workspace blocked?")

    def sample_start(self, rng: np.random.Generator) -> np.ndarray:
        """A random joint configuration in the start sub-range, clear of the floor and itself."""
        for _ in self._attempts("start pose"):
            q = rng.uniform(self.start_lo, self.start_hi)
            if self.kinematics.is_clear(q):
                return q
        raise AssertionError  # unreachable

    def sample_pose(self, rng: np.random.Generator) -> np.ndarray:
        """A random clear joint configuration in the target sub-range (a MOVE_TO_POSE goal)."""
        for _ in self._attempts("pose"):
            q = rng.uniform(self.target_lo, self.target_hi)
            if self.kinematics.is_clear(q) and self._target_ok(self.kinematics.ee_position(q)):
                return q
        raise AssertionError

    def _target_ok(self, x: np.ndarray) -> bool:
        ws = self.workspace
        if not ws.planar and ws.floor_z is not None and x[2] < ws.floor_z + ws.min_target_height:
            return False
        d = x - ws.base
        radius = math.hypot(d[0], d[1]) if ws.azimuth_joint is not None else float(np.linalg.norm(d))
        return radius >= ws.min_target_radius

    def sample_target(self, rng: np.random.Generator) -> np.ndarray:
        """A reachable reach target (xyz, metres, world frame).

        The tool tip of a random configuration in the target sub-range, kept only when
        it is above the floor, away from the base's axis, with the arm clear of the
        floor and itself, and when the expert's IK reaches it from its canonical seed
        inside the joint limits, clear as well.
        """
        kin = self.kinematics
        for _ in self._attempts("reach target"):
            q = rng.uniform(self.target_lo, self.target_hi)
            x = kin.ee_position(q)
            if not self._target_ok(x) or not kin.is_clear(q):
                continue
            goal, err = kin.solve_ik(x)
            if err > TARGET_IK_TOLERANCE or not kin.is_clear(goal):
                continue
            return x
        raise AssertionError


def _tree_distance(m: mujoco.MjModel, a: int, b: int) -> int:
    pa, pb = [a], [b]
    while pa[-1] > 0:
        pa.append(int(m.body_parentid[pa[-1]]))
    while pb[-1] > 0:
        pb.append(int(m.body_parentid[pb[-1]]))
    common = set(pa) & set(pb)
    return min(pa.index(c) + pb.index(c) for c in common)


# -- the registry ----------------------------------------------------------------------


def _packaged(name: str) -> str:
    return resources.files("robosoul_simulation").joinpath("models", name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class BodyKind:
    """A registry entry: the tags it answers and how to make their source."""

    pattern: re.Pattern[str]
    source: Callable[[re.Match[str]], BodySource]
    describe: str


def _rs_arm4(_: re.Match[str]) -> BodySource:
    return BodySource(tag="rs-arm4", mjcf=_packaged("rs_arm4.xml"))


def _gym(match: re.Match[str]) -> BodySource:
    from robosoul_simulation import gym_bodies

    return gym_bodies.source(match.group(0))


def _generated(match: re.Match[str]) -> BodySource:
    from robosoul_simulation import generator

    return generator.source(match.group(0))


KINDS: tuple[BodyKind, ...] = (
    BodyKind(re.compile(r"rs-arm4"), _rs_arm4, "rs-arm4"),
    BodyKind(re.compile(r"gym-(pusher|reacher)"), _gym, "gym-pusher, gym-reacher"),
    BodyKind(re.compile(r"(gen|novel)-s(\d{1,9})-([3-7])dof(-grip)?"), _generated, "gen-s<seed>-<3..7>dof[-grip]"),
)

# Procedural arms the generalist trains on: (seed, dof, gripper). Chosen for spread:
# every DOF from 3 to 7, a third with a gripper.
TRAINING_GENERATED: tuple[tuple[int, int, bool], ...] = (
    (1, 3, False), (2, 3, False), (3, 3, False),
    (4, 4, False), (5, 4, False), (6, 4, True), (7, 4, True),
    (8, 5, False), (9, 5, False), (10, 5, True), (11, 5, True),
    (12, 6, False), (13, 6, False), (14, 6, True), (15, 6, True),
    (16, 7, False), (17, 7, False), (18, 7, True), (19, 7, True),
    (20, 5, False), (21, 6, False),
)  # fmt: skip
HELD_OUT: tuple[str, ...] = ("gym-pusher", "novel-s1-6dof", "novel-s2-7dof")


def generated_tag(family: str, seed: int, dof: int, gripper: bool) -> str:
    return f"{family}-s{seed}-{dof}dof{'-grip' if gripper else ''}"


def training_bodies() -> list[str]:
    """Tags of the bodies the generalist policy trains on (its table numbers them by tag: see policy.json)."""
    return ["rs-arm4", "gym-reacher", *(generated_tag("gen", s, d, g) for s, d, g in TRAINING_GENERATED)]


def held_out_bodies() -> list[str]:
    """Three 6-7-DOF bodies never used in training: gym Pusher and two from an unseen seed family."""
    return list(HELD_OUT)


def known_tags() -> list[str]:
    return training_bodies() + held_out_bodies()


def body_source(tag: str) -> BodySource:
    for kind in KINDS:
        match = kind.pattern.fullmatch(tag)
        if match:
            return kind.source(match)
    raise NotFound(
        f"unknown embodiment tag {tag!r}; known: {', '.join(known_tags())} (and any {'; '.join(k.describe for k in KINDS[2:])})"
    )


def load_body(tag: str) -> Arm:
    """Load a registered or generated body by tag (parses and analyses its MJCF; tens of ms)."""
    return body_source(tag).load()


def load_arm(tag: str) -> Arm:
    """Alias of `load_body` (the older name)."""
    return load_body(tag)


# -- the protocol's view -----------------------------------------------------------------

_JOINT_TYPES = {
    int(mujoco.mjtJoint.mjJNT_HINGE): robot_pb2.JOINT_TYPE_REVOLUTE,
    int(mujoco.mjtJoint.mjJNT_SLIDE): robot_pb2.JOINT_TYPE_PRISMATIC,
}
CAMERA_WIDTH, CAMERA_HEIGHT, CAMERA_FPS = 320, 240, 5.0


def _camera_specs(arm: Arm) -> list[robot_pb2.CameraSpec]:
    m = arm.model
    cams = []
    for c in range(m.ncam):
        # Pinhole intrinsics from MuJoCo's vertical field of view; the pose is MuJoCo's
        # camera frame (x right, y up, looking along -z) in the world (= base) frame.
        f = 0.5 * CAMERA_HEIGHT / math.tan(math.radians(m.cam_fovy[c]) / 2)
        pos, quat = m.cam_pos[c], m.cam_quat[c]
        cams.append(
            robot_pb2.CameraSpec(
                name=m.camera(c).name,
                width=CAMERA_WIDTH,
                height=CAMERA_HEIGHT,
                fps=CAMERA_FPS,
                intrinsics=robot_pb2.CameraIntrinsics(fx=f, fy=f, cx=CAMERA_WIDTH / 2, cy=CAMERA_HEIGHT / 2),
                extrinsics=tensor_pb2.Pose(
                    position=tensor_pb2.Vec3(x=pos[0], y=pos[1], z=pos[2]),
                    orientation=tensor_pb2.Quaternion(w=quat[0], x=quat[1], y=quat[2], z=quat[3]),
                ),
            )
        )
    return cams


def embodiment_for(body: str | Arm) -> robot_pb2.Embodiment:
    """The `robosoul.v1.Embodiment` of a body (by tag, or a loaded Arm), model included."""
    arm = load_body(body) if isinstance(body, str) else body
    joints = []
    for i in range(arm.n):
        jtype = robot_pb2.JOINT_TYPE_GRIPPER if i == arm.gripper else _JOINT_TYPES[int(arm.joint_types[i])]
        joints.append(
            robot_pb2.Joint(
                name=arm.joint_names[i],
                type=jtype,
                position_limits=robot_pb2.Range(min=float(arm.lower[i]), max=float(arm.upper[i])),
                max_velocity=float(arm.max_velocity[i]),
                max_effort=float(arm.max_effort[i]),
            )
        )
    return robot_pb2.Embodiment(
        joints=joints,
        cameras=_camera_specs(arm),
        control_rate_hz=CONTROL_RATE_HZ,
        embodiment_tag=arm.tag,
        named_poses={name: robot_pb2.JointPositions(positions=q.tolist()) for name, q in arm.named_poses.items()},
        model=robot_pb2.SimulationModel(mjcf=arm.mjcf, end_effector_site=arm.ee_site, assets=dict(arm.assets)),
    )
