"""The tensor contract of the motion policy, shared by training, export, the
motion service and policy evaluation in simulation.

One model serves many bodies (GR00T-style): joint vectors are padded to
MAX_DOF with a validity mask, and an embodiment index selects the body's
adapter inside the model. Inputs (batch first):

- ``state``      float32 [B, 3*MAX_DOF]  joint positions | velocities | mask
- ``goal``       float32 [B, GOAL_DIM]   see the GOAL_* slices below
- ``embodiment`` int64   [B, 1]          index into the model's embodiment table

Output: ``actions`` float32 [B, HORIZON, MAX_DOF], absolute joint position
targets, step k due at t_obs + k * STEP_S (k = 0 is the observed instant).

Goal layout (unused parts are zero):

- GOAL_TARGET  [0:3]   REACH: the end-effector target; FOLLOW_PATH: the path's
                       point for now (the motion service walks the path);
                       GRASP_AND_PLACE: the object
- GOAL_PLACE   [3:6]   GRASP_AND_PLACE: where to put the object down
- GOAL_JOINTS  [6:14]  MOVE_TO_POSE: joint targets, padded like the state
- GOAL_SKILL   [16:24] one-hot skill (SKILL_SLOTS); HOLD never reaches the policy
"""

from __future__ import annotations

import numpy as np

from robosoul.v1 import session_pb2

MAX_DOF = 8
HORIZON = 16
STEP_S = 0.02
STATE_DIM = 3 * MAX_DOF
GOAL_DIM = 24
GOAL_TARGET = slice(0, 3)
GOAL_PLACE = slice(3, 6)
GOAL_JOINTS = slice(6, 6 + MAX_DOF)
GOAL_SKILL = slice(16, 24)
# FOLLOW_PATH is REACH towards a moving point: it shares REACH's slot.
SKILL_SLOTS = {
    session_pb2.SKILL_REACH: 16,
    session_pb2.SKILL_FOLLOW_PATH: 16,
    session_pb2.SKILL_MOVE_TO_POSE: 17,
    session_pb2.SKILL_GRASP_AND_PLACE: 18,
}

INPUT_STATE, INPUT_GOAL, INPUT_EMBODIMENT, OUTPUT_ACTIONS = "state", "goal", "embodiment", "actions"

# A body's kinematic chain, packed in one float32 vector [KIN_DIM] (the simulation
# extracts it from the MJCF, the policy stores one per embodiment and computes the
# end effector's position from the joint state with it). Product of exponentials in
# the base frame, at the model's reference configuration: for chain joint k (base
# outwards) its axis, a point on it, whether it slides (else it turns), its reference
# position q0 and which state column drives it; then the end effector at reference
# and a flag that the body has a chain at all. Unused joint rows are all zero.
KIN_AXIS = slice(0, 3 * MAX_DOF)
KIN_POINT = slice(3 * MAX_DOF, 6 * MAX_DOF)
KIN_SLIDE = slice(6 * MAX_DOF, 7 * MAX_DOF)
KIN_Q0 = slice(7 * MAX_DOF, 8 * MAX_DOF)
KIN_COLUMN = slice(8 * MAX_DOF, 9 * MAX_DOF)
KIN_USED = slice(9 * MAX_DOF, 10 * MAX_DOF)
KIN_EE = slice(10 * MAX_DOF, 10 * MAX_DOF + 3)
KIN_KNOWN = 10 * MAX_DOF + 3
KIN_DIM = KIN_KNOWN + 1


def check_arrays(data: dict[str, np.ndarray]) -> int:
    """The sample count of demonstration-style arrays (state, goal, embodiment, actions);
    ValueError saying which array is missing, misshapen or not finite."""
    state = data.get(INPUT_STATE)
    n = state.shape[0] if state is not None and state.ndim else 0
    want = {
        INPUT_STATE: ((n, STATE_DIM), np.float32),
        INPUT_GOAL: ((n, GOAL_DIM), np.float32),
        INPUT_EMBODIMENT: ((n, 1), np.int64),
        OUTPUT_ACTIONS: ((n, HORIZON, MAX_DOF), np.float32),
    }
    for key, (shape, dtype) in want.items():
        if key not in data:
            raise ValueError(f"no array {key!r} (has {sorted(data)})")
        got = data[key]
        if got.shape != shape or got.dtype != dtype:
            raise ValueError(f"{key!r} is {got.dtype}{list(got.shape)}, the policy contract needs {np.dtype(dtype)}{list(shape)}")
        if not np.isfinite(got).all():
            raise ValueError(f"{key!r} holds NaN or infinite values")
    return n


