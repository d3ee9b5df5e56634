"""The flagship demo's table: an arm, coloured cubes and balls in front of it, a camera.

    >>> arm = load_body("gen-s10-5dof-grip")
    >>> top = random_tabletop(arm, seed=7, n_objects=3, n_distractors=2)
    >>> top.pick                       # 'red_cube': a 3 cm cube the gripper can take from above
    >>> top.objects[0]                 # TableObject(name='red_cube', colour='red', shape='cube', size=0.03, centre=(...), ...)
    >>> sim = SimArm(arm, top.model)   # the objects start where the layout put them
    >>> with CameraRig(top.model, top.camera) as rig:
    ...     image = rig.render(sim.data)

    >>> tabletop_scene(arm, [ObjectSpec("blue", "ball", 0.04, x=0.35, y=-0.1)])   # a layout of your own

Objects stand on the floor (the table) in front of the arm: cubes and balls in six
named colours, 3-5 cm (edge or diameter), 50 g, with free joints that come after
the arm's joints, so the arm's qpos addresses are unchanged (as in `scene`).
Distractors are cylinders in white, black (ignored by colour segmentation) or brown
(reported as a brown object the robot can be asked about). Every position is in the
base frame (= the model's world frame for RoboSoul's arms; see `camera`).

The arm is shown in neutral greys, each part as light as its own colour was: real
arms are grey, black or white, and a coloured link would be taken for an object by
colour segmentation. Only colours change (geoms and materials; textures go), not
physics. The floor is a plain mid grey without texture or reflection. The arm's own
lights stay, without shadows; a key light over the table casts them (a 1k shadow
map, no multisampling: about 35-60 ms per 640x480 frame with software rendering,
against 300 ms at MuJoCo's defaults). A fixed camera named ``front`` (640x480, fovy 55°) stands in
front of the arm, 0.9 m from the floor point 0.4 reach in front of the base, and
looks at it pitched down 45°; a camera of that name in the arm's model is replaced.

`random_layout` draws, from a seed alone: distinct (colour, shape) pairs, sizes,
yaws and positions that keep a gap between objects, stay in the camera's view and
(coloured objects) can be reached from above by the arm: a top grasp for arms with
a gripper (as the grasp skill does it), the point above the object otherwise. The
first object, `Tabletop.pick`, is a 3 cm cube like `scene`'s box.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mujoco
import numpy as np

from robosoul_core.camera import PinholeCamera, matrix_to_quaternion
from robosoul_core.errors import InvalidArgument
from robosoul_simulation.bodies import TARGET_IK_TOLERANCE, Arm, load_spec
from robosoul_simulation.kinematics import DOWN
from robosoul_simulation.scene import OBJECT_HALF, OBJECT_MASS
from robosoul_simulation.skills import GRASP_ABOVE, GRASP_DZ, GRASP_IK_TOLERANCE, GRASP_LIFT

COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.80, 0.08, 0.08),
    "green": (0.10, 0.60, 0.18),
    "blue": (0.10, 0.25, 0.85),
    "yellow": (0.92, 0.82, 0.10),
    "orange": (0.95, 0.45, 0.05),
    "purple": (0.48, 0.14, 0.65),
}
DISTRACTOR_COLOURS: dict[str, tuple[float, float, float]] = {
    "white": (0.92, 0.92, 0.90),
    "black": (0.07, 0.07, 0.08),
    "brown": (0.42, 0.27, 0.15),
}
SHAPES = ("cube", "ball")
DISTRACTOR_SHAPE = "cylinder"
SIZE_RANGE = (0.03, 0.05)  # edge or diameter, metres
PICK_SIZE = 2 * OBJECT_HALF
CYLINDER_HEIGHT_SHARE = 1.5  # a distractor cylinder is this many diameters tall
FLOOR_RGBA = (0.5, 0.5, 0.5, 1.0)
# The arm is recoloured to greys as light as its own colours (Rec. 709 luma), kept
# within this range so that dark parts stay apart from the black distractor and light
# ones from the white.
ARM_GREY_RANGE = (0.15, 0.85)
LUMA = (0.2126, 0.7152, 0.0722)
KEY_LIGHT_OFFSET = (0.3, -0.5, 1.6)  # from the middle of the object area
KEY_LIGHT_CUTOFF_DEG = 35.0
CAMERA = "front"
CAMERA_DISTANCE = 0.9
CAMERA_PITCH_DEG = 45.0
LOOK_SHARE = 0.4  # the camera looks at the floor this share of the reach in front of the base
CAMERA_FOVY_DEG = 55.0
IMAGE_SIZE = (640, 480)
# Where objects go: this share of the reach from the base's axis, within this many
# degrees either side of the arm's front, this free gap between footprints, and this
# many pixels inside the image's border.
RADIUS_SHARE = (0.3, 0.7)
SPREAD_DEG = 45.0
GAP = 0.04
IMAGE_MARGIN_PX = 30
PLACEMENT_TRIES = 500
# Reachability without a gripper: the point this far above the object's top.
REACH_ABOVE = 0.05


@dataclass(frozen=True)
class ObjectSpec:
    """One object to put on the table: `size` is the edge (cube) or diameter (ball, cylinder)."""

    colour: str
    shape: str
    size: float
    x: float
    y: float
    yaw: float = 0.0
    distractor: bool = False


@dataclass(frozen=True)
class TableObject:
    """Ground truth for one object: where its centre rests (base frame, metres)."""

    name: str
    colour: str
    shape: str
    size: float
    height: float
    centre: tuple[float, float, float]
    yaw: float
    distractor: bool
    rgb: tuple[float, float, float]


@dataclass(frozen=True)
class Tabletop:
    model: mujoco.MjModel
    objects: tuple[TableObject, ...]
    camera: str
    image_size: tuple[int, int]
    pick: str | None = None

    def object(self, name: str) -> TableObject:
        for o in self.objects:
            if o.name == name:
                return o
        raise InvalidArgument(f"no object named {name!r} on the table; there are {[o.name for o in self.objects]}")

    def positions(self, data: mujoco.MjData) -> dict[str, np.ndarray]:
        """Where each object's centre is now (after physics moved them; kinematics computed)."""
        return {o.name: data.xpos[mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, o.name)].copy() for o in self.objects}


