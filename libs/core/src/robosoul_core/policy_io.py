"""The tensor contract of the motion policy, shared by training, export, the
motion service and policy evaluation in simulation.

One model serves many bodies (GR00T-style): joint vectors are padded to
MAX_DOF with a validity mask, and an embodiment index selects the body's
adapter inside the model. Inputs (batch first):

- ``state``      float32 [B, 3*MAX_DOF]  joint positions | velocities | mask
- ``goal``       float32 [B, GOAL_DIM]   target xyz | skill one-hot
- ``embodiment`` int64   [B, 1]          index into the model's embodiment table

Output: ``actions`` float32 [B, HORIZON, MAX_DOF], absolute joint position
targets, step k due at t_obs + k * STEP_S (k = 0 is the observed instant).
"""

from __future__ import annotations

import numpy as np

from robosoul.v1 import session_pb2

MAX_DOF = 8
HORIZON = 16
STEP_S = 0.02
STATE_DIM = 3 * MAX_DOF
GOAL_DIM = 8
SKILL_SLOTS = {session_pb2.SKILL_REACH: 3, session_pb2.SKILL_HOLD: 4}

INPUT_STATE, INPUT_GOAL, INPUT_EMBODIMENT, OUTPUT_ACTIONS = "state", "goal", "embodiment", "actions"


def encode_state(positions: np.ndarray, velocities: np.ndarray | None = None) -> np.ndarray:
    """Pad one robot's joint state to the model's fixed width."""
    n = len(positions)
    if n > MAX_DOF:
        raise ValueError(f"{n} joints exceeds the policy's MAX_DOF={MAX_DOF}")
    out = np.zeros(STATE_DIM, dtype=np.float32)
    out[:n] = positions
    if velocities is not None and len(velocities):
        out[MAX_DOF : MAX_DOF + n] = velocities
    out[2 * MAX_DOF : 2 * MAX_DOF + n] = 1.0
    return out


def encode_goal(skill: int, target: tuple[float, float, float] | np.ndarray | None) -> np.ndarray:
    out = np.zeros(GOAL_DIM, dtype=np.float32)
    if target is not None:
        out[:3] = target
    slot = SKILL_SLOTS.get(skill)
    if slot is None:
        raise ValueError(f"skill {session_pb2.Skill.Name(skill)} is not served by the policy")
    out[slot] = 1.0
    return out
