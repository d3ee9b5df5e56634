"""Entrypoint: `python -m robosoul_gateway` (configuration from the environment)."""

from __future__ import annotations

import asyncio
import os

from robosoul_core import bus
from robosoul_core.config import MetricsConfig, NatsConfig, TelemetryConfig
from robosoul_core.runtime import setup_logging, stop_event_on_signals
from robosoul_core.telemetry import OpsServer, ServiceMetrics, setup_tracing
from robosoul_gateway.config import GatewayConfig
from robosoul_gateway.server import start_gateway


async def run() -> None:
    env = os.environ
    gateway_config, nats_config = GatewayConfig.from_env(env), NatsConfig.from_env(env)
    tracing = setup_tracing("robosoul-gateway", TelemetryConfig.from_env(env))
    metrics = ServiceMetrics("gateway")
    stop = stop_event_on_signals()
    state = {"nats": True}

    async def disconnected() -> None:
        state["nats"] = False

    async def reconnected() -> None:
        state["nats"] = True

    nc = await bus.connect(nats_config, "robosoul-gateway", disconnected_cb=disconnected, reconnected_cb=reconnected)
    gateway = await start_gateway(nc, gateway_config, metrics)
    ops = OpsServer(metrics, MetricsConfig.from_env(env), healthy=lambda: state["nats"])
    await ops.start()
    try:
        await stop.wait()
    finally:
        await gateway.stop()
        await ops.stop()
        await nc.drain()
        if tracing is not None:
            tracing.shutdown()


def main() -> None:
    setup_logging(os.environ.get("ROBOSOUL_LOG_LEVEL", "INFO"))
    asyncio.run(run())


if __name__ == "__main__":
    main()
