"""The skills a plan is made of, and the check every call passes before it leaves.

A backend proposes `Call`s that name objects and people in words ("the red
cube"). `Planner.check` grounds each in the current scene, checks that this
robot can do it, builds the motion goal, and passes the goal through the same
validator the gateway and motion use. What fails becomes a refusal in words;
it never becomes a SkillCall.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from robosoul.v1 import dialogue_pb2, robot_pb2, session_pb2
from robosoul.v1.robot_pb2 import JOINT_TYPE_GRIPPER
from robosoul.v1.tensor_pb2 import Vec3
from robosoul_core.errors import InvalidArgument
from robosoul_core.validation import validate_goal
from robosoul_language.grounding import RECEPTACLES, describe, normalise_kind, parse_mention, resolve

SKILLS = ("reach", "pick", "place", "look_at", "wave", "go_home", "stop")
# Motion skills need a policy for the body (an embodiment tag).
MOTION_SKILLS = frozenset({"reach", "pick", "place", "wave", "go_home"})
# Objects bigger than this are not something a robot arm picks up.
MAX_GRASP_M = 0.10
LIFT_M = 0.12
APPROACH_M = 0.03
# Said when a body without a gripper is asked to pick something up: it reaches it instead.
NO_GRIPPER_REACH = "I have no gripper, so I can't pick it up"


@dataclass
class Call:
    """A proposed skill call, with its arguments as the person said them."""

    skill: str
    object: str = ""
    location: str = ""
    person: str = ""


@dataclass
class Capabilities:
    motion: bool
    gripper: bool
    camera: bool
    poses: frozenset[str]

    @classmethod
    def of(cls, robot: robot_pb2.Robot) -> Capabilities:
        emb = robot.embodiment
        return cls(
            motion=bool(emb.embodiment_tag) and any(j.type != JOINT_TYPE_GRIPPER for j in emb.joints),
            gripper=any(j.type == JOINT_TYPE_GRIPPER for j in emb.joints),
            camera=len(emb.cameras) > 0,
            poses=frozenset(emb.named_poses),
        )

    def can(self, skill: str) -> str:
        """Empty if this body can perform `skill`; otherwise why not, in words."""
        if skill == "stop":
            return ""
        if skill in MOTION_SKILLS and not self.motion:
            return "I can't move yet: no motion policy drives this body (it needs onboarding)"
        if skill in ("pick", "place") and not self.gripper:
            return "I have no gripper, so I can't pick things up"
        if skill == "go_home" and "home" not in self.poses:
            return "I don't have a home pose"
        if skill == "wave" and "wave" not in self.poses:
            return "I don't know how to wave with this body"
        if skill == "look_at" and not self.camera:
            return "I have no camera to look with"
        return ""


@dataclass
class Checked:
    steps: list[session_pb2.SkillCall] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    # Last object a step acted on ("it" in the next utterance).
    last_object: str = ""
    # Objects held after the plan (object_id -> where the gripper holds it).
    held: dict[str, Vec3] = field(default_factory=dict)


def _offset(p: Vec3, dz: float) -> Vec3:
    return Vec3(x=p.x, y=p.y, z=p.z + dz)


def _pick_step(obj: dialogue_pb2.SceneObject) -> session_pb2.SkillCall | None:
    """Grasp the object where it is and lift it; None if it is too big to grasp."""
    if obj.size_m > MAX_GRASP_M or normalise_kind(obj.label) == "tray":
        return None
    goal = session_pb2.Goal(goal_id=f"pick-{uuid.uuid4().hex[:8]}", skill=session_pb2.SKILL_GRASP_AND_PLACE)
    goal.grasp.object.CopyFrom(obj.position)
    goal.grasp.place.CopyFrom(_offset(obj.position, LIFT_M))
    return session_pb2.SkillCall(skill="pick", object_id=obj.object_id, description=f"pick up the {describe(obj)}", goal=goal)


def unfaithful(call: Call, said: str) -> str:
    """Why a model's call names something the person did not say, or "" if it is faithful.

    A language model can ground a request on the wrong object ("the purple ball"
    becoming "red cube", which exists). Each object a call names must match one the
    person named: the same kind, and no colour the person did not give it ("the
    bin" may become "blue bin"; "the purple cube" may not become "red cube").
    Pronouns refer back and pass.
    """
    if parse_mention(said).pronoun:
        return ""  # "pick it up": the model may name what "it" was
    heard = said_mentions(said)
    for phrase in (call.object, call.location):
        m = parse_mention(phrase)
        if not phrase or (m.pronoun and not (m.colors or m.kind)):
            continue
        if not any((not m.kind or not kind or m.kind == kind) and (not colors or not m.colors or m.colors & colors)
                   for colors, kind in heard if (m.kind and kind) or (m.colors and colors)):
            return f"I'm not sure which {m.describe()} you mean"
    return ""


def said_mentions(said: str) -> list[tuple[set[str], str]]:
    """(colours, kind) of each thing an utterance names, in order: "the red cube in the bin" -> [({red}, cube), ({}, bin)]."""
    out: list[tuple[set[str], str]] = []
    colors: set[str] = set()
    for word in said.lower().replace(",", " ").split():
        m = parse_mention(word)
        if m.kind:
            out.append((colors | m.colors, m.kind))
            colors = set()
        elif m.colors:
            colors |= m.colors
    if colors:
        out.append((colors, ""))
    return out


def _gate(goal: session_pb2.Goal, robot: robot_pb2.Robot) -> str:
    """The last gate before motion: the validator the gateway and motion apply too."""
    try:
        validate_goal(goal, robot.embodiment)
    except InvalidArgument as err:
        return err.message
    return ""


def check(
    calls: list[Call], robot: robot_pb2.Robot, scene: dialogue_pb2.Scene | None, *, last_object: str = "", held: dict[str, Vec3] | None = None
) -> Checked:
    """Ground and validate every call; refused calls become reasons, in order.

    `held` is what the robot holds from earlier turns (it can be placed without a new pick).
    """
    caps = Capabilities.of(robot)
    out = Checked(last_object=last_object, held=dict(held or {}))
    held = out.held
    for call in calls:
        if call.skill not in SKILLS:
            out.refused.append(f"I don't know how to {call.skill.replace('_', ' ')}")
            continue
        reason = caps.can(call.skill)
        # "Pick up the red cube" to an arm without a gripper: the pick is refused, but the arm
        # reaches the cube (it understood which one) and the reply says why it stops there.
        instead_of_pick = call.skill == "pick" and bool(reason) and caps.motion and not caps.gripper
        if instead_of_pick:
            call, reason = Call("reach", object=call.object), ""
        if reason:
            out.refused.append(reason)
            continue
        step = session_pb2.SkillCall(skill=call.skill)
        goal = session_pb2.Goal(goal_id=f"{call.skill}-{uuid.uuid4().hex[:8]}")
        if call.skill in ("reach", "pick", "place"):
            res = resolve(parse_mention(call.object), scene, last_object=out.last_object)
            if res.obj is None:
                out.refused.append(res.problem)
                continue
            obj = res.obj
            step.object_id, out.last_object = obj.object_id, obj.object_id
            if not obj.HasField("position"):  # seen without depth or calibration: no place to move to
                out.refused.append(f"I can see the {describe(obj)}, but not where it is")
                continue
            if call.skill == "reach":
                step.description = f"reach the {describe(obj)}"
                goal.skill = session_pb2.SKILL_REACH
                goal.position.CopyFrom(_offset(obj.position, obj.size_m / 2 + APPROACH_M))
            elif call.skill == "pick":
                pick = _pick_step(obj)
                if pick is None:
                    out.refused.append(f"the {describe(obj)} is too big for me to pick up")
                    continue
                step = pick
                goal.CopyFrom(pick.goal)
                held[obj.object_id] = _offset(obj.position, LIFT_M)
            else:
                loc = resolve(parse_mention(call.location), scene, receptacle=True)
                if loc.obj is None:
                    out.refused.append(loc.problem if call.location else f"where should the {describe(obj)} go?")
                    continue
                if loc.obj.object_id == obj.object_id:
                    out.refused.append(f"I can't put the {describe(obj)} on itself")
                    continue
                if normalise_kind(loc.obj.label) not in RECEPTACLES:
                    out.refused.append(f"I can't put things on the {describe(loc.obj)}")
                    continue
                if obj.object_id not in held:
                    # "Put the cube in the bin": pick it up first.
                    pick = _pick_step(obj)
                    if pick is None:
                        out.refused.append(f"the {describe(obj)} is too big for me to pick up")
                        continue
                    problem = _gate(pick.goal, robot)
                    if problem:
                        out.refused.append(f"I can't {pick.description}: {problem}")
                        continue
                    out.steps.append(pick)
                    held[obj.object_id] = _offset(obj.position, LIFT_M)
                step.location_id = loc.obj.object_id
                step.description = f"put the {describe(obj)} {'in' if normalise_kind(loc.obj.label) in ('bin', 'bowl') else 'on'} the {describe(loc.obj)}"
                goal.skill = session_pb2.SKILL_GRASP_AND_PLACE
                goal.grasp.object.CopyFrom(held.pop(obj.object_id))
                goal.grasp.place.CopyFrom(_offset(loc.obj.position, loc.obj.size_m / 2 + obj.size_m / 2))
        elif call.skill == "look_at":
            people = list(scene.people) if scene is not None else []
            person = next((p for p in people if p.person_id == call.person), None)
            if person is None:
                facing = [p for p in people if p.facing_robot] or people
                person = facing[0] if facing else None
            if person is None:
                out.refused.append("I can't see anyone to look at")
                continue
            step.person_id, step.description = person.person_id, "look at you"
            goal = None
        elif call.skill in ("wave", "go_home"):
            pose = "wave" if call.skill == "wave" else "home"
            step.description = "wave" if call.skill == "wave" else "go back to my home pose"
            goal.skill = session_pb2.SKILL_MOVE_TO_POSE
            goal.named_pose = pose
        else:  # stop
            step.description, goal = "stop", None
        if goal is not None:
            problem = _gate(goal, robot)
            if problem:
                out.refused.append(f"I can't {step.description}: {problem}")
                continue
            step.goal.CopyFrom(goal)
        out.steps.append(step)
        if instead_of_pick:
            out.refused.append(NO_GRIPPER_REACH)
    return out
