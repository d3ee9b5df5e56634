"""The arms RoboSoul knows by embodiment tag, loaded from their MJCF models.

A registry entry (`ArmSpec`) names the model file and what the MJCF cannot
say: the resting posture the inverse kinematics prefers, and the joint
sub-ranges that random starts and reach targets are drawn from. Everything
physical comes from the MJCF itself: joint names, types and limits from
``<joint>``, effort limits from the actuators' ``forcerange``, and speed and
acceleration limits from two ``<custom><numeric>`` entries, ``max_velocity``
and ``max_acceleration``, one number per actuated joint in joint order.

    >>> arm = load_arm("rs-arm4")
    >>> arm.joint_names
    ('base_yaw', 'shoulder_pitch', 'elbow_pitch', 'wrist_pitch')
    >>> embodiment_for("rs-arm4").control_rate_hz
    50.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources

import mujoco
import numpy as np

from robosoul.v1 import robot_pb2, tensor_pb2
from robosoul_core.errors import InvalidArgument, NotFound
from robosoul_simulation.kinematics import Kinematics

CONTROL_RATE_HZ = 50.0


@dataclass(frozen=True)
class ArmSpec:
    """A registry entry: where the model is and how to pick sensible poses for it."""

    model_file: str
    ee_site: str
    # Posture the IK drifts towards in its null space; the joint named by
    # `azimuth_joint` (a base yaw about z) is seeded with the target's azimuth instead.
    rest: tuple[float, ...]
    # Sub-ranges (lo, hi) per joint for random starts and for the configurations
    # whose tool-tip positions become reach targets.
    start_range: tuple[tuple[float, float], ...]
    target_range: tuple[tuple[float, float], ...]
    azimuth_joint: int | None = 0
    # Reach targets keep this clearance from the floor and from the base's axis, and
    # every link origin stays `link_clearance` above the floor.
    min_target_height: float = 0.06
    min_target_radius: float = 0.15
    link_clearance: float = 0.04
    camera_width: int = 320
    camera_height: int = 240
    camera_fps: float = 5.0


ARMS: dict[str, ArmSpec] = {
    "rs-arm4": ArmSpec(
        model_file="rs_arm4.xml",
        ee_site="ee",
        rest=(0.0, 0.3, 1.3, 0.6),
        start_range=((-2.0, 2.0), (-0.3, 1.3), (0.0, 2.0), (-0.5, 1.5)),
        target_range=((-2.2, 2.2), (-0.2, 1.3), (0.6, 2.2), (-0.3, 1.6)),
    ),
}


def known_tags() -> list[str]:
    return sorted(ARMS)


def spec_for(tag: str) -> ArmSpec:
    try:
        return ARMS[tag]
    except KeyError:
        raise NotFound(f"unknown embodiment tag {tag!r}; known: {', '.join(known_tags())}") from None


def mjcf_text(tag: str) -> str:
    """The MJCF source of a registered arm."""
    spec = spec_for(tag)
    return resources.files("robosoul_simulation").joinpath("models", spec.model_file).read_text(encoding="utf-8")


class Arm:
    """One loaded arm: its MuJoCo model and the per-joint facts read from it.

    Joint vectors everywhere (positions, limits, targets) are in `joint_names` order,
    which is the order of the actuators in the MJCF.
    """

    def __init__(self, tag: str, spec: ArmSpec, xml: str):
        self.tag = tag
        self.spec = spec
        self.mjcf = xml
        self.model = mujoco.MjModel.from_xml_string(xml)
        m = self.model
        if m.nu == 0:
            raise InvalidArgument(f"{tag}: the model has no actuators")
        joint_ids = []
        for a in range(m.nu):
            if m.actuator_trntype[a] != mujoco.mjtTrn.mjTRN_JOINT:
                raise InvalidArgument(f"{tag}: actuator {m.actuator(a).name!r} does not drive a joint")
            joint_ids.append(int(m.actuator_trnid[a, 0]))
        self.joint_ids = np.array(joint_ids)
        self.actuator_ids = np.arange(m.nu)
        self.joint_names = tuple(m.joint(j).name for j in joint_ids)
        self.n = len(joint_ids)
        self.qpos_adr = m.jnt_qposadr[self.joint_ids].copy()
        self.dof_adr = m.jnt_dofadr[self.joint_ids].copy()
        unlimited = [self.joint_names[i] for i, j in enumerate(joint_ids) if not m.jnt_limited[j]]
        if unlimited:
            raise InvalidArgument(f"{tag}: joints {unlimited} have no range; every joint needs position limits")
        self.lower = m.jnt_range[self.joint_ids, 0].copy()
        self.upper = m.jnt_range[self.joint_ids, 1].copy()
        self.max_velocity = self._numeric("max_velocity")
        self.max_acceleration = self._numeric("max_acceleration")
        self.max_effort = np.array(
            [
                max(abs(m.actuator_forcerange[a, 0]), abs(m.actuator_forcerange[a, 1])) if m.actuator_forcelimited[a] else 0.0
                for a in range(m.nu)
            ]
        )
        # Position servos: force = kp * (target - q) - kv * qdot. A joint moving at a
        # steady speed v sits (kv / kp) * v behind its target, which the expert
        # feeds forward so that consecutive action chunks join without a step back.
        kp = m.actuator_gainprm[: m.nu, 0]
        kv = -m.actuator_biasprm[: m.nu, 2]
        self.servo_lag_s = np.where(kp > 0, kv / np.maximum(kp, 1e-9), 0.0)
        self.ee_site = spec.ee_site
        self.ee_site_id = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, spec.ee_site)
        if self.ee_site_id < 0:
            raise InvalidArgument(f"{tag}: the model has no site named {spec.ee_site!r}")
        self.rest = np.array(spec.rest, dtype=float)
        self.start_lo, self.start_hi = np.array(spec.start_range, dtype=float).T
        self.target_lo, self.target_hi = np.array(spec.target_range, dtype=float).T
        for name, value in (("rest", self.rest), ("start_range", self.start_lo), ("target_range", self.target_lo)):
            if value.shape != (self.n,):
                raise InvalidArgument(f"{tag}: {name} has {value.shape[0]} entries for {self.n} joints")
        self.kinematics = Kinematics(self)

    def _numeric(self, name: str) -> np.ndarray:
        i = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_NUMERIC, name)
        if i < 0:
            raise InvalidArgument(f"{self.tag}: the MJCF lacks <custom><numeric name={name!r}> (one value per joint)")
        adr, size = self.model.numeric_adr[i], self.model.numeric_size[i]
        values = self.model.numeric_data[adr : adr + size].copy()
        if size != self.n or np.any(values <= 0):
            raise InvalidArgument(f"{self.tag}: numeric {name!r} needs {self.n} positive values, got {values.tolist()}")
        return values

    def clamp(self, q: np.ndarray) -> np.ndarray:
        return np.clip(q, self.lower, self.upper)

    def sample_start(self, rng: np.random.Generator) -> np.ndarray:
        """A random joint configuration in the start sub-range with every link above the floor."""
        while True:
            q = rng.uniform(self.start_lo, self.start_hi)
            if self.kinematics.lowest_link(q) >= self.spec.link_clearance:
                return q

    def sample_target(self, rng: np.random.Generator) -> np.ndarray:
        """A reachable reach target (xyz, metres, world frame).

        The tool tip of a random configuration in the target sub-range, kept only when
        it is above the floor, away from the base's axis, with every link above the
        floor, and when the expert's IK reaches it from its canonical seed inside
        the joint limits.
        """
        spec = self.spec
        while True:
            q = rng.uniform(self.target_lo, self.target_hi)
            x = self.kinematics.ee_position(q)
            if x[2] < spec.min_target_height or math.hypot(x[0], x[1]) < spec.min_target_radius:
                continue
            if self.kinematics.lowest_link(q) < spec.link_clearance:
                continue
            goal, err = self.kinematics.solve_ik(x)
            if err > 1e-4 or self.kinematics.lowest_link(goal) < spec.link_clearance:
                continue
            return x


def load_arm(tag: str) -> Arm:
    """Load a registered arm (parses its MJCF; a few milliseconds)."""
    return Arm(tag, spec_for(tag), mjcf_text(tag))


_JOINT_TYPES = {
    int(mujoco.mjtJoint.mjJNT_HINGE): robot_pb2.JOINT_TYPE_REVOLUTE,
    int(mujoco.mjtJoint.mjJNT_SLIDE): robot_pb2.JOINT_TYPE_PRISMATIC,
}


def _camera_specs(arm: Arm) -> list[robot_pb2.CameraSpec]:
    m, spec = arm.model, arm.spec
    cams = []
    for c in range(m.ncam):
        # Pinhole intrinsics from MuJoCo's vertical field of view; the pose is MuJoCo's
        # camera frame (x right, y up, looking along -z) in the world (= base) frame.
        f = 0.5 * spec.camera_height / math.tan(math.radians(m.cam_fovy[c]) / 2)
        pos, quat = m.cam_pos[c], m.cam_quat[c]
        cams.append(
            robot_pb2.CameraSpec(
                name=m.camera(c).name,
                width=spec.camera_width,
                height=spec.camera_height,
                fps=spec.camera_fps,
                intrinsics=robot_pb2.CameraIntrinsics(fx=f, fy=f, cx=spec.camera_width / 2, cy=spec.camera_height / 2),
                extrinsics=tensor_pb2.Pose(
                    position=tensor_pb2.Vec3(x=pos[0], y=pos[1], z=pos[2]),
                    orientation=tensor_pb2.Quaternion(w=quat[0], x=quat[1], y=quat[2], z=quat[3]),
                ),
            )
        )
    return cams


def embodiment_for(tag: str) -> robot_pb2.Embodiment:
    """The `robosoul.v1.Embodiment` of a registered arm, model included."""
    arm = load_arm(tag)
    m = arm.model
    joints = []
    for i, j in enumerate(arm.joint_ids):
        jtype = _JOINT_TYPES.get(int(m.jnt_type[j]))
        if jtype is None:
            raise InvalidArgument(f"{tag}: joint {arm.joint_names[i]!r} is neither a hinge nor a slide")
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
        embodiment_tag=tag,
        model=robot_pb2.SimulationModel(mjcf=arm.mjcf, end_effector_site=arm.ee_site),
    )