# -- layouts --------------------------------------------------------------------------------


def _floor_z(arm: Arm) -> float:
    return arm.workspace.floor_z if arm.workspace.floor_z is not None else 0.0


def _front(arm: Arm) -> float:
    ws = arm.workspace
    return ws.azimuth_at_rest if ws.azimuth_joint is not None else 0.0


def _region(arm: Arm) -> tuple[float, float]:
    ws = arm.workspace
    return RADIUS_SHARE[0] * ws.reach, RADIUS_SHARE[1] * ws.reach


def camera_placement(
    arm: Arm,
    distance: float = CAMERA_DISTANCE,
    pitch_deg: float = CAMERA_PITCH_DEG,
    *,
    fovy_deg: float = CAMERA_FOVY_DEG,
    image_size: tuple[int, int] = IMAGE_SIZE,
) -> PinholeCamera:
    """The `front` camera (base frame), level, looking at the floor in front of the arm."""
    if not distance > 0 or not 0 < pitch_deg < 90:
        raise InvalidArgument(f"camera distance must be > 0 and pitch in (0, 90) degrees; got {distance}, {pitch_deg}")
    ws = arm.workspace
    a = _front(arm)
    r = LOOK_SHARE * ws.reach
    look = np.array([ws.base[0] + r * math.cos(a), ws.base[1] + r * math.sin(a), _floor_z(arm)])
    p = math.radians(pitch_deg)
    eye = look + distance * np.array([math.cos(p) * math.cos(a), math.cos(p) * math.sin(a), math.sin(p)])
    w, h = image_size
    return PinholeCamera.look_at(eye, look, width=w, height=h, fov_y_deg=fovy_deg, name=CAMERA)


def _footprint(shape: str, size: float) -> float:
    return size / 2 * (math.sqrt(2) if shape == "cube" else 1.0)


