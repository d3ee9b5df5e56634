"""Gateway configuration (env prefix ROBOSOUL_GATEWAY_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from robosoul_core.config import EnvConfig
from robosoul_core.frames import OBSERVATION_OVERHEAD


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
    # One gRPC message; must hold the largest frame and its envelope.
    max_message_bytes: int = Field(default=12 << 20, ge=64 << 10, le=64 << 20)
    max_joints: int = Field(default=64, ge=1, le=256)
    max_mjcf_bytes: int = Field(default=2 << 20, ge=1 << 10)
    max_asset_bytes: int = Field(default=16 << 20, ge=0)
    # A camera or depth frame's payload: 8 MiB holds 1920x1080 float32 depth. Frames too
    # large for one NATS message go through the JetStream object store (rs_frames).
    max_frame_bytes: int = Field(default=8 << 20, ge=1 << 10)
    max_audio_frames: int = Field(default=48_000, ge=160)
    max_clock_skew_s: float = Field(default=10.0, gt=0)

    # Quotas: exceeded -> RESOURCE_EXHAUSTED.
    max_sessions_per_tenant: int = Field(default=1000, ge=1)
    max_chunk_requests_in_flight: int = Field(default=2, ge=1, le=16)
    max_messages_per_s: float = Field(default=1000.0, gt=0)
    outbox_size: int = Field(default=256, ge=8)

    key_cache_ttl_s: float = Field(default=5.0, ge=0)

    # The object store for frames larger than one NATS message: in memory, each kept this
    # long at most, the oldest pushed out when it holds frame_store_max_bytes.
    frame_store_ttl_s: float = Field(default=10.0, gt=0, le=3600)
    frame_store_max_bytes: int = Field(default=256 << 20, ge=16 << 20)
    frame_store_timeout_s: float = Field(default=2.0, gt=0, le=30)
    # Stored frames of one session in flight at once; more are dropped (RESOURCE_EXHAUSTED).
    max_stored_frames_in_flight: int = Field(default=4, ge=1, le=64)

    @model_validator(mode="after")
    def _frames_fit(self):
        if self.max_frame_bytes + OBSERVATION_OVERHEAD > self.max_message_bytes:
            raise ValueError(
                f"max_frame_bytes ({self.max_frame_bytes}) plus {OBSERVATION_OVERHEAD >> 10} KiB must fit in max_message_bytes ({self.max_message_bytes})"
            )
        if self.max_frame_bytes + (1 << 20) > self.frame_store_max_bytes:
            raise ValueError(f"frame_store_max_bytes ({self.frame_store_max_bytes}) must hold a frame of max_frame_bytes ({self.max_frame_bytes})")
        return self
