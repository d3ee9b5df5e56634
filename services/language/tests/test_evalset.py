"""The evaluation set is what bench/language.py claims it is."""

from robosoul_language import evalset, intents
from robosoul_language.skills import SKILLS
from robosoul_language.stop import is_stop


def test_size_categories_and_no_overlap_with_the_intent_examples():
    cases = evalset.build()
    assert len(cases) >= 150
    assert {c.category for c in cases} >= {"command", "stop", "multi-step", "spatial", "unseen", "capability", "chit-chat",
                                           "emotional", "emotional command", "distractor"}
    examples = {s.lower() for ex in intents.EXAMPLES.values() for s in ex}
    assert not [c.text for c in cases if c.text.lower().strip(" !?.,") in examples]
    assert len({c.text for c in cases}) > 0.9 * len(cases)


def test_expected_plans_name_real_things_and_invalid_cases_expect_a_refusal():
    for case in evalset.build():
        scene = evalset.SCENES[case.scene]
        ids = {o.object_id for o in scene.objects} | {""}
        people = {p.person_id for p in scene.people} | {""}
        for skill, obj, loc, person in case.expected:
            assert skill in SKILLS and obj in ids and loc in ids and person in people, case
        if case.invalid:  # nothing happens, except that a body without a gripper reaches what it can't pick
            assert case.expected == [] or (case.robot == "reach-only" and {s[0] for s in case.expected} == {"reach"}), case


def test_every_stop_case_takes_the_fast_path():
    assert all(is_stop(c.text) for c in evalset.build() if c.category == "stop")
