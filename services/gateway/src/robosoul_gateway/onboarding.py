"""The public OnboardingService: upload a robot's model, start and follow onboarding.

Validation runs in the simulation service (rs.svc.simulation.validate); jobs are
queued on JetStream and run by simulation workers (robosoul_core.jobs).
"""

from __future__ import annotations

import logging

import grpc
from nats.aio.client import Client

from robosoul.bus.v1 import simulation_pb2
from robosoul.v1 import onboarding_pb2, onboarding_pb2_grpc, robot_pb2
from robosoul_core import bus, subjects
from robosoul_core.errors import FailedPrecondition, InvalidArgument, RoboSoulError
from robosoul_core.jobs import JobStore
from robosoul_core.registry import RobotRegistry
from robosoul_core.telemetry import ServiceMetrics
from robosoul_core.validation import Limits, validate_embodiment
from robosoul_gateway.auth import ApiKeyStore, Principal
from robosoul_gateway.config import GatewayConfig
from robosoul_gateway.rpc import unary_rpc

log = logging.getLogger(__name__)

SERVICE = "robosoul.v1.OnboardingService"
VALIDATE_SUBJECT = subjects.service_subject("simulation", "validate")


def check_options(options: onboarding_pb2.OnboardingOptions) -> None:
    if not 0 <= options.min_success <= 1:
        raise InvalidArgument(f"options.min_success {options.min_success} must be within [0, 1]")
    if options.demo_episodes > 20_000 or options.eval_episodes > 5_000:
        raise InvalidArgument("options: at most 20000 demo episodes and 5000 evaluation episodes")


class OnboardingService(onboarding_pb2_grpc.OnboardingServiceServicer):
    def __init__(self, *, nc: Client, keys: ApiKeyStore, registry: RobotRegistry, jobs: JobStore, config: GatewayConfig,
                 limits: Limits, metrics: ServiceMetrics):
        self.nc = nc
        self.keys = keys
        self.registry = registry
        self.jobs = jobs
        self.config = config
        self.limits = limits
        self.metrics = metrics

    @unary_rpc("UploadModel", SERVICE)
    async def UploadModel(self, request: onboarding_pb2.UploadModelRequest, principal: Principal) -> onboarding_pb2.ModelReport:
        principal.require_operator("uploading a model")
        subjects.check_id(request.robot_id, "robot_id")
        if not request.model.mjcf:
            raise InvalidArgument("model.mjcf is empty: upload the robot's MJCF text")
        robot = await self.registry.get(principal.tenant, request.robot_id)
        candidate = robot_pb2.Embodiment()
        candidate.CopyFrom(robot.embodiment)
        candidate.model.CopyFrom(request.model)
        validate_embodiment(candidate, self.limits)  # sizes and paths before anything parses it
        reply = await bus.request(
            self.nc, VALIDATE_SUBJECT,
            simulation_pb2.ValidateModelRequest(tenant=principal.tenant, robot_id=request.robot_id, embodiment=candidate),
            simulation_pb2.ValidateModelReply, timeout=self.config.validate_timeout_s,
        )
        await self.registry.modify(principal.tenant, request.robot_id, lambda r: r.embodiment.model.CopyFrom(request.model))
        return reply.report

    @unary_rpc("StartOnboarding", SERVICE)
    async def StartOnboarding(self, request: onboarding_pb2.StartOnboardingRequest, principal: Principal) -> onboarding_pb2.OnboardingJob:
        principal.require_operator("onboarding a robot")
        subjects.check_id(request.robot_id, "robot_id")
        check_options(request.options)
        robot = await self.registry.get(principal.tenant, request.robot_id)
        if not robot.embodiment.model.mjcf:
            raise FailedPrecondition(f"robot {request.robot_id!r} has no simulation model: UploadModel first")
        return await self.jobs.submit(principal.tenant, request.robot_id, request.options)

    @unary_rpc("GetOnboarding", SERVICE)
    async def GetOnboarding(self, request: onboarding_pb2.GetOnboardingRequest, principal: Principal) -> onboarding_pb2.OnboardingJob:
        subjects.check_id(request.job_id, "job_id")
        return await self.jobs.get(principal.tenant, request.job_id)

    async def WatchOnboarding(self, request: onboarding_pb2.GetOnboardingRequest, context: grpc.aio.ServicerContext):
        try:
            principal = await self.keys.authenticate_metadata(context.invocation_metadata())
            subjects.check_id(request.job_id, "job_id")
            async for job in self.jobs.watch(principal.tenant, request.job_id):
                yield job
        except RoboSoulError as err:
            await context.abort(err.grpc_code, err.message)
