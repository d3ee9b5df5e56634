"""The arms that gymnasium ships, read from the installed package at run time.

- ``gym-pusher``: Pusher-v5's 7-DOF arm (a PR2 right arm). The puck and the goal
  marker are removed (objects come from RoboSoul's own scenes) and a site ``ee`` is
  put where gymnasium measures the fingertip (the ``tips_arm`` body's centre).
- ``gym-reacher``: Reacher-v5's planar 2-DOF arm; its target body is removed. It has
  no end-effector site, so `Arm.from_mjcf` uses the ``fingertip`` body's origin (and
  says so); reach targets lie in its plane.

Both drive their joints with torque motors and step explicitly at 100 Hz: `adapt`
turns them into position-servoed arms at 500 Hz, and `Arm.warnings` lists that.
A red mocap ``target`` marker is added to each for viewing.
"""

from __future__ import annotations

import importlib.util
import xml.etree.ElementTree as ET
from pathlib import Path

from robosoul_core.errors import FailedPrecondition
from robosoul_simulation.bodies import TARGET_BODY, BodySource

_FILES = {"gym-pusher": "pusher_v5.xml", "gym-reacher": "reacher.xml"}
_REMOVE = {"gym-pusher": ("object", "goal"), "gym-reacher": ("target",)}


def gym_asset(name: str) -> str:
    """The text of one of gymnasium's MuJoCo asset files (without importing gymnasium's envs)."""
    spec = importlib.util.find_spec("gymnasium")
    if spec is None or not spec.submodule_search_locations:
        raise FailedPrecondition("gymnasium is not installed (pip install gymnasium==1.4.0); the gym-* bodies come from it")
    path = Path(next(iter(spec.submodule_search_locations))) / "envs" / "mujoco" / "assets" / name
    return path.read_text(encoding="utf-8")


def source(tag: str) -> BodySource:
    root = ET.fromstring(gym_asset(_FILES[tag]))
    world = root.find("worldbody")
    for body in list(world.findall("body")):
        if body.get("name") in _REMOVE[tag]:
            world.remove(body)
    if tag == "gym-pusher":
        tips = root.find(".//body[@name='tips_arm']")
        ET.SubElement(tips, "site", name="ee", pos="0.1 0 0", size="0.01", rgba="0.1 0.8 0.3 1")
    marker = ET.SubElement(world, "body", name=TARGET_BODY, mocap="true", pos="0.3 0 0.3")
    ET.SubElement(marker, "site", name=TARGET_BODY, type="sphere", size="0.018", rgba="0.95 0.15 0.2 0.6")
    root.set("model", tag)
    return BodySource(tag=tag, mjcf=ET.tostring(root, encoding="unicode"))
