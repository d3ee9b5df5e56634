"""The gRPC API in process, against a real NATS: status codes, in-stream errors,
supersession, stop, health and reflection. Motion is a scripted responder here;
tests/integration runs the real one."""

import asyncio
import time

import grpc
import numpy as np
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from robosoul.bus.v1 import motion_pb2
from robosoul.v1 import robot_pb2
from robosoul.v1 import robot_service_pb2 as rs
from robosoul.v1 import session_pb2 as sp
from robosoul_core import subjects
from robosoul_core.tensors import from_numpy

from .conftest import arm, auth


@pytest.fixture
async def fake_motion(nc):
    """Answers chunk requests with a 16-step hold chunk; `mode` can make it fail or go quiet."""
    state = {"mode": "ok", "requests": [], "headers": []}

    async def on_request(msg):
        req = motion_pb2.ChunkRequest.FromString(msg.data)
        state["requests"].append(req)
        state["headers"].append(dict(msg.headers or {}))
        if state["mode"] == "error":
            await nc.publish(msg.reply, b"", headers={"Nats-Service-Error": "policy exploded", "Nats-Service-Error-Code": "500"})
            return
        if state["mode"] == "slow":
            await asyncio.sleep(0.2)
        if state["mode"] == "unknown body":  # motion has no policy for this tag yet, and says so slowly
            await asyncio.sleep(0.2)
            await nc.publish(msg.reply, b"", headers={"Nats-Service-Error": f"no policy for embodiment {req.embodiment.embodiment_tag!r} yet",
                                                      "Nats-Service-Error-Code": "412"})
            return
        q = np.array(req.state.positions, dtype=np.float32)
        chunk = sp.ActionChunk(
            observation_seq=req.observation_seq, start_time=req.state.timestamp, step_period_s=0.02,
            joint_names=[j.name for j in req.embodiment.joints], positions=from_numpy(np.repeat(q[None], 16, axis=0)),
        )
        await msg.respond(motion_pb2.ChunkReply(chunk=chunk).SerializeToString())

    sub = await nc.subscribe(subjects.MOTION_CHUNK, cb=on_request)
    yield state
    await sub.unsubscribe()


def now_ts(offset: float = 0.0) -> Timestamp:
    ts = Timestamp()
    ts.FromNanoseconds(int((time.time() + offset) * 1e9))
    return ts


def state_msg(seq, positions=(0.0, 0.0, 0.0), names=("j0", "j1", "j2"), request=True, offset=0.0):
    return sp.ClientMessage(observation=sp.Observation(
        seq=seq, request_actions=request,
        joint_state=sp.JointState(timestamp=now_ts(offset), names=list(names), positions=list(positions)),
    ))


async def open_session(stub, key, robot_id="arm-1"):
    call = stub.Connect(metadata=auth(key))
    await call.write(sp.ClientMessage(open=sp.SessionOpen(robot_id=robot_id, client_name="test")))
    first = await asyncio.wait_for(call.read(), 5)
    assert first.WhichOneof("body") == "started", first
    return call, first.started


async def next_message(call, kind, timeout=5.0) -> sp.BrainMessage:
    """Next message with a `kind` body, skipping others (events, pongs)."""
    while True:
        msg = await asyncio.wait_for(call.read(), timeout)
        assert msg is not grpc.aio.EOF, "stream ended"
        if msg.WhichOneof("body") == kind:
            return msg


async def next_of(call, kind, timeout=5.0):
    return getattr(await next_message(call, kind, timeout), kind)


async def expect_status(coro, code, fragment=""):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await coro
    assert err.value.code() == code, err.value.details()
    assert fragment in err.value.details()


# ---------------------------------------------------------------------------- unary


async def test_register_get_list_delete(stub, operator_key):
    md = auth(operator_key)
    robot = await stub.RegisterRobot(rs.RegisterRobotRequest(robot=arm()), metadata=md)
    assert robot.created_at.seconds > 0
    assert (await stub.GetRobot(rs.GetRobotRequest(robot_id="arm-1"), metadata=md)).robot_id == "arm-1"
    assert [r.robot_id for r in (await stub.ListRobots(rs.ListRobotsRequest(), metadata=md)).robots] == ["arm-1"]
    await stub.DeleteRobot(rs.DeleteRobotRequest(robot_id="arm-1"), metadata=md)
    await expect_status(stub.GetRobot(rs.GetRobotRequest(robot_id="arm-1"), metadata=md), grpc.StatusCode.NOT_FOUND)


