"""The SDK session against a scripted in-process gateway (the real gateway is
exercised in tests/integration): control loop, chunks, watchdog, stop,
reconnects and typed errors."""

import asyncio

import grpc
import numpy as np
import pytest
from opentelemetry import trace

from robosoul.v1 import robot_pb2, robot_service_pb2_grpc
from robosoul.v1 import robot_service_pb2 as rs
from robosoul.v1 import session_pb2 as sp
from robosoul_core.tensors import from_numpy
from robosoul_sdk import JointReading, RoboSoulClient, RobotDriver, SessionConfig, embodiment, reach, revolute
from robosoul_sdk.errors import AlreadyExists, NotFound, PermissionDenied, Unauthenticated

KEY = "rsk_0123456789abcdef_" + "A" * 43
ROBOT = robot_pb2.Robot(robot_id="arm-1", embodiment=embodiment([revolute("a", -1, 1, max_velocity=5), revolute("b", -1, 1, max_velocity=5)], control_rate_hz=100))


class FakeBrain(robot_service_pb2_grpc.RobotServiceServicer):
    """Answers each action request with a chunk moving 0.01 rad/step towards +1."""

    def __init__(self):
        self.mute = False
        self.goals: list[sp.Goal] = []
        self.sessions = 0
        self.requests = 0
        self.outbox: asyncio.Queue | None = None
        self.kill = asyncio.Event()

    async def GetRobot(self, request, context):
        if dict(context.invocation_metadata()).get("authorization") != f"Bearer {KEY}":
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "unknown API key")
        if request.robot_id != "arm-1":
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no robot {request.robot_id!r} in your tenant")
        return ROBOT

    async def RegisterRobot(self, request, context):
        await context.abort(grpc.StatusCode.ALREADY_EXISTS, "robot 'arm-1' is already registered")

    async def ListRobots(self, request, context):
        if request.page_token == "":
            return rs.ListRobotsResponse(robots=[ROBOT], next_page_token="arm-1")
        return rs.ListRobotsResponse(robots=[robot_pb2.Robot(robot_id="arm-2")])

    async def Connect(self, request_iterator, context):
        first = await anext(aiter(request_iterator))
        if first.open.robot_id != "arm-1":
            await context.abort(grpc.StatusCode.NOT_FOUND, "no robot")
        self.sessions += 1
        self.kill.clear()
        self.outbox = asyncio.Queue()
        await context.write(sp.BrainMessage(started=sp.SessionStarted(session_id=f"s{self.sessions}", robot=ROBOT)))

        async def reader():
            async for msg in request_iterator:
                kind = msg.WhichOneof("body")
                if kind == "set_goal":
                    self.goals.append(msg.set_goal)
                elif kind == "observation" and msg.observation.request_actions and not self.mute:
                    self.requests += 1
                    q = np.array(msg.observation.joint_state.positions, np.float32)
                    plan = np.clip(q + 0.01 * np.arange(16)[:, None], -1, 1).astype(np.float32)
                    await self.outbox.put(sp.BrainMessage(actions=sp.ActionChunk(
                        observation_seq=msg.observation.seq, step_period_s=0.01, joint_names=["a", "b"], positions=from_numpy(plan))))

        async def writer():
            while True:
                await context.write(await self.outbox.get())

        tasks = [asyncio.create_task(reader()), asyncio.create_task(writer()), asyncio.create_task(self.kill.wait())]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for t in tasks:
            t.cancel()
        if self.kill.is_set():
            await context.abort(grpc.StatusCode.UNAVAILABLE, "gateway restarting")


class Arm(RobotDriver):
    def __init__(self):
        self.q = np.zeros(2)
        self.commands = 0
        self.holds = 0

    def read_joints(self):
        return JointReading(positions=self.q.tolist())

    def command_joints(self, positions):
        self.commands += 1
        self.q = np.array(positions)

    def hold(self, positions):
        self.holds += 1
        self.q = np.array(positions)


@pytest.fixture
async def brain():
    server = grpc.aio.server()
    fake = FakeBrain()
    robot_service_pb2_grpc.add_RobotServiceServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    fake.target = f"127.0.0.1:{port}"
    yield fake
    await server.stop(0)


