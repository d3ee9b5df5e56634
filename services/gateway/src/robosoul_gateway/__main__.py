"""Entrypoint: `python -m robosoul_gateway` (configuration from the environment)."""

from __future__ import annotations

import os

from robosoul_core import bus
from robosoul_core.config import MetricsConfig, NatsConfig, TelemetryConfig
from robosoul_core.runtime import run_main, serve_until, stop_event_on_signals
from robosoul_core.telemetry import OpsServer, ServiceMetrics, setup_tracing
from robosoul_gateway.config import GatewayConfig
from robosoul_gateway.server import start_gateway


async def run() -> None:
    env = os.environ
    gateway_config, nats_config = GatewayConfig.from_env(env), NatsConfig.from_env(env)
    tracing = setup_tracing("robosoul-gateway", TelemetryConfig.from_env(env))
    metrics = ServiceMetrics("gateway")
    stop = stop_event_on_signals()
    gateway = None

    async def nats_state_changed() -> None:
        # gRPC health follows the bus: without NATS no session can be served.
        if gateway is not None:
            await gateway.set_serving(nc.is_connected)

    nc = await bus.connect(nats_config, "robosoul-gateway", disconnected_cb=nats_state_changed, reconnected_cb=nats_state_changed)
    gateway = await start_gateway(nc, gateway_config, metrics)
    ops = OpsServer(metrics, MetricsConfig.from_env(env), healthy=lambda: nc.is_connected)
    await ops.start()
    await serve_until(stop, gateway.stop, ops.stop, nc.drain, tracing.shutdown if tracing else None)


def main() -> None:
    run_main(run)


if __name__ == "__main__":
    main()