def _bad_robot(mutate):
    r = arm()
    mutate(r)
    return rs.RegisterRobotRequest(robot=r)


BAD_UNARY = [
    ("RegisterRobot", rs.RegisterRobotRequest(), grpc.StatusCode.INVALID_ARGUMENT, "robot is missing"),
    ("RegisterRobot", _bad_robot(lambda r: setattr(r, "robot_id", "Bad Id")), grpc.StatusCode.INVALID_ARGUMENT, "robot_id"),
    ("RegisterRobot", _bad_robot(lambda r: setattr(r.embodiment.joints[0].position_limits, "min", 3.0)), grpc.StatusCode.INVALID_ARGUMENT, "must be below max"),
    ("RegisterRobot", _bad_robot(lambda r: r.embodiment.joints.add(name="j0", type=1, position_limits={"min": 0, "max": 1}, max_velocity=1)), grpc.StatusCode.INVALID_ARGUMENT, "used twice"),
    ("RegisterRobot", _bad_robot(lambda r: setattr(r.embodiment.joints[1], "max_velocity", float("nan"))), grpc.StatusCode.INVALID_ARGUMENT, "max_velocity"),
    ("RegisterRobot", _bad_robot(lambda r: r.embodiment.model.MergeFrom(robot_pb2.SimulationModel(mjcf="<mujoco>" + "x" * (300 << 10)))), grpc.StatusCode.RESOURCE_EXHAUSTED, ""),
    ("GetRobot", rs.GetRobotRequest(robot_id="../etc"), grpc.StatusCode.INVALID_ARGUMENT, "robot_id"),
    ("GetRobot", rs.GetRobotRequest(robot_id="ghost"), grpc.StatusCode.NOT_FOUND, "no robot 'ghost'"),
    ("ListRobots", rs.ListRobotsRequest(page_size=1000), grpc.StatusCode.INVALID_ARGUMENT, "page_size"),
    ("ListRobots", rs.ListRobotsRequest(page_token="a.b"), grpc.StatusCode.INVALID_ARGUMENT, "page_token"),
    ("DeleteRobot", rs.DeleteRobotRequest(robot_id="ghost"), grpc.StatusCode.NOT_FOUND, ""),
    ("StopRobot", rs.StopRobotRequest(robot_id="ghost"), grpc.StatusCode.NOT_FOUND, ""),
    ("StopRobot", rs.StopRobotRequest(robot_id="arm-1", reason="x" * 300), grpc.StatusCode.INVALID_ARGUMENT, "reason"),
]


@pytest.mark.parametrize("method, request_, code, fragment", BAD_UNARY, ids=[f"{m}-{c.name}-{i}" for i, (m, _, c, _) in enumerate(BAD_UNARY)])
async def test_bad_unary_requests_get_precise_status_and_service_keeps_serving(stub, operator_key, method, request_, code, fragment):
    md = auth(operator_key)
    await stub.RegisterRobot(rs.RegisterRobotRequest(robot=arm("arm-1")), metadata=md)
    await expect_status(getattr(stub, method)(request_, metadata=md), code, fragment)
    assert (await stub.GetRobot(rs.GetRobotRequest(robot_id="arm-1"), metadata=md)).robot_id == "arm-1"


@pytest.mark.parametrize(
    "metadata, fragment",
    [((), "missing API key"), (auth("nonsense"), "malformed"), (auth("rsk_0123456789abcdef_" + "A" * 43), "unknown API key"), ((("authorization", "Basic x"),), "Bearer")],
)
async def test_unauthenticated_calls(stub, metadata, fragment):
    await expect_status(stub.ListRobots(rs.ListRobotsRequest(), metadata=metadata), grpc.StatusCode.UNAUTHENTICATED, fragment)


async def test_viewer_keys_read_but_cannot_register_connect_or_delete(stub, operator_key, viewer_key):
    await stub.RegisterRobot(rs.RegisterRobotRequest(robot=arm()), metadata=auth(operator_key))
    assert len((await stub.ListRobots(rs.ListRobotsRequest(), metadata=auth(viewer_key))).robots) == 1
    await expect_status(stub.RegisterRobot(rs.RegisterRobotRequest(robot=arm("arm-2")), metadata=auth(viewer_key)), grpc.StatusCode.PERMISSION_DENIED, "read-only")
    await expect_status(stub.DeleteRobot(rs.DeleteRobotRequest(robot_id="arm-1"), metadata=auth(viewer_key)), grpc.StatusCode.PERMISSION_DENIED)
    call = stub.Connect(metadata=auth(viewer_key))
    await call.write(sp.ClientMessage(open=sp.SessionOpen(robot_id="arm-1")))
    await expect_status(call.read(), grpc.StatusCode.PERMISSION_DENIED, "connecting a robot")


