"""Gateway configuration (env prefix ROBOSOUL_GATEWAY_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from robosoul_core.config import EnvConfig


class GatewayConfig(EnvConfig):
    env_prefix: ClassVar[str] = "ROBOSOUL_GATEWAY_"

    listen: str = "127.0.0.1:50051"
    # TLS is on when both are set (PEM files).
    tls_cert_file: str = ""
    tls_key_file: str = ""

    # Deadline for one action chunk from the motion service.
    motion_timeout_s: float = Field(default=0.5, gt=0, le=10)
    # Deadline for registry / key store operations on JetStream KV.
    kv_timeout_s: float = Field(default=2.0, gt=0, le=30)
    stop_delivery_timeout_s: float = Field(default=0.25, gt=0, le=5)
    # Deadline for the language service to answer one utterance (its reply streams meanwhile).
    language_timeout_s: float = Field(default=30.0, gt=0, le=300)
    # Validating an uploaded model simulates it for a while (explosion check).
    validate_timeout_s: float = Field(default=60.0, gt=0, le=600)

    # Input limits: anything larger is refused with INVALID_ARGUMENT.
    max_message_bytes: int = Field(default=4 << 20, ge=64 << 10, le=64 << 20)
    max_joints: int = Field(default=64, ge=1, le=256)
    max_mjcf_bytes: int = Field(default=2 << 20, ge=1 << 10)
    max_asset_bytes: int = Field(default=16 << 20, ge=0)
    # Frames and audio are forwarded on NATS, whose default payload limit is 1 MiB.
    max_frame_bytes: int = Field(default=900 << 10, ge=1 << 10)
    max_audio_frames: int = Field(default=48_000, ge=160)
    max_clock_skew_s: float = Field(default=10.0, gt=0)

    # Quotas: exceeded -> RESOURCE_EXHAUSTED.
    max_sessions_per_tenant: int = Field(default=1000, ge=1)
    max_chunk_requests_in_flight: int = Field(default=2, ge=1, le=16)
    max_messages_per_s: float = Field(default=1000.0, gt=0)
    outbox_size: int = Field(default=256, ge=8)

    key_cache_ttl_s: float = Field(default=5.0, ge=0)
