"""One turn of the language service: fast stop, grounded plan, empathetic streamed reply, bad input."""

import pytest

from robosoul.bus.v1 import language_pb2
from robosoul.v1 import dialogue_pb2
from robosoul_core.errors import InvalidArgument, NotFound
from robosoul_language import evalset

S = dialogue_pb2
GRIP = evalset.ROBOTS["gripper"]


def request(text, *, robot=GRIP.robot_id, session="s1", emotion=None, uid="u1"):
    utt = dialogue_pb2.UserText(utterance_id=uid, text=text)
    if emotion is not None:
        utt.emotion.CopyFrom(emotion)
    return language_pb2.TurnRequest(tenant="acme", robot_id=robot, session_id=session, utterance=utt, source="text")


@pytest.fixture
def table_service(make_service):
    service, rec = make_service()
    service.on_scene("acme", GRIP.robot_id, evalset.SCENES["table"])
    return service, rec


async def test_stop_leaves_before_anything_else(table_service):
    service, rec = table_service
    result = await service.turn(request("stop right now!"))
    assert rec.kinds()[0] == "stop" and result.fast_stop and result.decided_by == "fast_stop"
    assert "goal" not in rec.kinds()  # a stop never comes with motion
    assert result.style == S.REPLY_STYLE_SERIOUS and [s.skill for s in result.plan.steps] == ["stop"]


async def test_command_gives_plan_first_then_goal_then_rest(table_service):
    service, rec = table_service
    result = await service.turn(request("please put the red cube in the blue bin"))
    assert [s.skill for s in result.plan.steps] == ["pick", "place"]
    kinds = rec.kinds()
    assert kinds[0] == "reply" and kinds[1] == "goal"
    first = rec.replies()[0]
    assert first.seq == 0 and first.plan == result.plan and first.intent == "place" and first.transcript
    assert rec.replies()[-1].final and all(not r.final for r in rec.replies()[:-1])
    goal = rec.commands[1][2].goal
    assert goal == result.plan.steps[0].goal  # motion starts with the pick


async def test_unseen_object_is_explained_and_nothing_moves(table_service):
    service, rec = table_service
    result = await service.turn(request("pick up the purple ball"))
    assert not result.plan.steps and "purple ball" in result.refused[0]
    assert "goal" not in rec.kinds()
    assert "can't see a purple ball" in " ".join(result.sentences)


async def test_it_refers_to_the_object_of_the_previous_turn(table_service):
    service, _ = table_service
    await service.turn(request("grab the green ball", uid="a"))
    result = await service.turn(request("now put it on the plate", uid="b"))
    assert [(s.skill, s.object_id, s.location_id) for s in result.plan.steps] == [("place", "green-ball", "white-plate")]


@pytest.mark.parametrize("label, style", [
    ("sad", S.REPLY_STYLE_SYMPATHETIC), ("fearful", S.REPLY_STYLE_CALM), ("angry", S.REPLY_STYLE_CALM),
    ("happy", S.REPLY_STYLE_CHEERFUL), ("surprised", S.REPLY_STYLE_EXCITED), ("neutral", S.REPLY_STYLE_NEUTRAL),
])
async def test_style_follows_the_voice_emotion(table_service, label, style):
    service, _ = table_service
    result = await service.turn(request("grab the blue block for me", emotion=evalset.voice_emotion(label)))
    assert result.style == style and [s.skill for s in result.plan.steps] == ["pick"]


async def test_emotion_from_words_when_the_voice_sends_none(table_service):
    service, _ = table_service
    result = await service.turn(request("I feel so sad and lonely today"))
    assert result.intent == "feeling" and result.style == S.REPLY_STYLE_SYMPATHETIC and not result.plan.steps


