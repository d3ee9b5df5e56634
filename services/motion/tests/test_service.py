"""The motion endpoint's logic with the policy run in process (onnxruntime): chunk
shape, echoed timing, safety limits, skills and refusals. Triton serving is
covered by test_triton_serving.py and tests/integration."""


import numpy as np
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from robosoul.bus.v1 import motion_pb2
from robosoul.v1 import robot_pb2
from robosoul.v1 import session_pb2 as sp
from robosoul_core import policy_io
from robosoul_core.errors import FailedPrecondition, InvalidArgument
from robosoul_core.tensors import to_numpy
from robosoul_motion.policy import OnnxPolicy
from robosoul_motion.safety import enforce_limits
from robosoul_motion.service import MotionService


def body(n=4, tag="rs-arm4", lo=-1.0, hi=1.0, vmax=1.0):
    joints = [robot_pb2.Joint(name=f"j{i}", type=robot_pb2.JOINT_TYPE_REVOLUTE, position_limits=robot_pb2.Range(min=lo, max=hi), max_velocity=vmax) for i in range(n)]
    return robot_pb2.Embodiment(joints=joints, control_rate_hz=50, embodiment_tag=tag)


def request(emb=None, positions=None, goal=None, seq=7, stamp=True):
    emb = emb or body()
    n = len(emb.joints)
    ts = Timestamp()
    ts.GetCurrentTime()
    state = sp.JointState(names=[j.name for j in emb.joints], positions=positions if positions is not None else [0.1] * n)
    if stamp:
        state.timestamp.CopyFrom(ts)
    goal = goal or sp.Goal(goal_id="g", skill=sp.SKILL_REACH, position={"x": 0.3, "y": 0.0, "z": 0.2})
    return motion_pb2.ChunkRequest(tenant="t", robot_id="r", embodiment=emb, state=state, goal=goal, observation_seq=seq)


@pytest.fixture
async def motion(policy_v1, embodiments):
    policy = OnnxPolicy(str(policy_v1), embodiments, version="robosoul_policy/1")
    await policy.start()
    return MotionService(policy)


async def test_reach_chunk_follows_the_contract(motion):
    req = request()
    chunk = (await motion.chunk(req)).chunk
    positions = to_numpy(chunk.positions)
    assert positions.shape == (policy_io.HORIZON, 4) and positions.dtype == np.float32
    assert chunk.observation_seq == 7 and chunk.start_time == req.state.timestamp
    assert chunk.step_period_s == policy_io.STEP_S and list(chunk.joint_names) == ["j0", "j1", "j2", "j3"]
    assert chunk.goal_id == "g" and chunk.model_version == "robosoul_policy/1"


async def test_every_chunk_respects_position_and_velocity_limits(motion):
    # the random test policy proposes large moves; the service must tame them
    emb = body(lo=-0.2, hi=0.3, vmax=0.5)
    positions = to_numpy((await motion.chunk(request(emb, positions=[0.0, 0.1, -0.1, 0.2]))).chunk.positions).astype(np.float64)
    assert positions.min() >= -0.2 - 1e-6 and positions.max() <= 0.3 + 1e-6
    lead = positions[0] - np.array([0.0, 0.1, -0.1, 0.2])
    assert np.abs(lead).max() <= 0.5 * policy_io.STEP_S * 3 + 1e-6  # servo lead allowance
    assert np.abs(np.diff(positions, axis=0)).max() <= 0.5 * policy_io.STEP_S + 1e-6


async def test_hold_returns_the_current_pose_without_the_policy(motion):
    chunk = (await motion.chunk(request(positions=[0.1, 0.2, 0.3, 0.4], goal=sp.Goal(skill=sp.SKILL_HOLD)))).chunk
    np.testing.assert_allclose(to_numpy(chunk.positions), np.tile([0.1, 0.2, 0.3, 0.4], (16, 1)), atol=1e-6)
    assert chunk.model_version == "hold"


async def test_bodies_without_a_policy_are_told_to_onboard(motion):
    with pytest.raises(FailedPrecondition, match="onboard the robot first"):
        await motion.chunk(request(body(tag="never-seen")))
    with pytest.raises(FailedPrecondition, match="untagged"):
        await motion.chunk(request(body(tag="")))


@pytest.mark.parametrize(
    "req, message",
    [
        (request(body(n=9)), "1..8 joints"),
        (request(positions=[0.1, 0.1]), "positions has 2 values"),
        (request(positions=[float("nan")] * 4), "not a finite"),
        (request(stamp=False), "timestamp is missing"),
        (request(goal=sp.Goal(skill=sp.SKILL_REACH)), "REACH takes goal.position"),
        (request(goal=sp.Goal()), "not supported"),
    ],
)
async def test_bad_requests_are_refused(motion, req, message):
    if req.state.HasField("timestamp"):
        req.state.timestamp.GetCurrentTime()  # the table is built at collection, maybe long before
    with pytest.raises(InvalidArgument, match=message):
        await motion.chunk(req)


