"""Helpers shared by the benchmark scripts (run as `python bench/<name>.py`, so importable as `stats`)."""

from __future__ import annotations

import numpy as np


def pct(values, q: float) -> float:
    """The q-th percentile (linear interpolation), NaN for no values."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else float("nan")
