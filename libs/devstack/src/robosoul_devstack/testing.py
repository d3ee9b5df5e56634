"""pytest fixtures shared by every test suite (registered in the root conftest.py).

`nats_server` starts a real nats-server with JetStream on a free port for the
test session (like nats.py's own suite) and stops it by PID afterwards.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from robosoul_devstack.procs import ManagedProcess, free_port, port_open


def start_nats(work_dir: Path) -> tuple[ManagedProcess, str]:
    port = free_port()
    nats_server = shutil.which("nats-server") or "/usr/sbin/nats-server"
    proc = ManagedProcess(
        f"nats-{port}", [nats_server, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(work_dir / f"js-{port}")],
        log_dir=work_dir, ready=lambda: port_open("127.0.0.1", port),
    ).start(timeout=20)
    return proc, f"nats://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory) -> Iterator[str]:
    """URL of a private NATS server (JetStream on) for the whole test session."""
    proc, url = start_nats(tmp_path_factory.mktemp("nats"))
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
