"""The whole platform as processes: a private NATS, Triton serving the trained
policy, the motion service and the gateway — started once for the integration
session, stopped by PID at the end."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from robosoul_devstack.stack import LocalStack, StackConfig
from robosoul_devstack.testing import client_tracer_provider
from robosoul_devstack.trace_sink import TraceSink

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def policy_path() -> Path:
    path = Path(os.environ.get("ROBOSOUL_POLICY", ROOT / "build/policy/generalist/policy.onnx"))
    if not path.exists():
        pytest.fail(f"no trained policy at {path}: run `make policy` (make test does it for you)")
    return path


@pytest.fixture(scope="session")
def trace_sink():
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    sink = TraceSink().start()
    processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{sink.endpoint}/v1/traces"), schedule_delay_millis=200)
    client_tracer_provider().add_span_processor(processor)
    yield sink
    processor.shutdown()
    sink.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory, policy_path, trace_sink):
    # One robot at a time in these tests, so Triton's tracing is safe to turn on.
    config = StackConfig(
        work_dir=tmp_path_factory.mktemp("stack"), policy=policy_path, otlp_endpoint=trace_sink.endpoint, trace_triton=True,
        language=True, llm=True, voice=True, perception=True,
    )
    with LocalStack(config) as running:
        yield running


@pytest.fixture(scope="session")
def keys(stack) -> dict[str, str]:
    """Operator keys for tenants `alpha` and `beta`, and a viewer key for `alpha`."""
    return {
        "alpha": stack.create_api_key("alpha"),
        "beta": stack.create_api_key("beta"),
        "alpha-viewer": stack.create_api_key("alpha", role="viewer"),
    }
