"""Find the arms in a compiled MuJoCo model: kinematic chains, grippers, end effectors.

Works on any MJCF, not only RoboSoul's own models:

- **Actuated joints** are the hinge and slide joints that an actuator drives directly
  (``<position joint=...>``, ``<motor joint=...>``, ...) or through a fixed tendon.
- **Grippers** are actuated joints at the tip of an arm that either move together
  with a joint in a sibling body (an ``<equality><joint>`` coupling or one tendon
  driving both: a parallel jaw) or are named like one (finger, grip, jaw, claw).
- **Chains** are the root-to-leaf paths through the remaining actuated joints, each
  joint's parent being the nearest actuated joint among its body's ancestors: one arm
  is one chain, two arms on a fixed base are two, a torso joint shared by two arms
  starts both of theirs.
- **End effector** of a chain: a site at its tip (below the last joint, not on a
  finger), preferring names like ``ee``, ``tcp``, ``tool``, ``grasp``; without a
  site, the origin of the deepest body there.

    >>> import mujoco
    >>> structure = find_structure(mujoco.MjModel.from_xml_string(xml))
    >>> [model.joint(j).name for j in structure.chains[0].joints]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import mujoco
import numpy as np

_GRIPPER_NAME = re.compile(r"finger|grip|jaw|claw|pinch|pad", re.IGNORECASE)
_EE_NAME = re.compile(r"(^|[_.\-])(ee|eef|tcp|tool|tip|grasp|pinch|end.?effector|attachment)s?($|[_.\-]|\d)", re.IGNORECASE)
_ARM_JOINTS = (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE))


@dataclass(frozen=True)
class Gripper:
    """An actuator that opens and closes a hand."""

    actuator: int
    # The joint whose position is the gripper's opening (the one the actuator drives,
    # or the first of a tendon's joints).
    joint: int
    # Every finger joint that moves with it.
    joints: tuple[int, ...]


@dataclass(frozen=True)
class Chain:
    """One serial arm: joint ids from the base outwards, one actuator each."""

    joints: tuple[int, ...]
    actuators: tuple[int, ...]
    # The end effector: a site id, or -1 when the model has none there and the origin
    # of `ee_body` stands in for it.
    ee_site: int
    ee_body: int
    gripper: Gripper | None = None


@dataclass
class Structure:
    chains: list[Chain]
    grippers: list[Gripper]
    # Actuators that are neither arm joints nor grippers (ball joints, sites, bodies...).
    ignored_actuators: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _ancestors(model: mujoco.MjModel, body: int) -> list[int]:
    out = []
    while body > 0:
        out.append(body)
        body = int(model.body_parentid[body])
    return out


def _is_descendant(model: mujoco.MjModel, body: int, ancestor: int) -> bool:
    while body > 0:
        if body == ancestor:
            return True
        body = int(model.body_parentid[body])
    return ancestor == 0


def body_depth(model: mujoco.MjModel, body: int) -> int:
    """The body's depth in the tree: 1 for a child of the world."""
    return len(_ancestors(model, body))


def _tendon_joints(model: mujoco.MjModel, tendon: int) -> list[int] | None:
    """The joints of a fixed tendon (None when it wraps sites or geoms)."""
    adr, num = model.tendon_adr[tendon], model.tendon_num[tendon]
    joints = []
    for w in range(adr, adr + num):
        if model.wrap_type[w] != mujoco.mjtWrap.mjWRAP_JOINT:
            return None
        joints.append(int(model.wrap_objid[w]))
    return joints


def _name(model: mujoco.MjModel, kind: mujoco.mjtObj, i: int) -> str:
    return mujoco.mj_id2name(model, kind, i) or f"#{i}"