# ---------------------------------------------------------------------------- Connect


@pytest.mark.parametrize(
    "first, code, fragment",
    [
        (sp.ClientMessage(ping=sp.Ping()), grpc.StatusCode.INVALID_ARGUMENT, "first message"),
        (sp.ClientMessage(open=sp.SessionOpen(robot_id="ghost")), grpc.StatusCode.NOT_FOUND, "ghost"),
        (sp.ClientMessage(open=sp.SessionOpen(robot_id="NOT VALID")), grpc.StatusCode.INVALID_ARGUMENT, "robot_id"),
    ],
)
async def test_connect_handshake_errors(stub, operator_key, first, code, fragment):
    call = stub.Connect(metadata=auth(operator_key))
    await call.write(first)
    await expect_status(call.read(), code, fragment)


@pytest.mark.parametrize(
    "first",
    [sp.ClientMessage(open=sp.SessionOpen(robot_id="arm-1")), sp.ClientMessage(ping=sp.Ping())],
    ids=["open", "not-open"],
)
async def test_connect_without_key(stub, first):
    # The key is judged before the message, and the client's write always lands
    # (the gateway reads it before aborting), so the status is ours, not INTERNAL.
    call = stub.Connect()
    await call.write(first)
    await expect_status(call.read(), grpc.StatusCode.UNAUTHENTICATED)


async def test_chunk_round_trip(stub, operator_key, fake_motion):
    await stub.RegisterRobot(rs.RegisterRobotRequest(robot=arm()), metadata=auth(operator_key))
    call, started = await open_session(stub, operator_key)
    assert started.robot.robot_id == "arm-1" and started.limits.max_joints == 64
    await call.write(sp.ClientMessage(set_goal=sp.Goal(goal_id="g", skill=sp.SKILL_REACH, position={"x": 0.3, "z": 0.2})))
    await call.write(state_msg(1, positions=(0.1, 0.2, 0.3)))
    chunk = await next_of(call, "actions")
    assert chunk.observation_seq == 1 and chunk.chunk_id == 1 and list(chunk.positions.shape) == [16, 3]
    req = fake_motion["requests"][-1]
    assert req.goal.goal_id == "g" and not req.embodiment.HasField("model") and req.robot_id == "arm-1"
    assert req.goal_set_at.seconds > 0 and not req.HasField("planned")
    await call.write(planned_msg(2, positions=(0.1, 0.2, 0.3)))
    await next_of(call, "actions")
    assert list(fake_motion["requests"][-1].planned.positions) == pytest.approx([0.1, 0.2, 0.3])
    call.cancel()


def _obs(seq, **payload):
    return sp.ClientMessage(observation=sp.Observation(seq=seq, **payload))


def planned_msg(seq, lead=0.05, positions=(0.0, 0.0, 0.0), request=True):
    msg = state_msg(seq, request=request)
    msg.observation.planned.lead_s = lead
    msg.observation.planned.positions.extend(positions)
    return msg


