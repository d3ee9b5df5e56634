"""The skills the policy serves, as episodes: the goal, what the expert does, what counts as success.

One `Task` per episode. Every control step the runner calls `update` with the true
simulation state (a moving target advances, a grasp moves to its next phase), then
reads `goal_vector` (what the policy is given, per `robosoul_core.policy_io`) and
`expert_goal` (the configuration the expert plans towards). `outcome` grades the
episode at its end.

- **reach** (REACH): a reachable point; in some episodes it jumps once mid-motion.
  Episodes run on after arrival, so the data shows settling and holding.
- **pose** (MOVE_TO_POSE): a joint configuration, a named pose (``home``, keyframes)
  or a random clear one; the goal carries the joint targets, gripper included.
- **path** (FOLLOW_PATH): a target that dwells at a start point, then glides through
  2-4 waypoints (minimum-jerk in joint space, so every point is reachable) and stops.
  The goal is the path's point for now, exactly what the motion service feeds the
  policy; the expert tracks it from its previous goal so its goal moves continuously.
- **grasp** (GRASP_AND_PLACE), bodies with a gripper only: a 3 cm box on the floor
  and a place on the floor. Scripted expert: above the box, down, close, lift, over
  the place, down, open, up. The goal carries the box's current position (as
  perception would report it) and the place. Success: the box rests within 2 cm of
  the place and the fingers have let go.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from robosoul.v1 import session_pb2
from robosoul_core.errors import InvalidArgument
from robosoul_core.policy_io import STEP_S, encode_goal
from robosoul_simulation.bodies import Arm
from robosoul_simulation.expert import Expert
from robosoul_simulation.scene import SceneObjects
from robosoul_simulation.sim_arm import SimArm

SKILLS = {
    "reach": session_pb2.SKILL_REACH,
    "pose": session_pb2.SKILL_MOVE_TO_POSE,
    "path": session_pb2.SKILL_FOLLOW_PATH,
    "grasp": session_pb2.SKILL_GRASP_AND_PLACE,
}
EPISODE_S = {"reach": 4.0, "pose": 4.0, "path": 7.0, "grasp": 9.0}
TOLERANCE_M = 0.02
SETTLE_SPEED = 0.05
SETTLE_WINDOW = 10  # control steps (0.2 s)
POSE_TOLERANCE = 0.03  # rad (m for slides) on every arm joint
GRIPPER_POSE_TOLERANCE = 0.005
PATH_TRACKING_TOLERANCE_M = 0.05
PATH_SPEED = (0.05, 0.15)  # m/s of the moving target
PATH_DWELL_S = (0.3, 0.8)
PATH_START_RAD = 0.15
PATH_STEP_RAD = 0.6
PATH_END_S = 1.2
NAMED_POSE_SHARE = 0.3
REACH_SWITCH_SHARE = 0.5
REACH_SWITCH_WINDOW_S = (0.4, 2.2)
# Grasp geometry (metres): above the box to approach, the hand's point above the
# box's centre when closing, the carrying height, and the place's distance from the box.
GRASP_ABOVE = 0.10
GRASP_DZ = 0.01
GRASP_LIFT = 0.12
PLACE_DISTANCE = (0.12, 0.35)
GRASP_IK_TOLERANCE = 2e-3
DROPPED_M = 0.04


def skill_value(name: str) -> int:
    try:
        return SKILLS[name]
    except KeyError:
        raise InvalidArgument(f"unknown skill {name!r}; skills: {', '.join(SKILLS)}") from None


def skills_for(arm: Arm, skills: tuple[str, ...] | list[str]) -> list[str]:
    """The requested skills this body can do (grasp needs a gripper)."""
    for s in skills:
        skill_value(s)
    return [s for s in skills if s != "grasp" or arm.gripper is not None]


@dataclass
class Outcome:
    success: bool
    error_m: float
    detail: dict = field(default_factory=dict)


class Task(ABC):
    """One episode of one skill."""

    skill: str
    needs_scene = False
    tolerance = TOLERANCE_M
    settle_speed = SETTLE_SPEED

    def __init__(self, arm: Arm, expert: Expert, start: np.ndarray):
        self.arm = arm
        self.expert = expert
        self.start = start
        self.hold_gripper = float(start[arm.gripper]) if arm.gripper is not None else None
        self._recent: deque[np.ndarray] = deque(maxlen=SETTLE_WINDOW)

    def observe(self, sim: SimArm) -> None:
        """Called by the runner every control step with the true state (for `settled`)."""
        self._recent.append(sim.joint_positions())

    def setup(self, sim: SimArm) -> None:  # noqa: B027 - an optional hook
        """Put the scene in its initial state (after `sim.reset(start)`)."""

    def update(self, step: int, sim: SimArm) -> None:  # noqa: B027 - an optional hook
        """Advance to control step `step` given the true state."""

    @abstractmethod
    def goal_vector(self) -> np.ndarray: ...

    @abstractmethod
    def expert_goal(self) -> np.ndarray: ...

    @abstractmethod
    def outcome(self, sim: SimArm) -> Outcome: ...

    def marker(self) -> np.ndarray | None:
        return None

    def settled(self, sim: SimArm) -> bool:
        """Every arm joint's mean speed over the last SETTLE_WINDOW steps is below settle_speed.

        A window, not the instant: sensor noise makes a holding arm jitter by a
        milliradian from step to step, which is holding still all the same.
        """
        q = sim.joint_positions()[self.arm.chain]
        if not self._recent:
            return float(np.max(np.abs(sim.joint_velocities()[self.arm.chain]))) < self.settle_speed
        before = self._recent[0][self.arm.chain]
        speed = np.abs(q - before) / (len(self._recent) * STEP_S)
        return float(np.max(speed)) < self.settle_speed


class ReachTask(Task):
    skill = "reach"

    def __init__(self, arm, expert, start, target, switch_at: int = -1, next_target: np.ndarray | None = None):
        super().__init__(arm, expert, start)
        self.target = np.asarray(target, dtype=float)
        self.switch_at = switch_at
        self.next_target = next_target

    def update(self, step, sim):
        if step == self.switch_at and self.next_target is not None:
            self.target = self.next_target

    def goal_vector(self):
        return encode_goal(SKILLS["reach"], self.target)

    def expert_goal(self):
        return self.expert.goal_configuration(self.target, self.hold_gripper)

    def marker(self):
        return self.target

    def outcome(self, sim):
        err = float(np.linalg.norm(sim.ee_position() - self.target))
        return Outcome(err < self.tolerance and self.settled(sim), err)


class PoseTask(Task):
    skill = "pose"

    def __init__(self, arm, expert, start, pose: np.ndarray, name: str = ""):
        super().__init__(arm, expert, start)
        self.pose = arm.clamp(np.asarray(pose, dtype=float))
        self.name = name
        self.point = arm.kinematics.ee_position(self.pose)

    def goal_vector(self):
        return encode_goal(SKILLS["pose"], joints=self.pose)

    def expert_goal(self):
        return self.pose

    def marker(self):
        return self.point

    def outcome(self, sim):
        q = sim.joint_positions()
        err = float(np.linalg.norm(sim.ee_position() - self.point))
        joint_err = float(np.max(np.abs(q - self.pose)[self.arm.chain]))
        ok = joint_err < POSE_TOLERANCE and self.settled(sim)
        if self.arm.gripper is not None:
            ok = ok and abs(q[self.arm.gripper] - self.pose[self.arm.gripper]) < GRIPPER_POSE_TOLERANCE
        return Outcome(ok, err, {"joint_error": joint_err, "pose": self.name})


class PathTask(Task):
    skill = "path"

    def __init__(self, arm, expert, start, points: np.ndarray, moving: tuple[int, int]):
        super().__init__(arm, expert, start)
        self.points = points
        self.moving = moving
        self.k = 0
        self._goal = expert.goal_configuration(points[0], self.hold_gripper)
        self._errors: list[float] = []

    def _point(self) -> np.ndarray:
        return self.points[min(self.k, len(self.points) - 1)]

    def update(self, step, sim):
        self.k = step
        if step > 0:
            self._goal = self.expert.track_configuration(self._point(), self._goal)
        if self.moving[0] <= step <= self.moving[1]:
            self._errors.append(float(np.linalg.norm(sim.ee_position() - self._point())))

    def goal_vector(self):
        return encode_goal(SKILLS["path"], self._point())

    def expert_goal(self):
        return self._goal

    def marker(self):
        return self._point()

    def outcome(self, sim):
        err = float(np.linalg.norm(sim.ee_position() - self.points[-1]))
        tracking = float(np.mean(self._errors)) if self._errors else 0.0
        ok = err < self.tolerance and self.settled(sim) and tracking < PATH_TRACKING_TOLERANCE_M
        return Outcome(ok, err, {"tracking_error_m": tracking})


APPROACH, DESCEND, CLOSE, LIFT, CARRY, LOWER, OPEN, RETREAT = range(8)
PHASES = ("approach", "descend", "close", "lift", "carry", "lower", "open", "retreat")


class GraspTask(Task):
    skill = "grasp"
    needs_scene = True

    def __init__(self, arm, expert, start, obj: np.ndarray, yaw: float, place: np.ndarray):
        super().__init__(arm, expert, start)
        self.obj0 = np.asarray(obj, dtype=float)
        self.yaw = yaw
        self.place = np.asarray(place, dtype=float)
        self.phase = APPROACH
        self.since = 0
        self.objects: SceneObjects | None = None
        self.obj = self.obj0.copy()
        self._goals: dict[int, np.ndarray] = {}
        self._fingers: set[int] = set()

    def setup(self, sim):
        self.objects = SceneObjects(sim.model)
        self.objects.put(sim.data, self.obj0, self.yaw)
        self.objects.show_place(sim.data, self.place)
        m = sim.model
        finger_bodies = {int(m.jnt_bodyid[j]) for j in self.arm._finger_joints}
        self._fingers = {g for g in range(m.ngeom) if int(m.geom_bodyid[g]) in finger_bodies}

    def _phase_goal(self) -> np.ndarray:
        goal = self._goals.get(self.phase)
        if goal is None:
            a = self.arm
            up = np.array([0.0, 0.0, 1.0])
            open_, closed = a.gripper_open, a.gripper_closed
            point, grip = {
                APPROACH: (self.obj + up * GRASP_ABOVE, open_),
                DESCEND: (self.obj + up * GRASP_DZ, open_),
                CLOSE: (self.obj + up * GRASP_DZ, closed),
                LIFT: (self.obj + up * GRASP_LIFT, closed),
                CARRY: (self.place + up * GRASP_LIFT, closed),
                LOWER: (self.place + up * (GRASP_DZ + 0.004), closed),
                OPEN: (self.place + up * (GRASP_DZ + 0.004), open_),
                RETREAT: (self.place + up * GRASP_ABOVE, open_),
            }[self.phase]
            goal, _ = self.expert.grasp_configuration(point, grip)
            self._goals[self.phase] = goal
        return goal

    def update(self, step, sim):
        self.obj = self.objects.position(sim.data)
        goal = self._phase_goal()
        q, qd = sim.joint_positions(), sim.joint_velocities()
        chain = self.arm.chain
        there = float(np.max(np.abs(q[chain] - goal[chain])))
        slow = float(np.max(np.abs(qd[chain])))
        self.since += 1
        advance = False
        if self.phase in (APPROACH, LIFT, CARRY):
            advance = there < 0.02 and slow < 0.3
        elif self.phase in (DESCEND, LOWER):
            advance = there < 0.006 and slow < 0.05
        elif self.phase == CLOSE:
            g = self.arm.gripper
            advance = self.since * STEP_S >= 0.3 and abs(qd[g]) < 0.005
        elif self.phase == OPEN:
            g = self.arm.gripper
            advance = self.since * STEP_S >= 0.2 and q[g] > self.arm.gripper_open - 0.01
        if self.phase in (LIFT, CARRY, LOWER) and np.linalg.norm(self.obj - sim.ee_position()) > DROPPED_M:
            # The box slipped out of the hand: start over from wherever it is now.
            self.phase, self.since, advance = APPROACH, 0, False
            self._goals.clear()
        if advance:
            self.phase += 1
            self.since = 0

    def goal_vector(self):
        return encode_goal(SKILLS["grasp"], self.obj, place=self.place)

    def expert_goal(self):
        return self._phase_goal()

    def marker(self):
        return self.place

    def outcome(self, sim):
        obj = self.objects.position(sim.data)
        err = float(np.linalg.norm(obj - self.place))
        released = not self.objects.touching(sim.model, sim.data, self._fingers)
        return Outcome(err < self.tolerance and released, err, {"phase": PHASES[self.phase], "released": released})


# -- sampling ---------------------------------------------------------------------------


def sample_task(
    skill: str, arm: Arm, expert: Expert, rng: np.random.Generator, steps: int, *, switch_share: float = REACH_SWITCH_SHARE
) -> Task:
    """A random episode of `skill` for `arm` lasting `steps` control steps.

    `switch_share` of reach episodes change their target once, mid-motion (demos
    show re-targeting; evaluation asks for one point per episode).
    """
    start = arm.sample_start(rng)
    if skill == "reach":
        target = arm.sample_target(rng)
        switch = rng.random() < switch_share
        lo, hi = (int(round(s / STEP_S)) for s in REACH_SWITCH_WINDOW_S)
        at = int(rng.integers(lo, hi)) if switch else -1
        return ReachTask(arm, expert, start, target, at, arm.sample_target(rng) if switch else None)
    if skill == "pose":
        if rng.random() < NAMED_POSE_SHARE:
            names = sorted(arm.named_poses)
            name = names[int(rng.integers(len(names)))]
            return PoseTask(arm, expert, start, arm.named_poses[name], name)
        pose = arm.sample_pose(rng)
        return PoseTask(arm, expert, start, pose)
    if skill == "path":
        return _sample_path(arm, expert, start, rng, steps)
    if skill == "grasp":
        return _sample_grasp(arm, expert, start, rng)
    raise InvalidArgument(f"unknown skill {skill!r}; skills: {', '.join(SKILLS)}")


def _min_jerk(s: np.ndarray) -> np.ndarray:
    return s**3 * (10 - 15 * s + 6 * s**2)


def _sample_path(arm: Arm, expert: Expert, start: np.ndarray, rng: np.random.Generator, steps: int) -> PathTask:
    """A path from a reachable point through nearby joint-space waypoints.

    The arm starts near the path's first point (a path is walked from where the robot
    is); each waypoint is the previous one's configuration moved by up to PATH_STEP_RAD
    per joint, kept when the arm stays clear and the tool stays in the workspace, so
    every point on the path is reachable.
    """
    kin = arm.kinematics
    chain = arm.chain
    dwell = int(round(rng.uniform(*PATH_DWELL_S) / STEP_S))
    budget = steps - dwell - int(round(PATH_END_S / STEP_S))
    speed = rng.uniform(*PATH_SPEED)
    waypoints = int(rng.integers(2, 5))
    p0 = arm.sample_target(rng)
    q0 = expert.goal_configuration(p0, start[arm.gripper] if arm.gripper is not None else None)
    near = q0.copy()
    near[chain] += rng.uniform(-PATH_START_RAD, PATH_START_RAD, len(chain))
    near = arm.clamp(near)
    start = near if kin.is_clear(near) else q0
    q_prev, x_prev = q0, p0
    segments: list[tuple[np.ndarray, np.ndarray, int]] = []
    used = 0
    for _ in range(40):
        if len(segments) >= waypoints - 1:
            break
        q_next = q_prev.copy()
        q_next[chain] = np.clip(q_prev[chain] + rng.uniform(-PATH_STEP_RAD, PATH_STEP_RAD, len(chain)), arm.target_lo[chain], arm.target_hi[chain])
        x_next = kin.ee_position(q_next)
        distance = float(np.linalg.norm(x_next - x_prev))
        if distance < 0.05 or not arm._target_ok(x_next) or not kin.is_clear(q_next):
            continue
        duration = max(1.3 * distance / speed, float(np.max(np.abs(q_next - q_prev)[chain] / (0.5 * arm.max_velocity[chain]))))
        n = max(int(round(duration / STEP_S)), 1)
        if used + n > budget:
            continue
        segments.append((q_prev, q_next, n))
        used += n
        q_prev, x_prev = q_next, x_next
    points = [np.repeat(p0[None], dwell, axis=0)]
    for qa, qb, n in segments:
        s = _min_jerk(np.arange(1, n + 1) / n)
        points.append(np.array([kin.ee_position(qa + (qb - qa) * v) for v in s]))
    tail = steps + 1 - sum(len(p) for p in points)
    points.append(np.repeat(x_prev[None], max(tail, 1), axis=0))
    return PathTask(arm, expert, start, np.concatenate(points), (dwell, dwell + used))


def _sample_grasp(arm: Arm, expert: Expert, start: np.ndarray, rng: np.random.Generator) -> GraspTask:
    if arm.gripper is None:
        raise InvalidArgument(f"{arm.tag} has no gripper: grasp-and-place needs one")
    from robosoul_simulation.scene import OBJECT_HALF

    ws = arm.workspace
    floor = ws.floor_z if ws.floor_z is not None else 0.0
    up = np.array([0.0, 0.0, 1.0])

    def spot() -> tuple[np.ndarray, np.ndarray] | None:
        r = rng.uniform(0.3, 0.75) * ws.reach
        phi = rng.uniform(-math.pi, math.pi)
        p = ws.base + np.array([r * math.cos(phi), r * math.sin(phi), 0.0])
        p[2] = floor + OBJECT_HALF
        configs = []
        for dz in (GRASP_ABOVE, GRASP_DZ, GRASP_LIFT):
            goal, err = expert.grasp_configuration(p + up * dz, arm.gripper_open)
            if err > GRASP_IK_TOLERANCE or not arm.kinematics.is_clear(goal):
                return None
            configs.append(goal)
        return p, configs[1]

    for _ in range(400):
        got = spot()
        if got is None:
            continue
        obj, grasp_q = got
        for _ in range(20):
            place = spot()
            if place is not None and PLACE_DISTANCE[0] <= np.linalg.norm(place[0] - obj) <= PLACE_DISTANCE[1]:
                closing = arm.kinematics.ee_axis(grasp_q, axis=1)
                yaw = math.atan2(closing[1], closing[0])
                return GraspTask(arm, expert, start, obj, yaw, place[0])
    raise InvalidArgument(f"{arm.tag}: no grasp-and-place layout found; can the hand point down within reach?")