async def test_trend_is_remembered_across_the_conversation(table_service):
    service, rec = table_service
    for i, label in enumerate(["sad", "sad", "sad"]):
        await service.turn(request("I had an awful day", emotion=evalset.voice_emotion(label), uid=f"s{i}"))
    result = await service.turn(request("that cheered me up, thanks", emotion=evalset.voice_emotion("happy"), uid="h"))
    trend = rec.replies()[-len(result.sentences)].trend
    assert trend.turns == 4 and trend.dominant == "sad" and trend.valence_change > 0
    assert result.sentences[0] == "I'm glad you're feeling better."


async def test_conversations_are_separate_per_session(table_service):
    service, _ = table_service
    await service.turn(request("grab the green ball", session="one"))
    result = await service.turn(request("put it on the plate", session="two"))
    assert not result.plan.steps and result.refused  # "it" means nothing in a new conversation


async def test_persona_name_and_personality_in_the_reply(make_service):
    robot = type(GRIP)()
    robot.CopyFrom(GRIP)
    robot.persona.name, robot.persona.personality = "Pip", "curious and kind"
    robot.persona.default_style = S.REPLY_STYLE_CHEERFUL
    service, _ = make_service(robots={robot.robot_id: robot})
    result = await service.turn(request("who are you"))
    assert "Pip" in result.sentences[0] and "curious and kind" in " ".join(result.sentences)
    assert result.style == S.REPLY_STYLE_CHEERFUL  # neutral emotion -> the persona's default


async def test_stale_scene_is_not_used(make_service):
    now = [0.0]
    service, _ = make_service(scene_max_age_s=5.0, clock=lambda: now[0])
    service.on_scene("acme", GRIP.robot_id, evalset.SCENES["table"])
    now[0] = 6.0
    result = await service.turn(request("pick up the red cube"))
    assert not result.plan.steps and "can't see any objects" in result.refused[0]


async def test_invalid_scene_is_dropped_and_the_last_good_one_kept(table_service):
    service, _ = table_service
    bad = dialogue_pb2.Scene(objects=[dialogue_pb2.SceneObject(object_id="x", label="cube", color="Red!!")])
    service.on_scene("acme", GRIP.robot_id, bad)
    assert service.scene("acme", GRIP.robot_id) == evalset.SCENES["table"]


def _bad(**changes):
    req = request("hello")
    for path, value in changes.items():
        target = req
        *parents, leaf = path.split(".")
        for p in parents:
            target = getattr(target, p)
        setattr(target, leaf, value)
    return req


@pytest.mark.parametrize("req, message", [
    (_bad(**{"utterance.text": ""}), "text is empty"),
    (_bad(**{"utterance.text": "   "}), "text is empty"),
    (_bad(**{"utterance.text": "x" * 2001}), "at most 2000"),
    (_bad(**{"utterance.text": "hi\x00there"}), "control characters"),
    (_bad(**{"utterance.utterance_id": ""}), "utterance_id"),
    (_bad(**{"utterance.utterance_id": "a b"}), "utterance_id"),
    (_bad(tenant="Bad.Tenant"), "tenant"),
    (_bad(tenant="svc"), "reserved"),
    (_bad(robot_id="robot*"), "robot_id"),
    (_bad(session_id=""), "session_id"),
    (_bad(**{"utterance.emotion.happy": 0.5}), "sum to 1"),
    (_bad(**{"utterance.emotion.sad": 1.5}), "within 0..1"),
    (_bad(**{"utterance.emotion.neutral": 1.0, "utterance.emotion.valence": 2.0}), "valence"),
])
async def test_bad_requests_get_precise_errors_and_publish_nothing(table_service, req, message):
    service, rec = table_service
    with pytest.raises(InvalidArgument, match=message):
        await service.turn(req)
    assert rec.commands == []
    # ...and the service goes on.
    assert (await service.turn(request("hello", uid="after"))).intent == "greeting"


async def test_unknown_robot_is_not_found_but_a_stop_still_goes_out(table_service):
    service, rec = table_service
    with pytest.raises(NotFound):
        await service.turn(request("stop", robot="ghost"))
    assert rec.kinds() == ["stop"]  # stop first, even before the robot is read
