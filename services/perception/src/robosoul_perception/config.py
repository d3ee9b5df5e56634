"""Perception service configuration (env prefix ROBOSOUL_PERCEPTION_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from robosoul_core.config import EnvConfig


class PerceptionConfig(EnvConfig):
    env_prefix: ClassVar[str] = "ROBOSOUL_PERCEPTION_"

    # Threads for decoding images and finding objects (shared by every robot).
    workers: int = Field(default=2, ge=1, le=32)
    # Colour frames waiting per robot; when it is behind, the oldest is dropped.
    queue_size: int = Field(default=2, ge=1, le=64)
    # A colour frame is paired with the depth frame of the same camera nearest in time
    # within this tolerance (capture timestamps), waiting this long at most for it to arrive.
    depth_tolerance_ms: float = Field(default=100.0, gt=0, le=2000)
    # People (mediapipe, in its own process) are looked for at most this often per camera; 0: never.
    people_interval_ms: float = Field(default=500.0, ge=0)
    # People found are reported in scenes for this long after they were detected.
    people_max_age_s: float = Field(default=2.0, gt=0)
    # The mediapipe environment's interpreter; empty: `.venv-perception` at the source tree's root.
    worker_python: str = ""
    people_timeout_s: float = Field(default=5.0, gt=0, le=60)
    # Frames a new object must be seen in before it gets an id (robosoul_perception.tracking).
    confirm_hits: int = Field(default=2, ge=1, le=30)
    # Deadline for fetching a frame the gateway put in the object store (too large for one NATS message).
    frame_fetch_timeout_s: float = Field(default=2.0, gt=0, le=30)
    # A robot's perception state (trackers, depth) is dropped after this long without frames.
    idle_s: float = Field(default=60.0, gt=0)