# Built when the test runs (timestamps must be fresh).
BAD_STREAM = [
    (lambda: planned_msg(5, lead=3.0), grpc.StatusCode.INVALID_ARGUMENT, "planned.lead_s"),
    (lambda: planned_msg(5, positions=(0.0,)), grpc.StatusCode.INVALID_ARGUMENT, "planned.positions has 1"),
    (lambda: planned_msg(5, request=False), grpc.StatusCode.INVALID_ARGUMENT, "only meaningful with request_actions"),
    (lambda: state_msg(5, positions=(0.0, 0.0)), grpc.StatusCode.INVALID_ARGUMENT, "positions has 2 values"),
    (lambda: state_msg(5, names=("j0", "j2", "j1")), grpc.StatusCode.INVALID_ARGUMENT, "names[1] is 'j2'"),
    (lambda: state_msg(5, positions=(float("nan"), 0, 0)), grpc.StatusCode.INVALID_ARGUMENT, "not a finite number"),
    (lambda: state_msg(5, positions=(0, 90.0, 0)), grpc.StatusCode.INVALID_ARGUMENT, "far outside its limits"),
    (lambda: state_msg(5, offset=-3600), grpc.StatusCode.INVALID_ARGUMENT, "away from server time"),
    (lambda: state_msg(1), grpc.StatusCode.INVALID_ARGUMENT, "seq must increase"),
    (lambda: _obs(5), grpc.StatusCode.INVALID_ARGUMENT, "no payload"),
    (lambda: _obs(5, request_actions=True, camera_frame=sp.CameraFrame(timestamp=now_ts(), camera="front", encoding=1, width=4, height=2, encoded=b"\xff\xd8\xff")), grpc.StatusCode.INVALID_ARGUMENT, "only valid with a joint_state"),
    (lambda: _obs(5, camera_frame=sp.CameraFrame(timestamp=now_ts(), camera="rear", encoding=1, width=4, height=2, encoded=b"\xff\xd8\xff")), grpc.StatusCode.INVALID_ARGUMENT, "not a camera"),
    (lambda: _obs(5, audio=sp.AudioChunk(timestamp=now_ts(), device="mic", sample_rate_hz=16000, samples=from_numpy(np.zeros(10, np.float32)))), grpc.StatusCode.INVALID_ARGUMENT, "not allowed here"),
    (lambda: sp.ClientMessage(set_goal=sp.Goal(skill=sp.SKILL_REACH)), grpc.StatusCode.INVALID_ARGUMENT, "REACH takes goal.position"),
    (lambda: sp.ClientMessage(open=sp.SessionOpen(robot_id="arm-1")), grpc.StatusCode.INVALID_ARGUMENT, "already received"),
    (lambda: sp.ClientMessage(), grpc.StatusCode.INVALID_ARGUMENT, "empty ClientMessage"),
]


@pytest.mark.parametrize("make_bad, code, fragment", BAD_STREAM, ids=[f"{i}-{c.name}" for i, (_, c, _) in enumerate(BAD_STREAM)])
async def test_bad_stream_messages_get_an_error_and_the_session_goes_on(stub, operator_key, fake_motion, make_bad, code, fragment):
    await stub.RegisterRobot(rs.RegisterRobotRequest(robot=arm()), metadata=auth(operator_key))
    call, _ = await open_session(stub, operator_key)
    await call.write(state_msg(1, request=False))
    await call.write(make_bad())
    error = await next_of(call, "error")
    assert error.code == code.value[0] and fragment in error.message, error
    await call.write(state_msg(10))
    chunk = await next_of(call, "actions")
    assert chunk.observation_seq == 10
    call.cancel()


async def test_motion_failures_reach_the_robot_as_errors(stub, operator_key, fake_motion):
    await stub.RegisterRobot(rs.RegisterRobotRequest(robot=arm()), metadata=auth(operator_key))
    call, _ = await open_session(stub, operator_key)
    fake_motion["mode"] = "error"
    await call.write(state_msg(1))
    error = await next_of(call, "error")
    assert error.code == grpc.StatusCode.INTERNAL.value[0] and "policy exploded" in error.message and error.observation_seq == 1
    fake_motion["mode"] = "ok"
    await call.write(state_msg(2))
    assert (await next_of(call, "actions")).observation_seq == 2
    call.cancel()


async def test_too_many_requests_in_flight(stub, operator_key, fake_motion):
    await stub.RegisterRobot(rs.RegisterRobotRequest(robot=arm()), metadata=auth(operator_key))
    call, _ = await open_session(stub, operator_key)
    fake_motion["mode"] = "slow"
    for seq in (1, 2, 3):
        await call.write(state_msg(seq))
    error = await next_of(call, "error")
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0] and error.observation_seq == 3
    call.cancel()


async def test_flooding_is_rate_limited(stub, operator_key, fake_motion):
    await stub.RegisterRobot(rs.RegisterRobotRequest(robot=arm()), metadata=auth(operator_key))
    call, _ = await open_session(stub, operator_key)
    for seq in range(1, 400):
        await call.write(sp.ClientMessage(ping=sp.Ping(nonce=seq)))
    error = await next_of(call, "error")
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0] and "messages/s" in error.message
    call.cancel()