def find_structure(model: mujoco.MjModel) -> Structure:
    """The chains, grippers and end effectors of a compiled model."""
    m = model
    joint_actuator: dict[int, int] = {}
    tendon_groups: list[tuple[int, list[int]]] = []
    ignored: list[str] = []
    for a in range(m.nu):
        name = _name(m, mujoco.mjtObj.mjOBJ_ACTUATOR, a)
        trn = m.actuator_trntype[a]
        if trn == mujoco.mjtTrn.mjTRN_JOINT:
            j = int(m.actuator_trnid[a, 0])
            if int(m.jnt_type[j]) not in _ARM_JOINTS:
                ignored.append(f"actuator {name!r} drives a {mujoco.mjtJoint(m.jnt_type[j]).name[6:].lower()} joint")
            elif j in joint_actuator:
                ignored.append(f"actuator {name!r} drives joint {_name(m, mujoco.mjtObj.mjOBJ_JOINT, j)!r}, which another actuator drives too")
            else:
                joint_actuator[j] = a
        elif trn == mujoco.mjtTrn.mjTRN_TENDON:
            joints = _tendon_joints(m, int(m.actuator_trnid[a, 0]))
            if joints is None or not joints:
                ignored.append(f"actuator {name!r} drives a spatial tendon")
            else:
                tendon_groups.append((a, joints))
        else:
            ignored.append(f"actuator {name!r} has transmission {mujoco.mjtTrn(trn).name[6:].lower()}")

    # Joints that move together: <equality><joint> couplings and shared tendons.
    partner: dict[int, set[int]] = {}

    def couple(a: int, b: int) -> None:
        partner.setdefault(a, set()).add(b)
        partner.setdefault(b, set()).add(a)

    for e in range(m.neq):
        if m.eq_type[e] == mujoco.mjtEq.mjEQ_JOINT and m.eq_obj2id[e] >= 0:
            couple(int(m.eq_obj1id[e]), int(m.eq_obj2id[e]))
    for _, joints in tendon_groups:
        for j in joints[1:]:
            couple(joints[0], j)

    def actuated_below(body: int, exclude: set[int]) -> bool:
        return any(
            j not in exclude and m.jnt_bodyid[j] != body and _is_descendant(m, int(m.jnt_bodyid[j]), body)
            for j in joint_actuator
        )

    grippers: list[Gripper] = []
    gripper_joints: set[int] = set()
    for j, a in sorted(joint_actuator.items()):
        group = {j} | partner.get(j, set())
        bodies = {int(m.jnt_bodyid[k]) for k in group}
        coupled = len(bodies) >= 2 and len({int(m.body_parentid[b]) for b in bodies}) == 1
        named = bool(_GRIPPER_NAME.search(_name(m, mujoco.mjtObj.mjOBJ_JOINT, j)))
        if (coupled or named) and not actuated_below(int(m.jnt_bodyid[j]), group) and _has_actuated_ancestor(m, j, joint_actuator):
            grippers.append(Gripper(actuator=a, joint=j, joints=tuple(sorted(group))))
            gripper_joints |= group
    for a, joints in tendon_groups:
        bodies = {int(m.jnt_bodyid[k]) for k in joints}
        if len(bodies) >= 2 and not any(actuated_below(b, set(joints)) for b in bodies):
            grippers.append(Gripper(actuator=a, joint=joints[0], joints=tuple(sorted(joints))))
            gripper_joints |= set(joints)
        else:
            ignored.append(f"actuator {_name(m, mujoco.mjtObj.mjOBJ_ACTUATOR, a)!r} drives a tendon that is not a gripper")

    arm_joints = sorted(j for j in joint_actuator if j not in gripper_joints)
    parent: dict[int, int | None] = {}
    for j in arm_joints:
        body = int(m.jnt_bodyid[j])
        same_body = [k for k in arm_joints if k < j and m.jnt_bodyid[k] == body]
        if same_body:
            parent[j] = same_body[-1]
            continue
        parent[j] = None
        for anc in _ancestors(m, int(m.body_parentid[body])):
            above = [k for k in arm_joints if m.jnt_bodyid[k] == anc]
            if above:
                parent[j] = above[-1]
                break
    children = {j: [k for k in arm_joints if parent[k] == j] for j in arm_joints}
    chains: list[Chain] = []
    warnings: list[str] = []
    for leaf in (j for j in arm_joints if not children[j]):
        path = [leaf]
        while parent[path[-1]] is not None:
            path.append(parent[path[-1]])
        path.reverse()
        tip = int(m.jnt_bodyid[leaf])
        others = [k for k in arm_joints if k not in path]
        gripper = next(
            (g for g in grippers if _is_descendant(m, int(m.jnt_bodyid[g.joint]), tip) and not any(
                _is_descendant(m, int(m.jnt_bodyid[g.joint]), int(m.jnt_bodyid[k])) and _is_descendant(m, int(m.jnt_bodyid[k]), tip)
                for k in others
            )),
            None,
        )
        site, body = _end_effector(m, tip, others, gripper)
        chains.append(Chain(tuple(path), tuple(joint_actuator[j] for j in path), site, body, gripper))
    return Structure(chains=chains, grippers=grippers, ignored_actuators=ignored, warnings=warnings)


def _has_actuated_ancestor(m: mujoco.MjModel, joint: int, joint_actuator: dict[int, int]) -> bool:
    body = int(m.jnt_bodyid[joint])
    return any(k != joint and _is_descendant(m, body, int(m.jnt_bodyid[k])) for k in joint_actuator)


def _tip_bodies(m: mujoco.MjModel, tip: int, others: list[int], gripper: Gripper | None) -> list[int]:
    """Bodies rigidly carried by the chain's last joint (no finger, no other arm)."""
    excluded = {int(m.jnt_bodyid[k]) for k in others}
    if gripper is not None:
        excluded |= {int(m.jnt_bodyid[k]) for k in gripper.joints}
    out = []
    for b in range(m.nbody):
        if not _is_descendant(m, b, tip):
            continue
        chain = _ancestors(m, b)
        chain = chain[: chain.index(tip)] if tip in chain else chain
        # A body below `tip` with a joint of its own (not counting the tip) moves
        # relative to the tip: it is not part of the tool.
        if any(x in excluded or m.body_jntnum[x] > 0 for x in chain if x != tip):
            continue
        out.append(b)
    return out


def _end_effector(m: mujoco.MjModel, tip: int, others: list[int], gripper: Gripper | None) -> tuple[int, int]:
    bodies = _tip_bodies(m, tip, others, gripper)
    data = mujoco.MjData(m)
    mujoco.mj_kinematics(m, data)
    anchor = data.xanchor[m.body_jntadr[tip]] if m.body_jntnum[tip] > 0 else data.xpos[tip]
    sites = [s for s in range(m.nsite) if int(m.site_bodyid[s]) in bodies]
    if sites:
        named = [s for s in sites if _EE_NAME.search(_name(m, mujoco.mjtObj.mjOBJ_SITE, s))]
        pool = named or sites
        # The deepest, then the farthest from the last joint.
        best = max(pool, key=lambda s: (body_depth(m, int(m.site_bodyid[s])), float(np.linalg.norm(data.site_xpos[s] - anchor))))
        return best, int(m.site_bodyid[best])
    best = max(bodies, key=lambda b: (body_depth(m, b), float(np.linalg.norm(data.xpos[b] - anchor))))
    return -1, best
