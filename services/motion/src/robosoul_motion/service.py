"""The motion endpoint: robot state + goal -> policy input -> action chunk."""

from __future__ import annotations

import time

import numpy as np
from google.protobuf.timestamp_pb2 import Timestamp

from robosoul.bus.v1 import motion_pb2
from robosoul.v1 import session_pb2
from robosoul_core import policy_io
from robosoul_core.errors import InvalidArgument
from robosoul_core.tensors import from_numpy
from robosoul_core.validation import joint_limits, validate_goal, validate_joint_state, validate_planned
from robosoul_motion.goals import goal_vector
from robosoul_motion.policy import Policy
from robosoul_motion.safety import enforce_limits


class MotionService:
    def __init__(self, policy: Policy, *, max_clock_skew_s: float = 30.0, clock=time.time):
        self._policy = policy
        self._skew = max_clock_skew_s
        self._clock = clock

    async def chunk(self, req: motion_pb2.ChunkRequest, headers: dict[str, str] | None = None) -> motion_pb2.ChunkReply:
        emb = req.embodiment
        n = len(emb.joints)
        if not 0 < n <= policy_io.MAX_DOF:
            raise InvalidArgument(f"the policy drives 1..{policy_io.MAX_DOF} joints; this robot has {n}")
        q, qd = validate_joint_state(req.state, emb, now=self._clock(), max_skew_s=self._skew)
        validate_goal(req.goal, emb)
        lo, hi, vmax = joint_limits(emb)
        dt = policy_io.STEP_S
        start_time = req.state.timestamp
        if req.HasField("planned"):
            # Latency compensation: plan from where the robot's commands will be when the
            # chunk arrives, and start the chunk at that moment.
            q, qd = validate_planned(req.planned, emb)
            start_time = Timestamp()
            start_time.FromNanoseconds(req.state.timestamp.ToNanoseconds() + int(req.planned.lead_s * 1e9))

        if req.goal.skill == session_pb2.SKILL_HOLD:
            plan, version = np.repeat(q[None, :], policy_io.HORIZON, axis=0), "hold"
        else:
            index = await self._policy.resolve(emb.embodiment_tag)
            elapsed = self._clock() - req.goal_set_at.ToNanoseconds() * 1e-9 if req.HasField("goal_set_at") else 0.0
            out = await self._policy.infer(
                policy_io.encode_state(q, qd)[None, :],
                goal_vector(req.goal, emb, elapsed)[None, :],
                np.array([[index]], dtype=np.int64),
            )
            plan, version = out.actions[0, :, :n].astype(np.float64), out.version
        safe = enforce_limits(plan, q, lo, hi, vmax, dt)

        return motion_pb2.ChunkReply(
            chunk=session_pb2.ActionChunk(
                observation_seq=req.observation_seq,
                start_time=start_time,
                step_period_s=dt,
                joint_names=[j.name for j in emb.joints],
                positions=from_numpy(safe.astype(np.float32)),
                goal_id=req.goal.goal_id,
                model_version=version,
            )
        )