def _height(shape: str, size: float) -> float:
    return size * CYLINDER_HEIGHT_SHARE if shape == DISTRACTOR_SHAPE else size


def _reachable(arm: Arm, centre: np.ndarray, height: float) -> bool:
    kin = arm.kinematics
    up = np.array([0.0, 0.0, 1.0])
    if arm.gripper is not None:
        for dz in (GRASP_ABOVE, GRASP_DZ, GRASP_LIFT):  # the grasp skill's approach, grasp and lift
            q, err = kin.solve_ik(centre + up * dz, axis=DOWN)
            if err > GRASP_IK_TOLERANCE or not kin.is_clear(q):
                return False
        return True
    q, err = kin.solve_ik(centre + up * (height / 2 + REACH_ABOVE))
    return err <= TARGET_IK_TOLERANCE and kin.is_clear(q)


def random_layout(arm: Arm, seed: int, n_objects: int = 3, n_distractors: int = 0) -> list[ObjectSpec]:
    """A random layout, the same for the same (arm, seed, counts); the first object is the pick target."""
    pairs = [(c, s) for c in COLOURS for s in SHAPES]
    if not 1 <= n_objects <= len(pairs):
        raise InvalidArgument(f"n_objects must be 1-{len(pairs)} (distinct colour-shape pairs), got {n_objects}")
    if not 0 <= n_distractors <= len(DISTRACTOR_COLOURS):
        raise InvalidArgument(f"n_distractors must be 0-{len(DISTRACTOR_COLOURS)}, got {n_distractors}")
    rng = np.random.default_rng(seed)
    # The pick target is a cube of some colour; the others are distinct other pairs.
    pick = (str(rng.choice(list(COLOURS))), "cube")
    rest = [p for p in pairs if p != pick]
    chosen = [pick] + [rest[i] for i in rng.permutation(len(rest))[: n_objects - 1]]
    kinds = [(c, s, PICK_SIZE if i == 0 else float(rng.uniform(*SIZE_RANGE)), False) for i, (c, s) in enumerate(chosen)]
    for c in rng.permutation(list(DISTRACTOR_COLOURS))[:n_distractors]:
        kinds.append((str(c), DISTRACTOR_SHAPE, float(rng.uniform(*SIZE_RANGE)), True))

    floor = _floor_z(arm)
    r0, r1 = _region(arm)
    front, spread = _front(arm), math.radians(SPREAD_DEG)
    cam = camera_placement(arm)
    base = arm.workspace.base
    placed: list[ObjectSpec] = []
    for colour, shape, size, distractor in kinds:
        height = _height(shape, size)
        for _ in range(PLACEMENT_TRIES):
            r, a = rng.uniform(r0, r1), front + rng.uniform(-spread, spread)
            x, y = base[0] + r * math.cos(a), base[1] + r * math.sin(a)
            reach = _footprint(shape, size)
            if any(math.hypot(x - o.x, y - o.y) < reach + _footprint(o.shape, o.size) + GAP for o in placed):
                continue
            centre = np.array([x, y, floor + height / 2])
            if not _in_view(cam, centre, size):
                continue
            if not distractor and not _reachable(arm, centre, height):
                continue
            yaw = float(rng.uniform(-math.pi / 4, math.pi / 4)) if shape == "cube" else 0.0
            placed.append(ObjectSpec(colour, shape, size, float(x), float(y), yaw, distractor))
            break
        else:
            raise InvalidArgument(
                f"{arm.tag}: no free, visible{'' if distractor else ', reachable'} place for a {size * 100:.1f} cm {colour} {shape} "
                f"after {len(placed)} objects in {PLACEMENT_TRIES} tries; ask for fewer objects"
            )
    return placed


def _in_view(cam: PinholeCamera, centre: np.ndarray, size: float) -> bool:
    uv, depth = cam.project(centre)
    (u, v), z = uv[0], float(depth[0])
    margin = IMAGE_MARGIN_PX + cam.fx * size / max(z, 1e-6)
    return z > 0 and margin <= u <= cam.width - 1 - margin and margin <= v <= cam.height - 1 - margin


