"""Limits every action chunk obeys before it leaves the motion service.

The SDK enforces the same limits again on the robot: the policy is never trusted.
"""

from __future__ import annotations

import numpy as np

from robosoul.v1 import robot_pb2


def joint_limits(emb: robot_pb2.Embodiment) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo = np.array([j.position_limits.min for j in emb.joints])
    hi = np.array([j.position_limits.max for j in emb.joints])
    vmax = np.array([j.max_velocity for j in emb.joints])
    return lo, hi, vmax


def enforce_limits(plan: np.ndarray, current: np.ndarray, lo: np.ndarray, hi: np.ndarray, vmax: np.ndarray, dt: float) -> np.ndarray:
    """Clamp a [horizon, joints] plan into position limits and rate-limit each step.

    Step 0 is the observed instant; each later step moves at most vmax*dt from
    the one before, starting from the clamped current position.
    """
    out = np.empty_like(plan, dtype=np.float64)
    prev = np.clip(current, lo, hi)
    step = vmax * dt
    for k in range(plan.shape[0]):
        target = np.clip(plan[k], lo, hi)
        prev = prev + np.clip(target - prev, -step, step)
        out[k] = prev
    return out