async def test_oversized_message_ends_only_that_stream(stub, operator_key, fake_motion):
    await stub.RegisterRobot(rs.RegisterRobotRequest(robot=arm()), metadata=auth(operator_key))
    call, _ = await open_session(stub, operator_key)
    await call.write(_obs(1, camera_frame=sp.CameraFrame(camera="front", encoded=b"\xff" * (300 << 10))))
    await expect_status(next_of(call, "actions"), grpc.StatusCode.RESOURCE_EXHAUSTED)
    call2, _ = await open_session(stub, operator_key)
    await call2.write(state_msg(1))
    assert (await next_of(call2, "actions")).observation_seq == 1
    call2.cancel()


async def test_a_new_session_supersedes_the_old_one(stub, operator_key, fake_motion):
    await stub.RegisterRobot(rs.RegisterRobotRequest(robot=arm()), metadata=auth(operator_key))
    old, _ = await open_session(stub, operator_key)
    new, _ = await open_session(stub, operator_key)
    await expect_status(next_of(old, "actions"), grpc.StatusCode.ABORTED, "superseded")
    await new.write(state_msg(1))
    assert (await next_of(new, "actions")).observation_seq == 1
    new.cancel()


async def test_stop_robot_wins_until_resume(stub, operator_key, viewer_key, fake_motion):
    await stub.RegisterRobot(rs.RegisterRobotRequest(robot=arm()), metadata=auth(operator_key))
    call, _ = await open_session(stub, operator_key)
    reply = await stub.StopRobot(rs.StopRobotRequest(robot_id="arm-1", reason="person in the way"), metadata=auth(viewer_key))
    assert reply.delivered
    stop = await next_of(call, "stop")
    assert stop.reason == "person in the way" and stop.source.startswith("key:")
    await call.write(state_msg(1))
    error = await next_of(call, "error")
    assert error.code == grpc.StatusCode.FAILED_PRECONDITION.value[0] and "stopped" in error.message
    await call.write(sp.ClientMessage(resume=sp.Resume()))
    await call.write(state_msg(2))
    assert (await next_of(call, "actions")).observation_seq == 2
    call.cancel()


async def test_stop_with_no_live_session_is_not_delivered(stub, operator_key):
    await stub.RegisterRobot(rs.RegisterRobotRequest(robot=arm()), metadata=auth(operator_key))
    assert not (await stub.StopRobot(rs.StopRobotRequest(robot_id="arm-1"), metadata=auth(operator_key))).delivered


async def test_sensor_data_is_forwarded_to_the_bus(stub, operator_key, tenant, nc):
    from robosoul.bus.v1 import control_pb2

    await stub.RegisterRobot(rs.RegisterRobotRequest(robot=arm()), metadata=auth(operator_key))
    sub = await nc.subscribe(subjects.robot_subject(tenant, "arm-1", "obs.audio"))
    call, _ = await open_session(stub, operator_key)
    samples = from_numpy(np.arange(160, dtype=np.int16))
    await call.write(_obs(1, audio=sp.AudioChunk(timestamp=now_ts(), device="mic", sample_rate_hz=16000, samples=samples)))
    msg = await sub.next_msg(timeout=5)
    envelope = control_pb2.ObservationEnvelope.FromString(msg.data)
    assert envelope.tenant == tenant and envelope.observation.audio.samples == samples
    call.cancel()


async def test_goals_and_speech_from_the_brain_reach_the_session(stub, operator_key, tenant, nc, fake_motion):
    from robosoul.bus.v1 import control_pb2

    await stub.RegisterRobot(rs.RegisterRobotRequest(robot=arm()), metadata=auth(operator_key))
    call, _ = await open_session(stub, operator_key)
    subject = subjects.robot_subject(tenant, "arm-1", "cmd")
    goal = sp.Goal(goal_id="from-plan", skill=sp.SKILL_REACH, position={"x": 0.2, "z": 0.3})
    await nc.request(subject, control_pb2.RobotCommand(goal=goal).SerializeToString(), timeout=2)
    event = await next_of(call, "event")
    assert event.kind == "goal" and event.attributes["goal_id"] == "from-plan"
    await nc.publish(subject, control_pb2.RobotCommand(speech=sp.SpeechAudio(utterance_id="u1", text="hello")).SerializeToString())
    assert (await next_of(call, "speech")).text == "hello"
    await nc.publish(subject, b"\xff garbage")  # refused and logged; the session goes on
    await call.write(state_msg(1))
    await next_of(call, "actions")
    assert fake_motion["requests"][-1].goal.goal_id == "from-plan"
    call.cancel()


