"""Entrypoint: `python -m robosoul_voice` (configuration from the environment)."""

from __future__ import annotations

import logging
import os

from nats.aio.msg import Msg

from robosoul.bus.v1 import control_pb2, language_pb2
from robosoul.v1 import dialogue_pb2
from robosoul_core import bus, subjects
from robosoul_core.config import MetricsConfig, NatsConfig, TelemetryConfig
from robosoul_core.errors import RoboSoulError
from robosoul_core.registry import RobotRegistry
from robosoul_core.runtime import run_main, serve_until, stop_event_on_signals
from robosoul_core.telemetry import OpsServer, ServiceMetrics, inject, setup_tracing
from robosoul_voice.completeness import Completeness
from robosoul_voice.config import VoiceConfig
from robosoul_voice.models import Asr, SmartTurn, Tts
from robosoul_voice.service import Models, VoiceService

log = logging.getLogger("robosoul_voice")
AUDIO_SUBJECT = f"{subjects.ROOT}.*.*.obs.audio"
COMMAND_SUBJECT = f"{subjects.ROOT}.*.*.cmd"
SCENE_SUBJECT = subjects.ALL_SCENES


async def run() -> None:
    env = os.environ
    config, nats_config = VoiceConfig.from_env(env), NatsConfig.from_env(env)
    tracing = setup_tracing("robosoul-voice", TelemetryConfig.from_env(env))
    metrics = ServiceMetrics("voice")
    stop = stop_event_on_signals()
    models = Models(  # a few seconds
        smart_turn=SmartTurn(), asr=Asr(threads=config.asr_threads, hypotheses=config.asr_hypotheses).transcribe, tts=Tts(), completeness=Completeness(threads=config.judge_threads),
    )

    nc = await bus.connect(nats_config, "robosoul-voice")
    registry = RobotRegistry(await bus.key_value(nc, subjects.ROBOTS_BUCKET, timeout=nats_config.request_timeout_s))

    async def publish(tenant: str, robot_id: str, cmd: control_pb2.RobotCommand) -> None:
        await nc.publish(subjects.robot_subject(tenant, robot_id, "cmd"), cmd.SerializeToString(), headers=inject())

    async def ask_language(request: language_pb2.TurnRequest) -> language_pb2.TurnResult:
        return await bus.request(nc, subjects.LANGUAGE_TURN, request, language_pb2.TurnResult, timeout=config.language_timeout_s)

    voice = VoiceService(
        models, get_robot=registry.get, publish=publish, ask_language=ask_language, idle_s=config.idle_s,
        **({} if config.asr_prompt is None else {"asr_prompt": config.asr_prompt}),
    )

    async def on_audio(msg: Msg) -> None:
        try:
            await voice.on_audio(control_pb2.ObservationEnvelope.FromString(msg.data), dict(msg.headers or {}))
            metrics.observe("audio", "OK", 0.0)
        except (RoboSoulError, ValueError) as err:  # a bad chunk is dropped, never fatal
            metrics.observe("audio", "INVALID_ARGUMENT", 0.0)
            log.warning("dropped audio on %s: %s", msg.subject, err)

    async def on_command(msg: Msg) -> None:
        try:
            cmd = control_pb2.RobotCommand.FromString(msg.data)
        except ValueError:
            return
        if cmd.WhichOneof("body") != "reply":
            return
        parts = msg.subject.split(".")
        try:
            await voice.on_reply(parts[1], parts[2], cmd.reply, dict(msg.headers or {}))
        except RoboSoulError as err:
            log.warning("could not speak a reply on %s: %s", msg.subject, err)

    async def on_scene(msg: Msg) -> None:
        parts = msg.subject.split(".")
        try:
            voice.on_scene(parts[1], parts[2], dialogue_pb2.Scene.FromString(msg.data))
        except (RoboSoulError, ValueError, IndexError) as err:
            log.warning("ignored a scene on %s: %s", msg.subject, err)

    audio_sub = await nc.subscribe(AUDIO_SUBJECT, cb=on_audio)
    scene_sub = await nc.subscribe(SCENE_SUBJECT, cb=on_scene)
    command_sub = await nc.subscribe(COMMAND_SUBJECT, cb=on_command)
    ops = OpsServer(metrics, MetricsConfig.from_env(env), healthy=lambda: nc.is_connected)
    await ops.start()
    log.info("voice service listening on %s, speaking replies from %s", AUDIO_SUBJECT, COMMAND_SUBJECT)
    await serve_until(stop, audio_sub.unsubscribe, scene_sub.unsubscribe, command_sub.unsubscribe, voice.close, nc.drain, ops.stop, tracing.shutdown if tracing else None)


def main() -> None:
    run_main(run)


if __name__ == "__main__":
    main()
