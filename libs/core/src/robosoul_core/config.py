"""Typed, validated configuration, read from the environment only at entrypoints.

Every config class is a frozen pydantic model whose `env_prefix` class variable
names its variables: field `url` of `NatsConfig` (prefix ``NATS_``) is read
from ``NATS_URL``. Code below an entrypoint receives config objects and never
looks at ``os.environ``.

    >>> class Demo(EnvConfig):
    ...     env_prefix: ClassVar[str] = "DEMO_"
    ...     port: int = 1
    >>> Demo.from_env({"DEMO_PORT": "8080"}).port
    8080
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from robosoul_core.errors import InvalidArgument


class ConfigError(InvalidArgument):
    """An environment variable has a value the config cannot accept."""


class EnvConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    env_prefix: ClassVar[str] = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any):
        """Build from `environ`; explicit `overrides` win over the environment."""
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            key = cls.env_prefix + name.upper()
            if key in environ:
                raw = environ[key]
                # Lists and dicts are given as JSON; scalars as plain text.
                if raw.startswith(("[", "{")):
                    try:
                        values[name] = json.loads(raw)
                        continue
                    except json.JSONDecodeError as exc:
                        raise ConfigError(f"{key}: not valid JSON ({exc})") from None
                values[name] = raw
        values.update(overrides)
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{cls.env_prefix}{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
            )
            raise ConfigError(f"invalid configuration: {problems}") from None


class NatsConfig(EnvConfig):
    env_prefix: ClassVar[str] = "NATS_"
    url: str = "nats://127.0.0.1:4222"
    connect_timeout_s: float = Field(default=2.0, gt=0)
    # Requests on the bus fail after this unless the caller passes its own deadline.
    request_timeout_s: float = Field(default=1.0, gt=0)

    @field_validator("url")
    @classmethod
    def _scheme(cls, v: str) -> str:
        if not v.startswith(("nats://", "tls://")):
            raise ValueError("must start with nats:// or tls://")
        return v


class TelemetryConfig(EnvConfig):
    """Standard OpenTelemetry variables plus the Prometheus port.

    Tracing is exported only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
    """

    env_prefix: ClassVar[str] = "OTEL_"
    exporter_otlp_endpoint: str = ""
    exporter_otlp_protocol: str = Field(default="http/protobuf", pattern=r"^(http/protobuf|grpc)$")
    # Seconds between exports (OTel's BatchSpanProcessor default is 5 s).
    bsp_schedule_delay_s: float = Field(default=1.0, gt=0)
    traces_sampler_ratio: float = Field(default=1.0, ge=0, le=1)


class MetricsConfig(EnvConfig):
    env_prefix: ClassVar[str] = "ROBOSOUL_METRICS_"
    # 0 disables the HTTP endpoint (/metrics and /healthz).
    port: int = Field(default=0, ge=0, le=65535)
    host: str = "127.0.0.1"
