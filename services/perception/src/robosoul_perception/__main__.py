"""Entrypoint: `python -m robosoul_perception` (configuration from the environment)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from google.protobuf.message import DecodeError
from nats.aio.msg import Msg

from robosoul.bus.v1 import control_pb2
from robosoul.v1 import dialogue_pb2
from robosoul_core import bus, subjects
from robosoul_core.config import MetricsConfig, NatsConfig, TelemetryConfig
from robosoul_core.errors import RoboSoulError
from robosoul_core.frames import FrameStore
from robosoul_core.registry import RobotRegistry
from robosoul_core.runtime import run_main, serve_until, stop_event_on_signals
from robosoul_core.telemetry import OpsServer, ServiceMetrics, inject, setup_tracing
from robosoul_perception.config import PerceptionConfig
from robosoul_perception.people import ENV_HINT, PeopleConfig, PeopleDetector, repo_worker_python
from robosoul_perception.service import PerceptionService

log = logging.getLogger("robosoul_perception")
CAMERA_SUBJECT = f"{subjects.ROOT}.*.*.obs.camera_frame"
DEPTH_SUBJECT = f"{subjects.ROOT}.*.*.obs.depth_frame"


def people_detector(config: PerceptionConfig) -> PeopleDetector | None:
    """The mediapipe worker's client, or None (logged once) when its environment is missing or people are off."""
    if config.people_interval_ms <= 0:
        return None
    python = Path(config.worker_python) if config.worker_python else repo_worker_python()
    if not python.is_file():
        log.warning("no people detection: the mediapipe environment's interpreter %s does not exist (%s)", python, ENV_HINT)
        return None
    return PeopleDetector(PeopleConfig(python=python, request_timeout_s=config.people_timeout_s))


async def run() -> None:
    env = os.environ
    config, nats_config = PerceptionConfig.from_env(env), NatsConfig.from_env(env)
    tracing = setup_tracing("robosoul-perception", TelemetryConfig.from_env(env))
    metrics = ServiceMetrics("perception")
    stop = stop_event_on_signals()

    nc = await bus.connect(nats_config, "robosoul-perception")
    registry = RobotRegistry(await bus.key_value(nc, subjects.ROBOTS_BUCKET, timeout=nats_config.request_timeout_s))

    async def publish(tenant: str, robot_id: str, scene: dialogue_pb2.Scene) -> None:
        await nc.publish(subjects.robot_subject(tenant, robot_id, subjects.SCENE_STREAM), scene.SerializeToString(), headers=inject())

    perception = PerceptionService(
        get_robot=registry.get, publish=publish, people=people_detector(config), config=config, metrics=metrics,
        frames=FrameStore(nc, timeout_s=config.frame_fetch_timeout_s),
    )
    await perception.start()

    def handler(kind: str, receive):
        async def on_message(msg: Msg) -> None:
            try:
                await receive(control_pb2.ObservationEnvelope.FromString(msg.data), msg.headers)
                metrics.observe(kind, "OK", 0.0)
            except (DecodeError, ValueError) as err:
                metrics.observe(kind, "INVALID_ARGUMENT", 0.0)
                log.warning("dropped a malformed %s on %s: %s", kind, msg.subject, err)
            except RoboSoulError as err:  # a bad frame is dropped, never fatal
                metrics.observe(kind, err.grpc_code.name, 0.0)
                log.warning("dropped a %s on %s: %s", kind, msg.subject, err.message)
            except Exception:  # noqa: BLE001 - nothing a robot sends may stop the subscription
                metrics.observe(kind, "INTERNAL", 0.0)
                log.exception("failed on a %s on %s", kind, msg.subject)

        return on_message

    camera_sub = await nc.subscribe(CAMERA_SUBJECT, cb=handler("camera_frame", perception.on_camera_frame))
    depth_sub = await nc.subscribe(DEPTH_SUBJECT, cb=handler("depth_frame", perception.on_depth_frame))
    ops = OpsServer(metrics, MetricsConfig.from_env(env), healthy=lambda: nc.is_connected)
    await ops.start()
    log.info("perception service listening on %s and %s, publishing scenes on rs.<tenant>.<robot>.%s",
             CAMERA_SUBJECT, DEPTH_SUBJECT, subjects.SCENE_STREAM)
    await serve_until(stop, camera_sub.unsubscribe, depth_sub.unsubscribe, perception.close, nc.drain, ops.stop,
                      tracing.shutdown if tracing else None)


def main() -> None:
    run_main(run)


if __name__ == "__main__":
    main()