def pack_kinematics(
    axes: np.ndarray, points: np.ndarray, slide: np.ndarray, q0: np.ndarray, columns: np.ndarray, ee: np.ndarray
) -> np.ndarray:
    """One body's chain (k joints, base outwards) as the policy's [KIN_DIM] vector."""
    k = len(columns)
    if not 0 < k <= MAX_DOF:
        raise ValueError(f"a chain of {k} joints; the policy takes 1..{MAX_DOF}")
    if np.any(np.asarray(columns) < 0) or np.any(np.asarray(columns) >= MAX_DOF):
        raise ValueError(f"chain joint columns {list(columns)} must index the state (0..{MAX_DOF - 1})")
    out = np.zeros(KIN_DIM, dtype=np.float32)
    pad = np.zeros((MAX_DOF, 3), dtype=np.float32)
    for part, value in ((KIN_AXIS, axes), (KIN_POINT, points)):
        block = pad.copy()
        block[:k] = value
        out[part] = block.reshape(-1)
    for part, value in ((KIN_SLIDE, slide), (KIN_Q0, q0), (KIN_COLUMN, columns), (KIN_USED, np.ones(k))):
        block = np.zeros(MAX_DOF, dtype=np.float32)
        block[:k] = value
        out[part] = block
    out[KIN_EE] = ee
    out[KIN_KNOWN] = 1.0
    if not np.isfinite(out).all():
        raise ValueError("the kinematic chain holds NaN or infinite values")
    return out


def forward_kinematics(kin: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The end effector's position for state-ordered joint `positions` (numpy reference of the policy's own FK)."""
    q = np.zeros(MAX_DOF)
    q[: len(positions)] = positions
    axes, points = kin[KIN_AXIS].reshape(MAX_DOF, 3), kin[KIN_POINT].reshape(MAX_DOF, 3)
    p = kin[KIN_EE].astype(np.float64)
    for k in reversed(range(MAX_DOF)):
        if not kin[KIN_USED][k]:
            continue
        theta = q[int(kin[KIN_COLUMN][k])] - kin[KIN_Q0][k]
        w = axes[k]
        if kin[KIN_SLIDE][k]:
            p = p + w * theta
            continue
        v = p - points[k]
        v = v * np.cos(theta) + np.cross(w, v) * np.sin(theta) + w * np.dot(w, v) * (1 - np.cos(theta))
        p = points[k] + v
    return p


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


def encode_goal(
    skill: int,
    target: tuple[float, float, float] | np.ndarray | None = None,
    *,
    place: tuple[float, float, float] | np.ndarray | None = None,
    joints: np.ndarray | None = None,
) -> np.ndarray:
    """One goal vector: `target` for REACH/FOLLOW_PATH/GRASP, `place` for GRASP, `joints` for MOVE_TO_POSE."""
    slot = SKILL_SLOTS.get(skill)
    if slot is None:
        raise ValueError(f"skill {session_pb2.Skill.Name(skill) if skill in session_pb2.Skill.values() else skill} is not served by the policy")
    out = np.zeros(GOAL_DIM, dtype=np.float32)
    if target is not None:
        out[GOAL_TARGET] = target
    if place is not None:
        out[GOAL_PLACE] = place
    if joints is not None:
        if len(joints) > MAX_DOF:
            raise ValueError(f"{len(joints)} joint targets exceeds MAX_DOF={MAX_DOF}")
        out[GOAL_JOINTS.start : GOAL_JOINTS.start + len(joints)] = joints
    out[slot] = 1.0
    return out
