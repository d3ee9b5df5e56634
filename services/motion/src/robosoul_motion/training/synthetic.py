"""Synthetic demonstrations in the simulation's file layout, for tests and smoke runs.

No physics: a made-up body moves each joint from where it is towards a goal
configuration that is a fixed smooth function of the goal vector (per tag), the
way an expert's chunk would. It exercises every code path of training and
adaptation in a fraction of a second; it says nothing about reaching real targets.

    >>> np.savez("fake.npz", **synthetic_demos("fake-arm6", dof=6, samples=512))
"""

from __future__ import annotations

import zlib

import numpy as np

from robosoul.v1 import session_pb2
from robosoul_core import policy_io as io

SKILLS = {
    "reach": session_pb2.SKILL_REACH,
    "move_to_pose": session_pb2.SKILL_MOVE_TO_POSE,
    "grasp_and_place": session_pb2.SKILL_GRASP_AND_PLACE,
}


def synthetic_demos(
    tag: str,
    dof: int,
    *,
    samples: int = 256,
    episodes: int = 8,
    seed: int = 0,
    skills: tuple[str, ...] = ("reach", "move_to_pose", "grasp_and_place"),
) -> dict[str, np.ndarray]:
    """One body's arrays in the single-body layout (state, goal, embodiment, actions, episode, tag, seed)."""
    if not 1 <= dof <= io.MAX_DOF:
        raise ValueError(f"dof must be in 1..{io.MAX_DOF}, got {dof}")
    body = np.random.default_rng(zlib.crc32(tag.encode()))  # the body's "kinematics": fixed per tag
    w_target = body.normal(0, 1.5, (3, dof))
    w_place = body.normal(0, 1.5, (3, dof))
    rng = np.random.default_rng(seed)
    state = np.zeros((samples, io.STATE_DIM), np.float32)
    goal = np.zeros((samples, io.GOAL_DIM), np.float32)
    actions = np.zeros((samples, io.HORIZON, io.MAX_DOF), np.float32)
    ramp = 1 - np.exp(-np.arange(io.HORIZON) / 4.0)
    for i in range(samples):
        q, qd = rng.uniform(-1, 1, dof), rng.uniform(-0.5, 0.5, dof)
        skill = skills[i % len(skills)]
        target, place = rng.uniform(-0.5, 0.5, 3), rng.uniform(-0.5, 0.5, 3)
        if skill == "move_to_pose":
            joints = rng.uniform(-1, 1, dof)
            g, row = joints, io.encode_goal(SKILLS[skill], joints=joints)
        elif skill == "grasp_and_place":
            g = np.tanh(target @ w_target + 0.5 * place @ w_place)
            row = io.encode_goal(SKILLS[skill], target, place=place)
        else:
            g = np.tanh(target @ w_target)
            row = io.encode_goal(SKILLS[skill], target)
        state[i] = io.encode_state(q, qd)
        goal[i] = row
        actions[i, :, :dof] = q + (g - q) * ramp[:, None]
    return {
        io.INPUT_STATE: state,
        io.INPUT_GOAL: goal,
        io.INPUT_EMBODIMENT: np.zeros((samples, 1), np.int64),
        io.OUTPUT_ACTIONS: actions,
        "episode": (np.arange(samples) * episodes // samples).astype(np.int32),
        "tag": np.array(tag),
        "seed": np.array(seed, dtype=np.int64),
    }
