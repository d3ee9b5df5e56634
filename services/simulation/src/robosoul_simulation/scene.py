"""Scenes around an arm: a small box to pick up and a marker where it goes.

    >>> model = grasp_scene(arm)          # the arm's model plus `object` and `place`
    >>> sim = SimArm(arm, model)
    >>> place_object(sim, xyz, yaw)

The box (free joint, 50 g, 3 cm) collides with the floor, the links and the
fingers; the place marker is a flat disc that collides with nothing. The arm's
joints keep their qpos addresses (the box's free joint comes after them).
"""

from __future__ import annotations

import math

import mujoco
import numpy as np

from robosoul_simulation.bodies import Arm, load_spec

OBJECT_BODY = "object"
PLACE_BODY = "place"
OBJECT_HALF = 0.015
OBJECT_MASS = 0.05


def grasp_scene(arm: Arm, half: float = OBJECT_HALF) -> mujoco.MjModel:
    spec = load_spec(arm.mjcf, arm.tag, arm.assets)
    world = spec.worldbody
    obj = world.add_body(name=OBJECT_BODY, pos=[0.4, 0.0, half])
    obj.add_freejoint(name=OBJECT_BODY)
    obj.add_geom(
        name=OBJECT_BODY,
        type=mujoco.mjtGeom.mjGEOM_BOX,
        size=[half, half, half],
        mass=OBJECT_MASS,
        friction=[1.0, 0.01, 0.001],
        contype=3,
        conaffinity=3,
        condim=4,
        rgba=[0.95, 0.6, 0.1, 1],
    )
    place = world.add_body(name=PLACE_BODY, mocap=True, pos=[0.4, 0.2, 0.0005])
    place.add_geom(
        type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[0.03, 0.0005, 0], contype=0, conaffinity=0, rgba=[0.1, 0.8, 0.3, 0.5], mass=0.0
    )
    spec.option.noslip_iterations = max(spec.option.noslip_iterations, 2)
    return spec.compile()


class SceneObjects:
    """Addresses of the box and the place marker in a grasp scene."""

    def __init__(self, model: mujoco.MjModel):
        body = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, OBJECT_BODY)
        if body < 0:
            raise ValueError("not a grasp scene: no body named 'object'")
        joint = int(model.body_jntadr[body])
        self.body = body
        self.qpos = int(model.jnt_qposadr[joint])
        self.qvel = int(model.jnt_dofadr[joint])
        self.geom = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, OBJECT_BODY)
        self.half = float(model.geom_size[self.geom, 0])
        place = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, PLACE_BODY)
        self.place_mocap = int(model.body_mocapid[place])

    def put(self, data: mujoco.MjData, xyz: np.ndarray, yaw: float) -> None:
        data.qpos[self.qpos : self.qpos + 3] = xyz
        data.qpos[self.qpos + 3 : self.qpos + 7] = (math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2))
        data.qvel[self.qvel : self.qvel + 6] = 0.0

    def position(self, data: mujoco.MjData) -> np.ndarray:
        return data.qpos[self.qpos : self.qpos + 3].copy()

    def show_place(self, data: mujoco.MjData, xyz: np.ndarray) -> None:
        data.mocap_pos[self.place_mocap] = (xyz[0], xyz[1], 0.0005)

    def touching(self, model: mujoco.MjModel, data: mujoco.MjData, geoms: set[int]) -> bool:
        """Whether the box touches any of `geoms` (the fingers, say)."""
        pairs = data.contact.geom[: data.ncon]
        return any((a == self.geom and b in geoms) or (b == self.geom and a in geoms) for a, b in pairs.tolist())
