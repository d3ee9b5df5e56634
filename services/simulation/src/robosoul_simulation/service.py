"""The simulation service on the bus: model validation (rs.svc.simulation.validate).

Validation of an untrusted MJCF runs in a child process with a time and memory
limit (see validate.py), so a hostile upload cannot hang or kill this service.
"""

from __future__ import annotations

import asyncio

from robosoul.bus.v1 import simulation_pb2
from robosoul_core.validation import Limits, validate_embodiment
from robosoul_simulation import validate

# The embodiment checks (names, joints, paths) with validate.py's own upload sizes, so
# the bus endpoint and an onboarding job refuse the same models.
LIMITS = Limits(max_mjcf_bytes=validate.MAX_MJCF_BYTES, max_asset_bytes=validate.MAX_UPLOAD_BYTES)


class SimulationService:
    def __init__(self, validate_model):
        # validate_model(embodiment) -> ModelReport; raises InvalidArgument. Blocking.
        self._validate_model = validate_model
        self._limits = LIMITS

    async def validate(self, req: simulation_pb2.ValidateModelRequest, headers=None) -> simulation_pb2.ValidateModelReply:
        validate_embodiment(req.embodiment, self._limits)  # sizes and paths, before any parsing
        report = await asyncio.to_thread(self._validate_model, req.embodiment)
        return simulation_pb2.ValidateModelReply(report=report)