def random_tabletop(arm: Arm, seed: int, n_objects: int = 3, n_distractors: int = 0) -> Tabletop:
    """`tabletop_scene` of `random_layout`: the same seed gives the same table."""
    return tabletop_scene(arm, random_layout(arm, seed, n_objects, n_distractors), pick=0)


# -- the scene ------------------------------------------------------------------------------


def _grey(rgba) -> list[float]:
    lo, hi = ARM_GREY_RANGE
    y = min(max(float(np.dot(LUMA, rgba[:3])), lo), hi)
    return [y, y, y, float(rgba[3])]


def _grey_arm(spec: mujoco.MjSpec) -> None:
    """Every geom and material of the arm's model in a neutral grey, its textures gone (visuals only)."""
    for geom in spec.geoms:
        # A geom at the default rgba shows its material's colour, greyed below; the
        # default is a grey that `_grey` keeps, so it stays the default.
        geom.rgba = _grey(geom.rgba)
    for material in spec.materials:
        material.rgba = _grey(material.rgba)
        material.textures = [""] * len(material.textures)


def _check(spec: ObjectSpec) -> None:
    colours = {**COLOURS, **DISTRACTOR_COLOURS}
    if spec.colour not in colours:
        raise InvalidArgument(f"unknown colour {spec.colour!r}; known: {list(colours)}")
    if spec.shape not in (*SHAPES, DISTRACTOR_SHAPE):
        raise InvalidArgument(f"unknown shape {spec.shape!r}; known: {[*SHAPES, DISTRACTOR_SHAPE]}")
    if not (math.isfinite(spec.size) and 0.005 <= spec.size <= 0.2):
        raise InvalidArgument(f"{spec.colour} {spec.shape}: size {spec.size} m is outside 0.005-0.2 m")
    if not all(math.isfinite(v) for v in (spec.x, spec.y, spec.yaw)):
        raise InvalidArgument(f"{spec.colour} {spec.shape}: position and yaw must be finite, got {(spec.x, spec.y, spec.yaw)}")