def test_enforce_limits_clamps_and_rate_limits_from_the_current_pose():
    plan = np.array([[0.0], [5.0], [5.0], [-5.0]])
    out = enforce_limits(plan, np.array([0.0]), np.array([-1.0]), np.array([1.0]), np.array([10.0]), 0.02)
    np.testing.assert_allclose(out[:, 0], [0.0, 0.2, 0.4, 0.2])


def test_step_zero_may_lead_the_measured_pose_by_the_servo_allowance_only():
    lo, hi, vmax = np.array([-1.0]), np.array([1.0]), np.array([1.0])
    out = enforce_limits(np.array([[0.05], [0.07]]), np.array([0.0]), lo, hi, vmax, 0.02, lead_steps=3)
    np.testing.assert_allclose(out[:, 0], [0.05, 0.07])  # a 0.05 lead is within 3 * 0.02
    out = enforce_limits(np.array([[0.5], [0.5]]), np.array([0.0]), lo, hi, vmax, 0.02, lead_steps=3)
    np.testing.assert_allclose(out[:, 0], [0.06, 0.08])


def test_enforce_limits_starts_from_a_clamped_current_pose():
    out = enforce_limits(np.zeros((2, 1)), np.array([3.0]), np.array([-1.0]), np.array([1.0]), np.array([100.0]), 0.02)
    np.testing.assert_allclose(out[:, 0], [0.0, 0.0])


def test_triton_gets_a_traceparent_only_for_sampled_spans(span_exporter):
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    from robosoul_motion.policy import trace_headers

    with trace.get_tracer("test").start_as_current_span("sampled") as span:
        headers = trace_headers()
        assert headers["traceparent"].split("-")[1] == format(span.get_span_context().trace_id, "032x")
    unsampled = NonRecordingSpan(SpanContext(trace_id=1, span_id=2, is_remote=True, trace_flags=TraceFlags(0)))
    with trace.use_span(unsampled):
        assert trace_headers() == {}


def test_fast_and_slow_paths_of_enforce_limits_agree_with_the_definition():
    """Property: the output equals the step-by-step definition, for plans that do and don't need limiting."""
    rng = np.random.default_rng(1)
    lo, hi, vmax, dt = np.full(3, -1.0), np.full(3, 1.0), np.array([1.0, 2.0, 3.0]), 0.02
    for scale in (0.001, 0.01, 0.1, 1.0):
        for _ in range(50):
            current = rng.uniform(-1.2, 1.2, 3)
            plan = current + np.cumsum(rng.normal(0, scale, (16, 3)), axis=0)
            expected = np.empty((16, 3))
            prev = np.clip(current, lo, hi)
            expected[0] = prev + np.clip(np.clip(plan[0], lo, hi) - prev, -vmax * dt * 3, vmax * dt * 3)
            for k in range(1, 16):
                expected[k] = expected[k - 1] + np.clip(np.clip(plan[k], lo, hi) - expected[k - 1], -vmax * dt, vmax * dt)
            np.testing.assert_allclose(enforce_limits(plan, current, lo, hi, vmax, dt), expected, atol=1e-12)


async def test_a_planned_state_moves_the_chunk_start_and_its_origin(motion):
    req = request(positions=[0.0, 0.0, 0.0, 0.0])
    req.planned.lead_s = 0.05
    req.planned.positions.extend([0.1, 0.1, 0.1, 0.1])
    chunk = (await motion.chunk(req)).chunk
    assert chunk.start_time.ToNanoseconds() - req.state.timestamp.ToNanoseconds() == 50_000_000
    first = to_numpy(chunk.positions)[0]
    # planned from the planned pose, not the measured one: step 0 is within the servo lead of 0.1
    assert np.abs(first - 0.1).max() <= 1.0 * policy_io.STEP_S * 3 + 1e-6


@pytest.mark.parametrize(
    "lead, positions, message",
    [(2.0, [0.0] * 4, "lead_s"), (0.05, [0.0] * 3, "planned.positions has 3"), (0.05, [0.0, 0.0, 0.0, float("nan")], "finite"), (0.05, [9.0] * 4, "outside its limits")],
)
async def test_bad_planned_states_are_refused(motion, lead, positions, message):
    req = request()
    req.planned.lead_s = lead
    req.planned.positions.extend(positions)
    with pytest.raises(InvalidArgument, match=message):
        await motion.chunk(req)
