"""Entrypoint: `python -m robosoul_motion` (configuration from the environment)."""

from __future__ import annotations

import logging
import os

from nats.micro import add_service

from robosoul.bus.v1 import motion_pb2
from robosoul_core import bus, subjects
from robosoul_core.config import MetricsConfig, NatsConfig, TelemetryConfig
from robosoul_core.runtime import run_main, serve_until, stop_event_on_signals
from robosoul_core.telemetry import OpsServer, ServiceMetrics, setup_tracing
from robosoul_motion import __version__
from robosoul_motion.config import MotionConfig
from robosoul_motion.policy import TritonPolicy
from robosoul_motion.service import MotionService

log = logging.getLogger("robosoul_motion")


async def run() -> None:
    env = os.environ
    config, nats_config = MotionConfig.from_env(env), NatsConfig.from_env(env)
    tracing = setup_tracing("robosoul-motion", TelemetryConfig.from_env(env))
    metrics = ServiceMetrics("motion")
    stop = stop_event_on_signals()

    policy = TritonPolicy(config.triton_url, config.model_name, timeout_s=config.triton_timeout_s, refresh_s=config.model_refresh_s)
    await policy.start()
    if not policy.ready:
        log.warning("policy %s not ready on Triton at %s yet; will keep checking", config.model_name, config.triton_url)
    motion = MotionService(policy, max_clock_skew_s=config.max_clock_skew_s)

    nc = await bus.connect(nats_config, "robosoul-motion")
    endpoints = bus.Endpoints("motion", metrics, max_in_flight=config.max_in_flight)
    service = await add_service(nc, name="motion", version=__version__, description="Action chunks from the motion policy on Triton")
    group = service.add_group(name=subjects.SERVICE_PREFIX + ".motion")
    await group.add_endpoint(name="chunk", handler=endpoints.wrap("chunk", motion_pb2.ChunkRequest, motion.chunk))
    ops = OpsServer(metrics, MetricsConfig.from_env(env), healthy=lambda: nc.is_connected and policy.ready)
    await ops.start()
    log.info("motion service %s serving %s (Triton %s, model %s)", service.id, subjects.MOTION_CHUNK, config.triton_url, config.model_name)
    await serve_until(stop, service.stop, endpoints.drain, nc.drain, policy.stop, ops.stop, tracing.shutdown if tracing else None)


def main() -> None:
    run_main(run)


if __name__ == "__main__":
    main()
