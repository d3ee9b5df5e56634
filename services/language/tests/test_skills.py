"""Grounding and the check every skill call passes before it leaves the service."""

import pytest

from robosoul.v1 import session_pb2
from robosoul_core.validation import validate_goal
from robosoul_language import evalset
from robosoul_language.grounding import parse_mention, resolve
from robosoul_language.skills import NO_GRIPPER_REACH, Call, check

TABLE, TWINS = evalset.SCENES["table"], evalset.SCENES["twins"]
GRIP, REACH_ONLY = evalset.ROBOTS["gripper"], evalset.ROBOTS["reach-only"]


@pytest.mark.parametrize("phrase, scene, expected", [
    ("the red cube", TABLE, "red-cube"),
    ("that crimson block", TABLE, "red-cube"),
    ("the navy block", TABLE, "blue-cube"),
    ("the navy one", TABLE, None),  # a blue cube and a blue bin: ambiguous
    ("the red cube on the left", TWINS, "red-left"),
    ("the rightmost red block", TWINS, "red-right"),
    ("the yellow thing", TWINS, "yellow-ball"),
])
def test_references_resolve_to_one_object(phrase, scene, expected):
    res = resolve(parse_mention(phrase), scene)
    assert (res.obj.object_id if res.obj else None) == expected


@pytest.mark.parametrize("phrase, scene, problem", [
    ("the purple ball", TABLE, "can't see a purple ball"),
    ("the red cube", TWINS, "which red cube"),
    ("it", TABLE, "not sure what"),
    ("the red cube", None, "can't see any objects"),
    ("something", TABLE, "not sure which"),
])
def test_unresolvable_references_say_why(phrase, scene, problem):
    res = resolve(parse_mention(phrase), scene)
    assert res.obj is None and problem in res.problem


def test_pronoun_refers_to_the_last_object():
    assert resolve(parse_mention("put it down"), TABLE, last_object="green-ball").obj.object_id == "green-ball"


# Seen by an RGB-only camera: colour and kind, no position.
FLAT = evalset.dialogue_pb2.Scene(objects=[evalset.dialogue_pb2.SceneObject(object_id="red-cube-1", label="cube", color="red")])

BAD_CALLS = [
    (Call("reach", object="red cube"), GRIP, FLAT, "not where it is"),
    (Call("pick", object="red cube"), GRIP, FLAT, "not where it is"),
    (Call("pick", object="purple ball"), GRIP, TABLE, "can't see a purple ball"),
    (Call("pick", object="purple ball"), REACH_ONLY, TABLE, "can't see a purple ball"),
    (Call("pick", object="blue bin"), GRIP, TABLE, "too big"),
    (Call("place", object="red cube", location="green ball"), GRIP, TABLE, "can't put things on the green ball"),
    (Call("place", object="red cube", location="black bin"), GRIP, TABLE, "can't see a black bin"),
    (Call("place", object="red cube", location=""), GRIP, TABLE, "where should"),
    (Call("place", object="blue bin", location="blue bin"), GRIP, TABLE, "on itself"),
    (Call("fly"), GRIP, TABLE, "don't know how to fly"),
    (Call("look_at"), GRIP, evalset.dialogue_pb2.Scene(), "can't see anyone"),
    (Call("reach", object="red cube"), GRIP, TWINS, "which red cube"),
]


@pytest.mark.parametrize("call, robot, scene, reason", BAD_CALLS)
def test_invalid_calls_become_refusals_never_steps(call, robot, scene, reason):
    out = check([call], robot, scene)
    assert out.steps == [] and len(out.refused) == 1 and reason in out.refused[0]


def test_a_pick_without_a_gripper_reaches_the_object_and_says_why():
    out = check([Call("pick", object="red cube")], REACH_ONLY, TABLE)
    assert [(s.skill, s.object_id) for s in out.steps] == [("reach", "red-cube")]
    assert out.steps[0].goal.skill == session_pb2.SKILL_REACH
    assert out.refused == [NO_GRIPPER_REACH]
    # Nothing to reach: the reply is about what is missing, not about the gripper.
    out = check([Call("pick", object="purple ball")], REACH_ONLY, TABLE)
    assert not out.steps and len(out.refused) == 1 and "purple ball" in out.refused[0]
    # A place still needs a gripper.
    out = check([Call("place", object="red cube", location="blue bin")], REACH_ONLY, TABLE)
    assert not out.steps and "no gripper" in out.refused[0]


def test_body_without_a_policy_cannot_move():
    robot = type(GRIP)()
    robot.CopyFrom(GRIP)
    robot.embodiment.embodiment_tag = ""
    out = check([Call("wave"), Call("reach", object="red cube")], robot, TABLE)
    assert not out.steps and all("onboarding" in r for r in out.refused)


def test_place_picks_first_and_every_goal_passes_validation():
    out = check([Call("place", object="red cube", location="blue bin")], GRIP, TABLE)
    assert [s.skill for s in out.steps] == ["pick", "place"] and not out.refused
    for step in out.steps:
        assert step.goal.skill == session_pb2.SKILL_GRASP_AND_PLACE
        validate_goal(step.goal, GRIP.embodiment)
    pick, place = out.steps
    # The place starts where the pick left the cube and ends above the bin.
    assert place.goal.grasp.object == pick.goal.grasp.place
    assert abs(place.goal.grasp.place.y - (-0.25)) < 1e-9 and out.held == {}


def test_held_object_can_be_placed_next_turn_without_a_new_pick():
    first = check([Call("pick", object="green ball")], GRIP, TABLE)
    second = check([Call("place", object="it", location="plate")], GRIP, TABLE, last_object=first.last_object, held=first.held)
    assert [s.skill for s in second.steps] == ["place"] and second.steps[0].location_id == "white-plate"


def test_gestures_map_to_named_poses_and_look_at_has_no_motion_goal():
    out = check([Call("wave"), Call("go_home"), Call("look_at"), Call("stop")], GRIP, TABLE)
    assert [s.goal.named_pose for s in out.steps[:2]] == ["wave", "home"]
    assert out.steps[2].person_id == "p1" and not out.steps[2].HasField("goal")
    assert out.steps[3].skill == "stop" and not out.steps[3].HasField("goal")
