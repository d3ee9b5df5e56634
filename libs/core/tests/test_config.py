from typing import ClassVar

import pytest
from pydantic import ValidationError

from robosoul_core.config import ConfigError, EnvConfig, NatsConfig, TelemetryConfig


class Sample(EnvConfig):
    env_prefix: ClassVar[str] = "SAMPLE_"
    port: int = 1
    ratio: float = 0.5
    names: list[str] = []


def test_reads_only_prefixed_variables_and_parses_types():
    cfg = Sample.from_env({"SAMPLE_PORT": "8080", "SAMPLE_NAMES": '["a", "b"]', "PORT": "9"})
    assert cfg.port == 8080 and cfg.names == ["a", "b"] and cfg.ratio == 0.5


def test_overrides_win_over_environment():
    assert Sample.from_env({"SAMPLE_PORT": "8080"}, port=9).port == 9


@pytest.mark.parametrize(
    "env, message",
    [
        ({"SAMPLE_PORT": "eighty"}, "SAMPLE_PORT"),
        ({"SAMPLE_NAMES": "[broken"}, "not valid JSON"),
        ({"SAMPLE_RATIO": "x"}, "SAMPLE_RATIO"),
    ],
)
def test_bad_values_name_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        Sample.from_env(env)


def test_nats_url_scheme_checked():
    assert NatsConfig.from_env({"NATS_URL": "nats://h:1"}).url == "nats://h:1"
    with pytest.raises(ConfigError, match="NATS_URL"):
        NatsConfig.from_env({"NATS_URL": "http://h:1"})


def test_unknown_fields_refused_and_configs_frozen():
    with pytest.raises(ConfigError):
        Sample.from_env({}, nope=1)
    cfg = Sample.from_env({})
    with pytest.raises(ValidationError, match="frozen"):
        cfg.port = 2


def test_telemetry_protocol_validated():
    assert TelemetryConfig.from_env({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}).exporter_otlp_protocol == "grpc"
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_PROTOCOL"):
        TelemetryConfig.from_env({"OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"})


def test_empty_values_are_plain_strings_not_json():
    assert TelemetryConfig.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": ""}).exporter_otlp_endpoint == ""


async def test_serve_until_closes_everything_in_order_even_when_one_fails():
    import asyncio

    from robosoul_core.runtime import serve_until

    calls = []

    async def drain():
        calls.append("drain")

    def broken():
        calls.append("broken")
        raise RuntimeError("boom")

    stop = asyncio.Event()
    stop.set()
    await serve_until(stop, broken, None, drain, lambda: calls.append("sync"))
    assert calls == ["broken", "drain", "sync"]