async def wait_for(predicate, timeout=5.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


async def test_unary_calls_and_typed_errors(brain):
    async with RoboSoulClient(brain.target, KEY) as client:
        assert (await client.get_robot("arm-1")).robot_id == "arm-1"
        with pytest.raises(NotFound, match="no robot 'x'"):
            await client.get_robot("x")
        with pytest.raises(AlreadyExists):
            await client.register_robot("arm-1", ROBOT.embodiment)
        assert [r.robot_id for r in await client.list_robots()] == ["arm-1", "arm-2"]
        assert (await client.ensure_robot("arm-1", ROBOT.embodiment)).robot_id == "arm-1"
    async with RoboSoulClient(brain.target, "rsk_bad") as client:
        with pytest.raises(Unauthenticated):
            await client.get_robot("arm-1")


async def test_session_moves_the_robot_with_chunks_and_holds_when_they_stop(brain):
    arm = Arm()
    async with RoboSoulClient(brain.target, KEY) as client:
        session = client.session("arm-1", arm, SessionConfig(watchdog_s=0.1, replan_after_steps=4))
        task = asyncio.create_task(session.run())
        await session.wait_connected()
        await session.set_goal(reach(0.3, 0.0, 0.2, goal_id="g1"))
        await wait_for(lambda: arm.q[0] > 0.2)
        assert brain.goals[-1].goal_id == "g1"
        assert session.stats.chunks >= 2 and session.stats.chunk_rtt_s
        # chunks stop coming: within the watchdog the arm holds still
        brain.mute = True
        holds_before = arm.holds
        await wait_for(lambda: arm.holds > holds_before + 5)
        frozen = arm.q.copy()
        await asyncio.sleep(0.1)
        np.testing.assert_allclose(arm.q, frozen)
        # and moves again once chunks come back
        brain.mute = False
        await wait_for(lambda: arm.q[0] > frozen[0] + 0.05)
        session.close()
        await task
    assert arm.holds > 0 and arm.commands > 0


async def test_stop_holds_until_resume(brain):
    arm = Arm()
    async with RoboSoulClient(brain.target, KEY) as client:
        session = client.session("arm-1", arm)
        stops = []
        session.on_stop = stops.append
        task = asyncio.create_task(session.run())
        await session.wait_connected()
        await wait_for(lambda: session.stats.chunks > 0)
        await brain.outbox.put(sp.BrainMessage(stop=sp.Stop(reason="e-stop", source="test")))
        await wait_for(lambda: stops)
        await asyncio.sleep(0.05)  # the velocity limiter brings the arm to rest
        requests, frozen = brain.requests, arm.q.copy()
        await asyncio.sleep(0.2)
        assert brain.requests == requests  # no chunk requests while stopped
        np.testing.assert_allclose(arm.q, frozen)  # and no motion
        await session.resume()
        await wait_for(lambda: brain.requests > requests)
        session.close()
        await task


async def test_reconnects_and_resends_the_goal(brain):
    arm = Arm()
    async with RoboSoulClient(brain.target, KEY) as client:
        session = client.session("arm-1", arm, SessionConfig(reconnect_min_s=0.01))
        task = asyncio.create_task(session.run())
        await session.wait_connected()
        await session.set_goal(reach(0.1, 0.1, 0.1, goal_id="keep-me"))
        await wait_for(lambda: brain.goals)
        brain.kill.set()
        await wait_for(lambda: brain.sessions == 2 and len(brain.goals) >= 2)
        assert brain.goals[-1].goal_id == "keep-me"
        assert session.stats.reconnects >= 1
        chunks = session.stats.chunks
        await wait_for(lambda: session.stats.chunks > chunks)
        session.close()
        await task


async def test_fatal_errors_end_the_session_with_a_typed_exception(brain):
    async with RoboSoulClient(brain.target, KEY) as client:
        session = client.session("not-mine", Arm())
        with pytest.raises(NotFound):
            await asyncio.wait_for(session.run(), 5)


async def test_driver_coroutines_are_supported(brain):
    class AsyncArm(Arm):
        async def read_joints(self):
            return JointReading(positions=self.q.tolist())

        async def command_joints(self, positions):
            self.commands += 1
            self.q = np.array(positions)

    arm = AsyncArm()
    async with RoboSoulClient(brain.target, KEY) as client:
        session = client.session("arm-1", arm)
        await asyncio.wait_for(session.run(duration_s=0.3), 10)
    assert arm.commands > 0


def test_permission_denied_is_fatal_type():
    assert not PermissionDenied("x").retryable


def test_callbacks_run_inside_the_trace_of_the_message():
    # A reply carries the trace of what the person said; a span the vendor starts in on_reply continues it.
    from robosoul_sdk.session import Session

    session = Session(client=None, robot_id="arm-1", driver=None, config=SessionConfig())
    seen = []
    session.on_reply = lambda reply: seen.append(trace.get_current_span().get_span_context())
    said = "0af7651916cd43dd8448eb211c80319c"
    session._on_message(sp.BrainMessage(reply=sp.Reply(utterance_id="u1", text="Okay."), trace_context={"traceparent": f"00-{said}-b7ad6b7169203331-01"}))
    session._on_message(sp.BrainMessage(reply=sp.Reply(utterance_id="u2", text="Hi.")))
    assert format(seen[0].trace_id, "032x") == said
    assert not seen[1].is_valid  # no trace context: none is made up, and the first did not leak
