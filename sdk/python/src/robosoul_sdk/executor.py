"""Turns action chunks into one joint command per control tick — pure logic, no I/O.

- Time-aligned: step k of a chunk is due at t0 + k*step, t0 being the local
  time the observation it was computed from was taken; steps that went by while
  the chunk travelled are skipped (latency compensation).
- Blended: a new chunk takes over from the one being executed over `blend_s`
  seconds with a smootherstep weight (zero slope at both ends), so a replan
  never makes the arm jump, in position or in velocity.
- Latency-compensated: `planned(t)` tells where the commands will be at a
  future moment; the SDK sends it with each request so the brain plans the
  next chunk from there (real-time-chunking style).
- Safe: every command is clamped into the joint limits and rate-limited to each
  joint's max velocity. If no fresh chunk arrived within `watchdog_s`, or the
  chunk ran out, or a Stop came, the robot holds where it is — it never keeps
  moving on stale actions. Stop holds until `resume()`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Command:
    positions: np.ndarray
    holding: bool
    reason: str = ""  # why holding: "no-actions", "watchdog", "exhausted", "stopped"


@dataclass
class _Chunk:
    positions: np.ndarray  # [horizon, joints]
    t0: float
    step: float

    def at(self, t: float) -> np.ndarray:
        x = (t - self.t0) / self.step
        last = len(self.positions) - 1
        if x <= 0:
            return self.positions[0]
        if x >= last:
            return self.positions[last]
        k = int(x)
        a = x - k
        return (1 - a) * self.positions[k] + a * self.positions[k + 1]

    def end(self) -> float:
        return self.t0 + (len(self.positions) - 1) * self.step


def smootherstep(x: float) -> float:
    """0 -> 1 with zero first and second derivatives at both ends."""
    x = min(max(x, 0.0), 1.0)
    return x * x * x * (x * (6 * x - 15) + 10)


class ChunkExecutor:
    def __init__(self, lower: np.ndarray, upper: np.ndarray, max_velocity: np.ndarray, *, watchdog_s: float, blend_s: float = 0.06):
        self.lower = np.asarray(lower, dtype=np.float64)
        self.upper = np.asarray(upper, dtype=np.float64)
        self.max_velocity = np.asarray(max_velocity, dtype=np.float64)
        if watchdog_s <= 0:
            raise ValueError("watchdog_s must be > 0")
        self.watchdog_s = watchdog_s
        self.blend_s = max(blend_s, 0.0)
        self._chunk: _Chunk | None = None
        self._previous: _Chunk | None = None
        self._blend_from: np.ndarray | None = None  # a fixed pose to blend from (after a hold)
        self._installed_at = -np.inf
        self._received_at = -np.inf
        self._last_command: np.ndarray | None = None
        self._last_time: float | None = None
        self._hold_at: np.ndarray | None = None
        self.stopped = False

    @property
    def last_chunk_at(self) -> float:
        """When the last accepted chunk arrived (-inf if none): the watchdog's reference."""
        return self._received_at

    @property
    def has_fresh_actions(self) -> bool:
        return self._chunk is not None and self._hold_at is None

    def chunk_progress(self, now: float) -> float:
        """Steps elapsed in the current chunk (inf if none): the SDK replans from this."""
        if self._chunk is None:
            return np.inf
        return (now - self._chunk.t0) / self._chunk.step

    def on_chunk(self, positions: np.ndarray, *, t0: float, step: float, now: float) -> bool:
        """Install a chunk received at `now`; returns False if it is refused (stopped, stale or out of order)."""
        positions = np.asarray(positions, dtype=np.float64)
        if self.stopped or positions.ndim != 2 or positions.shape[1] != len(self.lower) or step <= 0:
            return False
        if not np.isfinite(positions).all():
            return False
        chunk = _Chunk(positions, t0, step)
        if now >= chunk.end() or (self._chunk is not None and t0 < self._chunk.t0):
            return False  # already over, or older than what we execute
        if self._hold_at is not None:
            self._blend_from, self._previous = self._hold_at.copy(), None
        else:
            self._blend_from, self._previous = None, self._chunk
        self._chunk = chunk
        self._installed_at = now
        self._received_at = now
        self._hold_at = None
        return True

    def stop(self) -> None:
        self.stopped = True
        self._chunk = self._previous = None

    def resume(self) -> None:
        self.stopped = False

    def command(self, now: float, measured: np.ndarray) -> Command:
        measured = np.asarray(measured, dtype=np.float64)
        reason = ""
        if self.stopped:
            reason = "stopped"
        elif self._chunk is None:
            reason = "no-actions"
        elif now - self._received_at > self.watchdog_s:
            reason = "watchdog"
        elif now > self._chunk.end():
            reason = "exhausted"
        if reason:
            if self._hold_at is None:
                self._hold_at = np.clip(measured, self.lower, self.upper)
                self._chunk = self._previous = None
            target = self._hold_at
        else:
            target = self._target(now)
        return Command(self._limit(target, now), holding=bool(reason), reason=reason)

    def _target(self, t: float) -> np.ndarray:
        """The blended, unclamped chunk target at time t (a chunk is installed)."""
        target = self._chunk.at(t)
        alpha = smootherstep((t - self._installed_at) / self.blend_s) if self.blend_s > 0 else 1.0
        if alpha < 1.0:
            source = self._blend_from if self._blend_from is not None else (
                self._previous.at(t) if self._previous is not None else target
            )
            target = (1 - alpha) * source + alpha * target
        return target

    def planned(self, t: float, dt: float = 0.02) -> tuple[np.ndarray, np.ndarray] | None:
        """Commanded positions and velocities at future time t, if fresh actions reach that far."""
        if self.stopped or self._chunk is None or self._hold_at is not None or t > self._chunk.end():
            return None
        q = np.clip(self._target(t), self.lower, self.upper)
        q_next = np.clip(self._target(t + dt), self.lower, self.upper)
        return q, (q_next - q) / dt

    def _limit(self, target: np.ndarray, now: float) -> np.ndarray:
        target = np.clip(target, self.lower, self.upper)
        if self._last_command is not None and self._last_time is not None:
            dt = max(now - self._last_time, 0.0)
            step = self.max_velocity * dt
            target = self._last_command + np.clip(target - self._last_command, -step, step)
        self._last_command, self._last_time = target, now
        return target
