"""Wiring: the gRPC server with health checking and reflection, KV buckets, ops endpoint."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from nats.aio.client import Client

from robosoul.v1 import onboarding_pb2_grpc, robot_service_pb2, robot_service_pb2_grpc
from robosoul_core import subjects
from robosoul_core.bus import key_value
from robosoul_core.jobs import JOBS_BUCKET, JobStore, ensure_stream
from robosoul_core.registry import RobotRegistry
from robosoul_core.telemetry import ServiceMetrics
from robosoul_gateway.auth import ApiKeyStore
from robosoul_gateway.config import GatewayConfig
from robosoul_gateway.onboarding import SERVICE as ONBOARDING_SERVICE
from robosoul_gateway.onboarding import OnboardingService
from robosoul_gateway.service import RobotService

log = logging.getLogger(__name__)

SERVICE_NAME = robot_service_pb2.DESCRIPTOR.services_by_name["RobotService"].full_name


@dataclass
class Gateway:
    server: grpc.aio.Server
    service: RobotService
    health: health.aio.HealthServicer
    port: int

    async def set_serving(self, serving: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ("", SERVICE_NAME, ONBOARDING_SERVICE):
            await self.health.set(name, status)

    async def stop(self, grace: float = 2.0) -> None:
        await self.set_serving(False)
        await self.service.stop()
        await self.server.stop(grace)


async def start_gateway(nc: Client, config: GatewayConfig, metrics: ServiceMetrics) -> Gateway:
    keys = ApiKeyStore(await key_value(nc, subjects.API_KEYS_BUCKET, timeout=config.kv_timeout_s), cache_ttl_s=config.key_cache_ttl_s)
    registry = RobotRegistry(await key_value(nc, subjects.ROBOTS_BUCKET, timeout=config.kv_timeout_s), timeout_s=config.kv_timeout_s)
    service = RobotService(nc=nc, keys=keys, registry=registry, config=config, metrics=metrics)
    await service.start()
    js = nc.jetstream(timeout=config.kv_timeout_s)
    await ensure_stream(js)
    jobs = JobStore(await key_value(nc, JOBS_BUCKET, timeout=config.kv_timeout_s), js, timeout_s=config.kv_timeout_s)
    onboarding = OnboardingService(
        nc=nc, keys=keys, registry=registry, jobs=jobs, config=config, limits=service.limits, metrics=metrics,
    )

    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", config.max_message_bytes),
            ("grpc.max_send_message_length", config.max_message_bytes),
            ("grpc.keepalive_time_ms", 20_000),
            ("grpc.keepalive_timeout_ms", 10_000),
            ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
            ("grpc.keepalive_permit_without_calls", 1),
        ]
    )
    robot_service_pb2_grpc.add_RobotServiceServicer_to_server(service, server)
    onboarding_pb2_grpc.add_OnboardingServiceServicer_to_server(onboarding, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection((SERVICE_NAME, ONBOARDING_SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME), server)

    if config.tls_cert_file and config.tls_key_file:
        # Read once at start-up, before serving anything: blocking here is harmless.
        pair = (Path(config.tls_key_file).read_bytes(), Path(config.tls_cert_file).read_bytes())  # noqa: ASYNC240
        creds = grpc.ssl_server_credentials([pair])
        port = server.add_secure_port(config.listen, creds)
    else:
        port = server.add_insecure_port(config.listen)
    await server.start()
    gateway = Gateway(server=server, service=service, health=health_servicer, port=port)
    await gateway.set_serving(True)
    log.info("gateway listening on %s (port %d)", config.listen, port)
    return gateway