async def test_the_brain_s_trace_reaches_the_robot_and_a_goal_s_first_chunk(stub, operator_key, tenant, nc, fake_motion, span_exporter):
    # What a person said (voice -> language) is one trace: the messages it produces carry it to the
    # robot, and the first chunk motion computes for its goal continues it; later chunks are the robot's own.
    from robosoul.bus.v1 import control_pb2

    await stub.RegisterRobot(rs.RegisterRobotRequest(robot=arm()), metadata=auth(operator_key))
    call, _ = await open_session(stub, operator_key)
    subject = subjects.robot_subject(tenant, "arm-1", "cmd")
    said = "0af7651916cd43dd8448eb211c80319c"
    headers = {"traceparent": f"00-{said}-b7ad6b7169203331-01"}
    reply = control_pb2.RobotCommand(reply=sp.Reply(utterance_id="u1", text="Okay.", final=True))
    await nc.publish(subject, reply.SerializeToString(), headers=headers)
    assert said in (await next_message(call, "reply")).trace_context["traceparent"]
    goal = sp.Goal(goal_id="from-plan", skill=sp.SKILL_REACH, position={"x": 0.2, "z": 0.3})
    await nc.request(subject, control_pb2.RobotCommand(goal=goal).SerializeToString(), timeout=2, headers=headers)
    assert said in (await next_message(call, "event")).trace_context["traceparent"]
    for seq in (1, 2):
        await call.write(state_msg(seq))
        await next_of(call, "actions")
    first, second = fake_motion["headers"][-2:]
    assert said in first["traceparent"] and said not in second.get("traceparent", "")
    call.cancel()


async def test_health_and_reflection(gateway):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "robosoul.v1.RobotService"):
            assert (await health.Check(health_pb2.HealthCheckRequest(service=service))).status == health_pb2.HealthCheckResponse.SERVING
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        responses = reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        async for response in responses:
            names = {s.name for s in response.list_services_response.service}
            assert "robosoul.v1.RobotService" in names
            break


async def test_live_session_switches_to_a_new_policy_without_reconnecting(stub, operator_key, tenant, nc, fake_motion):
    from robosoul_core.bus import key_value
    from robosoul_core.registry import RobotRegistry

    await stub.RegisterRobot(rs.RegisterRobotRequest(robot=arm()), metadata=auth(operator_key))
    call, _ = await open_session(stub, operator_key)
    await call.write(state_msg(1))
    await next_of(call, "actions")
    assert fake_motion["requests"][-1].embodiment.embodiment_tag == "rs-arm4"

    registry = RobotRegistry(await key_value(nc, subjects.ROBOTS_BUCKET, timeout=2))
    await registry.modify(tenant, "arm-1", lambda r: setattr(r.embodiment, "embodiment_tag", "onboarded-arm"))
    event = await next_of(call, "event")
    assert event.kind == "policy" and event.attributes["embodiment_tag"] == "onboarded-arm"
    await call.write(state_msg(2))
    assert (await next_of(call, "actions")).observation_seq == 2  # same stream, no reconnect
    assert fake_motion["requests"][-1].embodiment.embodiment_tag == "onboarded-arm"

    # a chunk asked for under the old tag and refused after the switch is stale: not reported
    fake_motion["mode"] = "unknown body"
    await call.write(state_msg(3))
    await asyncio.sleep(0.05)  # the request is in flight with the old tag
    await registry.modify(tenant, "arm-1", lambda r: setattr(r.embodiment, "embodiment_tag", "onboarded-arm-2"))
    assert (await next_of(call, "event")).attributes["embodiment_tag"] == "onboarded-arm-2"
    await call.write(state_msg(4))  # under the new tag, still refused: that one is reported
    error = await next_of(call, "error")
    assert error.observation_seq == 4 and "'onboarded-arm-2'" in error.message, error
    fake_motion["mode"] = "ok"

    # a changed joint list cannot be switched live: the session ends and says why
    await registry.modify(tenant, "arm-1", lambda r: r.embodiment.joints.add(name="extra", type=1, position_limits={"min": -1, "max": 1}, max_velocity=1))
    await expect_status(next_of(call, "actions"), grpc.StatusCode.ABORTED, "joints changed")
