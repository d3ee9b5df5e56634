"""Talking to a robot through the platform: SDK text -> gateway -> NATS -> language service
(intent matching, with the real llama.cpp server process for the small model) -> stop,
reply and goal back through the gateway -> the virtual MuJoCo arm moves."""

import asyncio

import numpy as np
import pytest

from robosoul.bus.v1 import language_pb2
from robosoul.v1 import dialogue_pb2
from robosoul.v1.tensor_pb2 import Vec3
from robosoul_language import evalset
from robosoul_language.backends import EmbeddedBackend, ToolsBackend
from robosoul_language.chat import ChatClient
from robosoul_language.intents import IntentMatcher
from robosoul_language.llm_server import MODEL, TOOLS_MODEL
from robosoul_language.service import LanguageService
from robosoul_sdk import RoboSoulClient
from robosoul_sdk.errors import InvalidArgument
from robosoul_simulation.virtual_robot import VirtualRobot


def scene_with(target: np.ndarray) -> dialogue_pb2.Scene:
    x, y, z = (float(v) for v in target)
    return dialogue_pb2.Scene(camera="head", objects=[
        dialogue_pb2.SceneObject(object_id="cube-1", label="cube", color="red", position=Vec3(x=x, y=y, z=z - 0.05), size_m=0.04),
        dialogue_pb2.SceneObject(object_id="ball-1", label="ball", color="green", position=Vec3(x=x, y=-y, z=z), size_m=0.05),
    ])


async def test_spoken_command_moves_the_arm_and_stop_wins(stack, keys):
    async with RoboSoulClient(stack.gateway_target, keys["alpha"]) as client:
        robot = VirtualRobot(client, "talker")
        await robot.register(replace=True)
        await client.set_persona("talker", dialogue_pb2.Persona(name="Robin", personality="patient and kind"))
        stops, errors = [], []
        stopped = asyncio.Event()
        robot.session.on_stop = lambda stop: (stops.append(stop), stopped.set())
        robot.session.on_error = errors.append
        async with robot:
            target = robot.sample_targets(1, seed=5)[0]
            await robot.session.send_scene(scene_with(target))
            await asyncio.sleep(0.3)  # the scene reaches the language service over NATS

            who = await robot.session.ask("who are you?")
            assert "Robin" in who[0].text and who[-1].final

            start = robot.driver.ee_position()
            replies = await robot.session.ask("please touch the red cube", emotion=evalset.voice_emotion("happy"))
            first = replies[0]
            assert [(s.skill, s.object_id) for s in first.plan.steps] == [("reach", "cube-1")]
            assert first.style == dialogue_pb2.REPLY_STYLE_CHEERFUL and first.emotion.happy == pytest.approx(0.7)
            goal = first.plan.steps[0].goal.position
            for _ in range(600):  # a generous deadline (the machine may be busy), not a speed check
                if np.linalg.norm(robot.driver.ee_position() - [goal.x, goal.y, goal.z]) <= 0.03:
                    break
                await asyncio.sleep(0.1)
            reached = np.linalg.norm(robot.driver.ee_position() - [goal.x, goal.y, goal.z])
            assert reached < 0.03 < np.linalg.norm(start - [goal.x, goal.y, goal.z]), reached

            instead = await robot.session.ask("pick up the red cube")  # rs-arm4 has no gripper: it reaches the cube
            assert [(s.skill, s.object_id) for s in instead[0].plan.steps] == [("reach", "cube-1")]
            assert "no gripper" in instead[0].refused[0] and "no gripper" in " ".join(r.text for r in instead)

            unseen = await robot.session.ask("touch the blue bottle")
            assert not unseen[0].plan.steps and "blue bottle" in unseen[0].text

            await robot.session.say("stop!")
            await asyncio.wait_for(stopped.wait(), 5)
            assert stops[0].source == "language"
            assert robot.session.executor.stopped

            with pytest.raises(InvalidArgument):
                await robot.session.say("   ")  # the SDK refuses it before it leaves (the gateway would too)
            assert (await robot.session.ask("hello"))[0].intent == "greeting"
            assert not errors


async def test_set_persona_is_validated(stack, keys):
    async with RoboSoulClient(stack.gateway_target, keys["alpha"]) as client:
        robot = VirtualRobot(client, "persona-check")
        await robot.register(replace=True)
        for bad in [dialogue_pb2.Persona(name="x" * 41), dialogue_pb2.Persona(name="ok", voice="a b"), dialogue_pb2.Persona(name="   ")]:
            with pytest.raises(InvalidArgument):
                await client.set_persona("persona-check", bad)
        stored = await client.set_persona("persona-check", dialogue_pb2.Persona(name="Pip"))
        assert stored.persona.name == "Pip"


@pytest.fixture(scope="module")
def matcher():
    return IntentMatcher()


def _service(backend):
    async def get_robot(tenant, robot_id):
        return evalset.ROBOTS["gripper"]

    async def publish(tenant, robot_id, cmd):
        pass

    service = LanguageService(backend, get_robot=get_robot, publish=publish)
    service.on_scene("acme", "eval-grip", evalset.SCENES["table"])
    return service


def _req(text):
    return language_pb2.TurnRequest(tenant="acme", robot_id="eval-grip", session_id="s", source="text",
                                    utterance=dialogue_pb2.UserText(utterance_id="u", text=text))


async def test_small_model_chooses_among_the_best_intents_under_a_schema(stack, matcher):
    backend = EmbeddedBackend(matcher, ChatClient(stack.llm_url, MODEL, timeout_s=60), llm_margin=1.0)
    result = await _service(backend).turn(_req("grab the green ball"))
    assert result.decided_by == "llm"
    # Whatever the 270M model chose, it could only choose one of the offered intents, and the plan is checked.
    assert result.intent in {m for m, _ in matcher.match(["grab the green ball"])[0].ranked}
    assert all(s.object_id in {"green-ball", ""} for s in result.plan.steps)


async def test_tools_backend_on_llama_cpp_function_calling(stack):
    backend = ToolsBackend(ChatClient(stack.llm_url, TOOLS_MODEL, timeout_s=120), stream=False, max_tokens=60)
    result = await _service(backend).turn(_req("pick up the red cube"))
    assert result.decided_by == "tools" and result.sentences
    ids = {o.object_id for o in evalset.SCENES["table"].objects}
    assert all(s.object_id in ids | {""} and s.skill in {"pick", "place", "reach", "look_at", "wave", "go_home", "stop"} for s in result.plan.steps)


async def test_language_service_down_still_gets_an_answer(stack, keys):
    """With no language service, `ask` completes with an apology and the vendor gets UNAVAILABLE."""
    proc = stack.processes["language"]
    proc.stop()
    try:
        async with RoboSoulClient(stack.gateway_target, keys["alpha"]) as client:
            robot = VirtualRobot(client, "lonely")
            await robot.register(replace=True)
            errors = []
            robot.session.on_error = errors.append
            async with robot:
                replies = await robot.session.ask("hello?")
                assert replies[-1].final and replies[-1].intent == "error"
                await asyncio.sleep(0.2)
                assert errors and "language" in str(errors[0])
    finally:
        stack.start_language()
