"""The OpenAI-compatible path: tool calls, streamed words, and what a misbehaving endpoint gets.

The endpoint is scripted (httpx.MockTransport): it stands in for a hosted LLM API.
The real llama.cpp server is exercised by tests/integration/test_language.py."""

import httpx
import pytest

from robosoul.bus.v1 import language_pb2
from robosoul.v1 import dialogue_pb2
from robosoul_core.errors import DeadlineExceeded, InvalidArgument, Unavailable
from robosoul_language import evalset
from robosoul_language.backends import EmbeddedBackend, ToolsBackend, tool_specs
from robosoul_language.chat import ChatClient

GRIP = evalset.ROBOTS["gripper"]


def turn_request(text):
    return language_pb2.TurnRequest(tenant="acme", robot_id=GRIP.robot_id, session_id="s", source="text",
                                    utterance=dialogue_pb2.UserText(utterance_id="u", text=text))


def tool_events(*calls):
    events = [{"choices": [{"delta": {"role": "assistant"}}]}]
    for i, (name, args) in enumerate(calls):
        events.append({"choices": [{"delta": {"tool_calls": [{"index": i, "function": {"name": name, "arguments": ""}}]}}]})
        # Arguments arrive in pieces, as hosted APIs stream them.
        events.append({"choices": [{"delta": {"tool_calls": [{"index": i, "function": {"arguments": args[:5]}}]}}]})
        events.append({"choices": [{"delta": {"tool_calls": [{"index": i, "function": {"arguments": args[5:]}}]}}]})
    return events


@pytest.fixture
def tools_service(make_service, openai_double):
    transport_for, sse = openai_double
    seen = []

    def make(events=None, response=None):
        def handler(body):
            seen.append(body)
            return response if response is not None else httpx.Response(200, content=sse(events), headers={"content-type": "text/event-stream"})

        backend = ToolsBackend(ChatClient("http://llm.test/v1", "some-model", api_key="k", transport=transport_for(handler)))
        service, rec = make_service(backend)
        service.on_scene("acme", GRIP.robot_id, evalset.SCENES["table"])
        return service, rec

    return make, seen


async def test_streamed_tool_calls_become_a_checked_plan(tools_service):
    make, seen = tools_service
    service, rec = make(tool_events(("pick", '{"object": "red cube"}'), ("place", '{"object": "it", "location": "blue bin"}')))
    result = await service.turn(turn_request("put the red cube in the bin"))
    assert [(s.skill, s.object_id, s.location_id) for s in result.plan.steps] == [("pick", "red-cube", ""), ("place", "red-cube", "blue-bin")]
    body = seen[0]
    assert body["stream"] and body["tools"] == tool_specs() and "red cube (red-cube)" in body["messages"][0]["content"]


async def test_a_models_invented_calls_never_reach_the_plan(tools_service):
    make, _ = tools_service
    service, rec = make(tool_events(("pick", '{"object": "blue cup"}'), ("teleport", "{}"), ("pick", "not json")))
    result = await service.turn(turn_request("get me the blue cup"))
    assert not result.plan.steps and "goal" not in rec.kinds()
    assert result.refused[0] == "I can't see a blue cup" and "teleport" in result.refused[1]
    assert result.sentences[0] == "Sorry, I can't see a blue cup."


async def test_words_stream_sentence_by_sentence(tools_service):
    make, _ = tools_service
    text = "Hello there! I am a robot. Nice to meet you."
    events = [{"choices": [{"delta": {"content": text[i:i + 4]}}]} for i in range(0, len(text), 4)]
    service, rec = make(events)
    result = await service.turn(turn_request("hi"))
    assert result.sentences == ["Hello there!", "I am a robot.", "Nice to meet you."]
    replies = rec.replies()
    assert [r.seq for r in replies] == [0, 1, 2] and replies[-1].final and replies[0].intent == "chat"


