"""Entrypoint: `python -m robosoul_language` (configuration from the environment)."""

from __future__ import annotations

import logging
import os

from nats.aio.msg import Msg
from nats.micro import add_service

from robosoul.bus.v1 import control_pb2, language_pb2
from robosoul.v1 import dialogue_pb2
from robosoul_core import bus, subjects
from robosoul_core.config import MetricsConfig, NatsConfig, TelemetryConfig
from robosoul_core.registry import RobotRegistry
from robosoul_core.runtime import run_main, serve_until, stop_event_on_signals
from robosoul_core.telemetry import OpsServer, ServiceMetrics, inject, setup_tracing
from robosoul_language import __version__
from robosoul_language.backends import Backend, EmbeddedBackend, ToolsBackend
from robosoul_language.chat import ChatClient
from robosoul_language.config import LanguageConfig
from robosoul_language.intents import IntentMatcher
from robosoul_language.service import LanguageService

log = logging.getLogger("robosoul_language")


def build_backend(config: LanguageConfig) -> Backend:
    chat = None
    if config.llm_url:
        chat = ChatClient(config.llm_url, config.llm_model, api_key=config.llm_api_key.get_secret_value(), timeout_s=config.llm_timeout_s)
    if config.backend == "tools":
        return ToolsBackend(chat, stream=config.llm_stream)
    return EmbeddedBackend(IntentMatcher(), chat, llm_margin=config.llm_margin)


async def run() -> None:
    env = os.environ
    config, nats_config = LanguageConfig.from_env(env), NatsConfig.from_env(env)
    tracing = setup_tracing("robosoul-language", TelemetryConfig.from_env(env))
    metrics = ServiceMetrics("language")
    stop = stop_event_on_signals()
    backend = build_backend(config)  # loads the intent examples' embeddings (a few seconds)
    await backend.start()

    nc = await bus.connect(nats_config, "robosoul-language")
    registry = RobotRegistry(await bus.key_value(nc, subjects.ROBOTS_BUCKET, timeout=nats_config.request_timeout_s))

    async def publish(tenant: str, robot_id: str, cmd: control_pb2.RobotCommand) -> None:
        await nc.publish(subjects.robot_subject(tenant, robot_id, "cmd"), cmd.SerializeToString(), headers=inject())

    language = LanguageService(
        backend, get_robot=registry.get, publish=publish,
        scene_max_age_s=config.scene_max_age_s, max_conversations=config.max_conversations,
    )

    async def on_scene(msg: Msg) -> None:
        parts = msg.subject.split(".")
        try:
            scene = dialogue_pb2.Scene.FromString(msg.data)
        except Exception:  # noqa: BLE001 - a malformed payload is dropped, never fatal
            log.warning("dropped a malformed scene on %s", msg.subject)
            return
        language.on_scene(parts[1], parts[2], scene)

    scenes = await nc.subscribe(subjects.ALL_SCENES, cb=on_scene)
    endpoints = bus.Endpoints("language", metrics, max_in_flight=config.max_in_flight)
    service = await add_service(nc, name="language", version=__version__, description="Dialogue, empathy and plans of robot skills")
    group = service.add_group(name=subjects.SERVICE_PREFIX + ".language")
    await group.add_endpoint(name="turn", handler=endpoints.wrap("turn", language_pb2.TurnRequest, language.turn))
    ops = OpsServer(metrics, MetricsConfig.from_env(env), healthy=lambda: nc.is_connected)
    await ops.start()
    log.info("language service %s serving %s (backend %s, model %s)", service.id, subjects.LANGUAGE_TURN, config.backend, config.llm_url or "none")
    await serve_until(stop, service.stop, scenes.unsubscribe, endpoints.drain, nc.drain, backend.stop, ops.stop, tracing.shutdown if tracing else None)


def main() -> None:
    run_main(run)


if __name__ == "__main__":
    main()
