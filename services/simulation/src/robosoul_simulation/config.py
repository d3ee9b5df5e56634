"""Simulation service configuration (env prefix ROBOSOUL_SIMULATION_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from robosoul_core.config import EnvConfig


class SimulationConfig(EnvConfig):
    env_prefix: ClassVar[str] = "ROBOSOUL_SIMULATION_"

    # Where onboarding jobs keep their stage outputs (demos, adapters). A restarted
    # worker resumes from here; in a cluster this is a shared volume.
    work_dir: str = "build/simulation"
    # The Triton model repository new policy versions are published into, and the
    # Triton that serves it (explicit model control: versions load without restarts).
    model_repo: str = "build/model_repository"
    model_name: str = "robosoul_policy"
    triton_url: str = "127.0.0.1:8001"
    triton_timeout_s: float = Field(default=60.0, gt=0)

    # Validation of an uploaded model: wall-clock limit (it runs in a child process).
    validate_timeout_s: float = Field(default=30.0, gt=0, le=600)

    # Onboarding defaults (a job's options may override them).
    demo_episodes: int = Field(default=1500, ge=1)
    eval_episodes: int = Field(default=100, ge=1)
    # Optimiser steps of the new body's adapter (robosoul_motion.training.adapt).
    adapt_steps: int = Field(default=3000, ge=1)
    min_success: float = Field(default=0.9, ge=0, le=1)
    workers: int = Field(default=0, ge=0)  # 0: one per CPU

    # JetStream delivery: a job not acknowledged within ack_wait_s (the worker
    # heartbeats every ack_wait_s/3 while it runs) is delivered again; after
    # max_deliver attempts it is failed.
    ack_wait_s: float = Field(default=30.0, gt=0)
    max_deliver: int = Field(default=3, ge=1)