def tabletop_scene(
    arm: Arm,
    objects: list[ObjectSpec] | tuple[ObjectSpec, ...],
    *,
    pick: int | None = None,
    camera_distance: float = CAMERA_DISTANCE,
    camera_pitch_deg: float = CAMERA_PITCH_DEG,
    camera_fovy_deg: float = CAMERA_FOVY_DEG,
    image_size: tuple[int, int] = IMAGE_SIZE,
) -> Tabletop:
    """The arm's model, in greys, with `objects` on its floor, the plain floor, a key light and the `front` camera.

    `pick` is the index of the object the demo asks the arm to pick (None: none).
    Overlapping objects are refused; reach and view are the caller's concern here.
    """
    if pick is not None and not 0 <= pick < len(objects):
        raise InvalidArgument(f"pick index {pick} is not one of the {len(objects)} objects")
    if not 0 < camera_fovy_deg < 180:
        raise InvalidArgument(f"camera fovy must be in (0, 180) degrees, got {camera_fovy_deg}")
    w, h = image_size
    if not (isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0):
        raise InvalidArgument(f"image size must be two positive integers, got {image_size!r}")
    for o in objects:
        _check(o)
    for i, a in enumerate(objects):
        for b in objects[i + 1 :]:
            if math.hypot(a.x - b.x, a.y - b.y) < _footprint(a.shape, a.size) + _footprint(b.shape, b.size):
                raise InvalidArgument(
                    f"the {a.colour} {a.shape} and the {b.colour} {b.shape} overlap at ({a.x:.3f}, {a.y:.3f}) and ({b.x:.3f}, {b.y:.3f})"
                )

    spec = load_spec(arm.mjcf, arm.tag, arm.assets)
    _grey_arm(spec)
    world = spec.worldbody
    floor = _floor_z(arm)

    spec.add_material(name="tabletop_floor", rgba=list(FLOOR_RGBA), specular=0.1, shininess=0.1, reflectance=0.0)
    planes = [g for g in world.geoms if g.type == mujoco.mjtGeom.mjGEOM_PLANE]
    for g in planes:
        g.material = "tabletop_floor"
    if not planes:
        world.add_geom(name="tabletop_floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[2, 2, 0.05], pos=[0, 0, floor],
                       material="tabletop_floor", contype=1, conaffinity=1)  # fmt: skip
    ws = arm.workspace
    a, r = _front(arm), sum(_region(arm)) / 2
    middle = [ws.base[0] + r * math.cos(a), ws.base[1] + r * math.sin(a), floor]
    # The arm's own lights stay but cast no shadow; one key light over the table does,
    # its shadow map spent on the table alone.
    for light in spec.lights:
        light.castshadow = False
    key = np.array([middle[0] + KEY_LIGHT_OFFSET[0], middle[1] + KEY_LIGHT_OFFSET[1], floor + KEY_LIGHT_OFFSET[2]])
    world.add_light(name="tabletop_key", pos=key.tolist(), dir=(np.array(middle) - key).tolist(), diffuse=[0.5, 0.5, 0.5],
                    specular=[0.1, 0.1, 0.1], cutoff=KEY_LIGHT_CUTOFF_DEG, castshadow=True)  # fmt: skip
    spec.visual.global_.offwidth = max(spec.visual.global_.offwidth, w)
    spec.visual.global_.offheight = max(spec.visual.global_.offheight, h)
    # Software rendering: a 1k shadow map and no multisampling keep a frame near 35-60 ms
    # instead of 300 (shadows and colours are unchanged; edges are not anti-aliased).
    spec.visual.quality.shadowsize = 1024
    spec.visual.quality.offsamples = 0

    for cam in [c for c in spec.cameras if c.name == CAMERA]:
        spec.delete(cam)
    cam = camera_placement(arm, camera_distance, camera_pitch_deg, fovy_deg=camera_fovy_deg, image_size=(w, h))
    quat = list(matrix_to_quaternion(cam.opengl_rotation))
    world.add_camera(name=CAMERA, pos=cam.position.tolist(), quat=quat, fovy=float(camera_fovy_deg))

    out: list[TableObject] = []
    names: set[str] = set()
    for o in objects:
        name = f"{o.colour}_{o.shape}"
        n = 2
        while name in names:
            name, n = f"{o.colour}_{o.shape}_{n}", n + 1
        names.add(name)
        rgb = {**COLOURS, **DISTRACTOR_COLOURS}[o.colour]
        height = _height(o.shape, o.size)
        centre = (float(o.x), float(o.y), floor + height / 2)
        body = world.add_body(name=name, pos=list(centre), quat=[math.cos(o.yaw / 2), 0.0, 0.0, math.sin(o.yaw / 2)])
        body.add_freejoint(name=name)
        half = o.size / 2
        geom = {
            "cube": dict(type=mujoco.mjtGeom.mjGEOM_BOX, size=[half, half, half], condim=4),
            "ball": dict(type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[half, 0, 0], condim=6),
            DISTRACTOR_SHAPE: dict(type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[half, height / 2, 0], condim=4),
        }[o.shape]
        body.add_geom(
            name=name, mass=OBJECT_MASS, friction=[1.0, 0.01, 0.001], contype=3, conaffinity=3, rgba=[*rgb, 1.0], **geom
        )
        out.append(TableObject(name, o.colour, o.shape, float(o.size), float(height), centre, float(o.yaw), o.distractor, rgb))
    spec.option.noslip_iterations = max(spec.option.noslip_iterations, 2)
    try:
        model = spec.compile()
    except ValueError as exc:
        raise InvalidArgument(f"{arm.tag}: the tabletop scene does not compile: {exc}") from None
    names_now = tuple(model.joint(j).name for j in arm.joint_ids)
    if names_now != arm.joint_names or not np.array_equal(model.jnt_qposadr[arm.joint_ids], arm.qpos_adr):
        raise AssertionError(f"{arm.tag}: adding objects moved the arm's joints")
    return Tabletop(
        model=model, objects=tuple(out), camera=CAMERA, image_size=(w, h), pick=out[pick].name if pick is not None else None
    )
