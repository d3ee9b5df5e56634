"""Entrypoint: `python -m robosoul_simulation` — model validation and onboarding jobs.

Configuration from the environment (ROBOSOUL_SIMULATION_*, NATS_*, OTEL_*).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from nats.micro import add_service

from robosoul.bus.v1 import simulation_pb2
from robosoul_core import bus, jobs, subjects
from robosoul_core.config import MetricsConfig, NatsConfig, TelemetryConfig
from robosoul_core.jobs import JOBS_BUCKET, JobStore
from robosoul_core.registry import RobotRegistry
from robosoul_core.runtime import run_main, serve_until, stop_event_on_signals
from robosoul_core.telemetry import OpsServer, ServiceMetrics, setup_tracing
from robosoul_simulation.config import SimulationConfig
from robosoul_simulation.onboarding import OnboardingRunner
from robosoul_simulation.pipeline import SimulationPipeline
from robosoul_simulation.service import SimulationService

log = logging.getLogger("robosoul_simulation")
VERSION = "0.2.0"


async def run() -> None:
    env = os.environ
    config, nats_config = SimulationConfig.from_env(env), NatsConfig.from_env(env)
    tracing = setup_tracing("robosoul-simulation", TelemetryConfig.from_env(env))
    metrics = ServiceMetrics("simulation")
    stop = stop_event_on_signals()
    pipeline = SimulationPipeline(config)

    nc = await bus.connect(nats_config, "robosoul-simulation")
    endpoints = bus.Endpoints("simulation", metrics, max_in_flight=8)
    sim = SimulationService(pipeline.validate)
    service = await add_service(nc, name="simulation", version=VERSION, description="MuJoCo: model validation and onboarding")
    group = service.add_group(name=subjects.SERVICE_PREFIX + ".simulation")
    await group.add_endpoint(name="validate", handler=endpoints.wrap("validate", simulation_pb2.ValidateModelRequest, sim.validate))

    js = nc.jetstream(timeout=5)
    runner = OnboardingRunner(
        nc=nc,
        jobs=JobStore(await bus.key_value(nc, JOBS_BUCKET, timeout=5), js),
        registry=RobotRegistry(await bus.key_value(nc, subjects.ROBOTS_BUCKET, timeout=5)),
        pipeline=pipeline,
        work_dir=Path(config.work_dir),
        base_checkpoint=pipeline.base_checkpoint,
        defaults={"demo_episodes": config.demo_episodes, "eval_episodes": config.eval_episodes, "min_success": config.min_success},
        ack_wait_s=config.ack_wait_s,
        max_deliver=config.max_deliver,
    )
    await runner.start()
    ops = OpsServer(metrics, MetricsConfig.from_env(env), healthy=lambda: nc.is_connected)
    await ops.start()
    log.info(
        "simulation service %s: validate on %s.simulation.validate, onboarding jobs from %s (stream %s)",
        service.id, subjects.SERVICE_PREFIX, jobs.SUBJECT, jobs.STREAM,
    )
    await serve_until(stop, runner.stop, service.stop, endpoints.drain, nc.drain, ops.stop, tracing.shutdown if tracing else None)


def main() -> None:
    run_main(run)


if __name__ == "__main__":
    main()
