"""pytest fixtures shared by every test suite (registered in the root conftest.py).

`nats_server` starts a real nats-server with JetStream on a free port for the
test session (like nats.py's own suite) and stops it by PID afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from robosoul_devstack.procs import start_nats_server


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory) -> Iterator[str]:
    """URL of a private NATS server (JetStream on) for the whole test session."""
    work_dir = tmp_path_factory.mktemp("nats")
    proc, url = start_nats_server(work_dir / "js", log_dir=work_dir)
    yield url
    proc.stop()


TEST_CLIENT_SERVICE = "robosoul-test-client"


def client_tracer_provider():
    """This process's tracer provider (service.name robosoul-test-client), installed once.

    OpenTelemetry allows one global provider per process, so every fixture that
    wants spans adds its processor to this one.
    """
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider(resource=Resource.create({"service.name": TEST_CLIENT_SERVICE}))
        trace.set_tracer_provider(provider)
    return provider


@pytest.fixture(scope="session")
def span_exporter():
    """An in-memory exporter of the spans this test process makes."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    client_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
    return exporter
