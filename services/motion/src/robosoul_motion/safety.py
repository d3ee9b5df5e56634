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


# A position servo's target leads the measured position by its lag times the
# speed, so step 0 of a good plan is already ahead of the observed pose; allow
# that lead (in control steps at full speed) before rate-limiting the rest.
SERVO_LEAD_STEPS = 3


def enforce_limits(
    plan: np.ndarray, current: np.ndarray, lo: np.ndarray, hi: np.ndarray, vmax: np.ndarray, dt: float,
    lead_steps: float = SERVO_LEAD_STEPS,
) -> np.ndarray:
    """Clamp a [horizon, joints] plan into position limits and rate-limit it.

    Step 0 (the observed instant) may lead the clamped current position by at
    most vmax*dt*lead_steps; each later step moves at most vmax*dt from the one before.
    """
    out = np.empty_like(plan, dtype=np.float64)
    step = vmax * dt
    start = np.clip(current, lo, hi)
    out[0] = start + np.clip(np.clip(plan[0], lo, hi) - start, -step * lead_steps, step * lead_steps)
    for k in range(1, plan.shape[0]):
        target = np.clip(plan[k], lo, hi)
        out[k] = out[k - 1] + np.clip(target - out[k - 1], -step, step)
    return out
