"""Motion service configuration (env prefix ROBOSOUL_MOTION_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from robosoul_core.config import EnvConfig


class MotionConfig(EnvConfig):
    env_prefix: ClassVar[str] = "ROBOSOUL_MOTION_"

    # Triton's gRPC endpoint (host:port) and the policy model it serves.
    triton_url: str = "127.0.0.1:8001"
    model_name: str = "robosoul_policy"
    # Deadline of one inference call.
    triton_timeout_s: float = Field(default=0.3, gt=0, le=10)
    # How often to re-read the model's embodiment table (new versions go live without restarts).
    model_refresh_s: float = Field(default=2.0, gt=0)
    max_in_flight: int = Field(default=512, ge=1)
    # Allowed clock skew of incoming states (the gateway enforces the tight bound).
    max_clock_skew_s: float = Field(default=30.0, gt=0)
