"""From a Goal to the policy's goal vector, per skill (see robosoul_core.policy_io).

FOLLOW_PATH is walked here: the path's point for the current time becomes a
REACH target, so the policy only has to track a target that moves smoothly.
"""

from __future__ import annotations

import numpy as np

from robosoul.v1 import robot_pb2, session_pb2
from robosoul_core import policy_io
from robosoul_core.errors import InvalidArgument

# When a path has no duration: end-effector speed along it (m/s).
DEFAULT_PATH_SPEED = 0.15


def _xyz(v) -> np.ndarray:
    return np.array([v.x, v.y, v.z], dtype=np.float64)


def path_point(path: session_pb2.Path, elapsed_s: float) -> np.ndarray:
    """The point `elapsed_s` into the path, at constant speed along its polyline."""
    points = np.array([_xyz(w) for w in path.waypoints])
    if len(points) == 1:
        return points[0]
    lengths = np.linalg.norm(np.diff(points, axis=0), axis=1)
    total = float(lengths.sum())
    if total == 0.0:
        return points[-1]
    speed = total / path.duration_s if path.duration_s > 0 else DEFAULT_PATH_SPEED
    s = min(max(elapsed_s, 0.0) * speed, total)
    cumulative = np.concatenate([[0.0], np.cumsum(lengths)])
    i = min(int(np.searchsorted(cumulative, s, side="right")) - 1, len(lengths) - 1)
    a = (s - cumulative[i]) / lengths[i] if lengths[i] > 0 else 1.0
    return points[i] + a * (points[i + 1] - points[i])


def goal_vector(goal: session_pb2.Goal, embodiment: robot_pb2.Embodiment, elapsed_s: float) -> np.ndarray:
    """The policy's goal input for one robot (goal already validated)."""
    target = goal.WhichOneof("target")
    if target == "position":
        return policy_io.encode_goal(goal.skill, _xyz(goal.position))
    if target == "path":
        return policy_io.encode_goal(goal.skill, path_point(goal.path, elapsed_s))
    if target == "grasp":
        return policy_io.encode_goal(goal.skill, _xyz(goal.grasp.object), place=_xyz(goal.grasp.place))
    if target in ("named_pose", "joints"):
        pose = embodiment.named_poses[goal.named_pose] if target == "named_pose" else goal.joints
        if len(pose.positions) != len(embodiment.joints):
            raise InvalidArgument(f"pose has {len(pose.positions)} positions; the robot has {len(embodiment.joints)} joints")
        return policy_io.encode_goal(goal.skill, joints=np.asarray(pose.positions, dtype=np.float64))
    raise InvalidArgument(f"goal for {session_pb2.Skill.Name(goal.skill)} has no target the policy can use")