@pytest.mark.parametrize("response, error, message", [
    (httpx.Response(500, text="overloaded"), Unavailable, "answered 500: overloaded"),
    (httpx.Response(401, text="bad key"), Unavailable, "401"),
    (httpx.Response(400, text="model not found"), InvalidArgument, "refused the request"),
    (httpx.Response(200, content=b"data: {not json\n\n", headers={"content-type": "text/event-stream"}), Unavailable, "malformed event"),
])
async def test_endpoint_failures_are_precise_errors(tools_service, response, error, message):
    make, _ = tools_service
    service, rec = make(response=response)
    with pytest.raises(error, match=message):
        await service.turn(turn_request("pick up the red cube"))
    assert "goal" not in rec.kinds()


async def test_timeouts_and_unreachable_endpoints(openai_double):
    transport_for, _ = openai_double

    def slow(body):
        raise httpx.ReadTimeout("slow")

    def down(body):
        raise httpx.ConnectError("refused")

    with pytest.raises(DeadlineExceeded):
        await ChatClient("http://llm.test/v1", "m", transport=transport_for(slow)).complete([{"role": "user", "content": "x"}])
    with pytest.raises(Unavailable, match="unreachable"):
        await ChatClient("http://llm.test/v1", "m", transport=transport_for(down)).complete([{"role": "user", "content": "x"}])


async def test_embedded_backend_keeps_the_best_match_when_the_small_model_is_down(matcher, make_service, openai_double):
    transport_for, _ = openai_double

    def down(body):
        raise httpx.ConnectError("refused")

    backend = EmbeddedBackend(matcher, ChatClient("http://llm.test/v1", "m", transport=transport_for(down)), llm_margin=1.0)
    service, _ = make_service(backend)
    service.on_scene("acme", GRIP.robot_id, evalset.SCENES["table"])
    result = await service.turn(turn_request("pick up the red cube"))
    assert [s.skill for s in result.plan.steps] == ["pick"] and result.decided_by == "intent"


async def test_embedded_backend_asks_with_a_schema_of_the_best_intents(matcher, make_service, openai_double):
    transport_for, _ = openai_double
    bodies = []

    def answer(body):
        bodies.append(body)
        return httpx.Response(200, json={"choices": [{"message": {"role": "assistant", "content": '{"intent": "reach"}'}}]})

    backend = EmbeddedBackend(matcher, ChatClient("http://llm.test/v1", "m", transport=transport_for(answer)), llm_margin=1.0)
    service, _ = make_service(backend)
    service.on_scene("acme", GRIP.robot_id, evalset.SCENES["table"])
    result = await service.turn(turn_request("pick up the red cube"))
    enum = bodies[0]["response_format"]["schema"]["properties"]["intent"]["enum"]
    assert bodies[0]["response_format"]["type"] == "json_object" and "pick" in enum and len(enum) == 4
    assert result.decided_by == "llm" and [s.skill for s in result.plan.steps] == ["reach"]


@pytest.mark.parametrize("said, named, faithful", [
    ("pick up the purple ball", "red cube", False),   # exists, but is not what was asked for
    ("pick up the purple cube", "red cube", False),
    ("grab the crimson block", "red cube", True),     # synonyms
    ("put the red cube in the bin", "blue bin", True),  # the model may add what the person left out
    ("pick it up", "green ball", True),               # pronouns refer back
])
async def test_a_model_is_held_to_what_was_said(tools_service, said, named, faithful):
    make, _ = tools_service
    service, rec = make(tool_events(("pick" if "bin" not in named else "place", f'{{"object": "{named}"}}' if "bin" not in named else f'{{"object": "red cube", "location": "{named}"}}')))
    result = await service.turn(turn_request(said))
    if faithful:
        assert result.plan.steps, result.refused
    else:
        assert not result.plan.steps and "not sure which" in result.refused[0] and "goal" not in rec.kinds()


async def test_the_model_is_told_what_the_robot_holds(tools_service):
    make, seen = tools_service
    service, _ = make(tool_events(("pick", '{"object": "red cube"}')))
    await service.turn(turn_request("pick up the red cube"))
    await service.turn(turn_request("now what?"))
    assert "You are holding: nothing" in seen[0]["messages"][0]["content"]
    assert "You are holding: red-cube" in seen[1]["messages"][0]["content"]
