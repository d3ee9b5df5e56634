"""Limits every action chunk obeys before it leaves the motion service.

The SDK enforces the same limits again on the robot: the policy is never trusted.
"""

from __future__ import annotations

import numpy as np

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
    step = vmax * dt
    target = np.clip(plan, lo, hi)
    start = np.clip(current, lo, hi)
    lead = step * lead_steps
    # Fast path, the usual case: nothing exceeds a rate limit, so the plan stands as clamped.
    if (np.abs(target[0] - start) <= lead).all() and (np.abs(np.diff(target, axis=0)) <= step).all():
        return target.astype(np.float64, copy=False)
    out = np.empty_like(target, dtype=np.float64)
    out[0] = start + np.clip(target[0] - start, -lead, lead)
    for k in range(1, target.shape[0]):
        out[k] = out[k - 1] + np.clip(target[k] - out[k - 1], -step, step)
    return out
