"""The one thing a vendor implements: how to read and command their robot's joints.

The SDK's control loop calls these at the robot's control rate, so keep them
fast and non-blocking (a few hundred microseconds). They may be plain methods
or coroutines.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class JointReading:
    """Measured joint state, in the order the joints were registered."""

    positions: Sequence[float]
    velocities: Sequence[float] | None = None
    efforts: Sequence[float] | None = None


class RobotDriver(abc.ABC):
    """Implement this for your hardware (or a simulator: the virtual robot does).

        >>> class Arm(RobotDriver):
        ...     def __init__(self): self.q = np.zeros(2)
        ...     def read_joints(self): return JointReading(positions=self.q.tolist())
        ...     def command_joints(self, positions): self.q = positions
        >>> arm = Arm(); arm.command_joints(np.array([0.1, 0.2])); arm.read_joints().positions
        [0.1, 0.2]
    """

    @abc.abstractmethod
    def read_joints(self) -> JointReading | Awaitable[JointReading]:
        """Return the current joint state."""

    @abc.abstractmethod
    def command_joints(self, positions: np.ndarray) -> None | Awaitable[None]:
        """Move towards these joint positions (already clamped and rate-limited by the SDK)."""

    def hold(self, positions: np.ndarray) -> None | Awaitable[None]:
        """Hold still at `positions` (called by the watchdog and on Stop). Override to engage brakes."""
        return self.command_joints(positions)
