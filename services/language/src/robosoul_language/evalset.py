"""The language evaluation set, built by the project (no download): scenes, robots and utterances with the expected outcome.

Every case names a scene, a robot, what the person says (and, for some, the
emotion a voice front end would have measured), the plan expected as
(skill, object_id, location_id, person_id) tuples, whether the request is
invalid (something must be refused), and the reply style the documented
empathy mapping calls for. The phrasings are written here, apart from the
intent examples in `intents.py`; bench/language.py checks that no evaluation
sentence is one of those examples.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from robosoul.v1 import dialogue_pb2, robot_pb2
from robosoul.v1.tensor_pb2 import Vec3
from robosoul_core.affect import EMOTIONS

S = dialogue_pb2
Step = tuple[str, str, str, str]


def _obj(oid: str, color: str, label: str, x: float, y: float, size: float) -> dialogue_pb2.SceneObject:
    return dialogue_pb2.SceneObject(object_id=oid, color=color, label=label, position=Vec3(x=x, y=y, z=size / 2), size_m=size, confidence=0.9)


SCENES = {
    "table": dialogue_pb2.Scene(camera="head", objects=[
        _obj("red-cube", "red", "cube", 0.30, 0.12, 0.04),
        _obj("blue-cube", "blue", "cube", 0.32, -0.10, 0.04),
        _obj("green-ball", "green", "ball", 0.25, 0.00, 0.05),
        _obj("yellow-cup", "yellow", "cup", 0.38, 0.05, 0.08),
        _obj("blue-bin", "blue", "bin", 0.20, -0.25, 0.14),
        _obj("white-plate", "white", "plate", 0.20, 0.25, 0.14),
    ], people=[dialogue_pb2.ScenePerson(person_id="p1", position=Vec3(x=1.2, y=0.1, z=0.6), facing_robot=True)]),
    "twins": dialogue_pb2.Scene(camera="head", objects=[
        _obj("red-left", "red", "cube", 0.30, 0.15, 0.04),
        _obj("red-right", "red", "cube", 0.30, -0.15, 0.04),
        _obj("green-bin", "green", "bin", 0.20, 0.00, 0.14),
        _obj("yellow-ball", "yellow", "ball", 0.40, 0.02, 0.05),
    ], people=[dialogue_pb2.ScenePerson(person_id="p1", facing_robot=True)]),
}


def _robot(robot_id: str, *, gripper: bool) -> robot_pb2.Robot:
    joints = [
        robot_pb2.Joint(name=f"j{i}", type=robot_pb2.JOINT_TYPE_REVOLUTE, position_limits=robot_pb2.Range(min=-3.0, max=3.0), max_velocity=2.0)
        for i in range(5)
    ]
    if gripper:
        joints.append(robot_pb2.Joint(name="grip", type=robot_pb2.JOINT_TYPE_GRIPPER, position_limits=robot_pb2.Range(min=0.0, max=0.04), max_velocity=0.1))
    n = len(joints)
    emb = robot_pb2.Embodiment(
        joints=joints, control_rate_hz=50, embodiment_tag="gen-s10-5dof-grip" if gripper else "rs-arm4",
        cameras=[robot_pb2.CameraSpec(name="head", width=640, height=480, fps=15)],
        named_poses={"home": robot_pb2.JointPositions(positions=[0.0] * n), "wave": robot_pb2.JointPositions(positions=[0.5] * n)},
    )
    return robot_pb2.Robot(robot_id=robot_id, display_name="Eval arm", embodiment=emb,
                           persona=dialogue_pb2.Persona(name="Robin", personality="patient and friendly"))


ROBOTS = {"gripper": _robot("eval-grip", gripper=True), "reach-only": _robot("eval-reach", gripper=False)}
STYLE_OF = {"sad": S.REPLY_STYLE_SYMPATHETIC, "fearful": S.REPLY_STYLE_CALM, "angry": S.REPLY_STYLE_CALM,
            "happy": S.REPLY_STYLE_CHEERFUL, "surprised": S.REPLY_STYLE_EXCITED, "neutral": S.REPLY_STYLE_NEUTRAL}


def voice_emotion(label: str, strength: float = 0.7) -> dialogue_pb2.Emotion:
    """Scores as a voice front end would send them: `label` on top."""
    rest = (1.0 - strength) / (len(EMOTIONS) - 1)
    scores = {e: (strength if e == label else rest) for e in EMOTIONS}
    valence = {"happy": 0.7, "sad": -0.6, "angry": -0.7, "fearful": -0.5, "surprised": 0.3}.get(label, 0.0)
    arousal = {"happy": 0.5, "sad": -0.4, "angry": 0.8, "fearful": 0.6, "surprised": 0.7}.get(label, 0.0)
    return dialogue_pb2.Emotion(**scores, arousal=arousal, valence=valence)


@dataclass
class Case:
    category: str
    text: str
    expected: list[Step]
    scene: str = "table"
    robot: str = "gripper"
    # The person's emotion (ground truth) and whether the voice front end sent it.
    emotion: str = "neutral"
    voice: bool = False
    # The request asks for something that must be refused (unseen object, ambiguity, no gripper;
    # a pick without a gripper is refused but its object is reached).
    invalid: bool = False
    style: int = field(default=0)

    def __post_init__(self):
        if not self.style:
            self.style = S.REPLY_STYLE_SERIOUS if self.expected[:1] == [("stop", "", "", "")] and self.category == "stop" else STYLE_OF[self.emotion]


def _pick(o: str) -> Step:
    return ("pick", o, "", "")


def _place(o: str, loc: str) -> Step:
    return ("place", o, loc, "")


def _reach(o: str) -> Step:
    return ("reach", o, "", "")


LOOK, WAVE, HOME, STOP = ("look_at", "", "", "p1"), ("wave", "", "", ""), ("go_home", "", "", ""), ("stop", "", "", "")

PICK_TEMPLATES = (
    "pick up the {r}", "can you grab the {r}", "please get me the {r}", "I need the {r}", "lift the {r} for me",
    "would you mind taking the {r}", "fetch me the {r} please", "hey, grab that {r}", "could you hand me the {r}",
    "take the {r}", "I'd love it if you picked up the {r}", "go ahead and pick the {r} up",
)
PICK_REFS = (("red cube", "red-cube"), ("crimson block", "red-cube"), ("blue block", "blue-cube"), ("green ball", "green-ball"),
             ("yellow cup", "yellow-cup"), ("yellow mug", "yellow-cup"), ("green sphere", "green-ball"), ("navy cube", "blue-cube"))
PLACE_TEMPLATES = (
    "put the {o} in the {l}", "place the {o} on the {l}", "drop the {o} into the {l}", "move the {o} to the {l}",
    "could you set the {o} on the {l}", "toss the {o} in the {l}", "I want the {o} on the {l}",
)
PLACE_REFS = (("red cube", "red-cube", "blue bin", "blue-bin"), ("green ball", "green-ball", "white plate", "white-plate"),
              ("blue cube", "blue-cube", "plate", "white-plate"), ("yellow cup", "yellow-cup", "bin", "blue-bin"))
REACH_TEMPLATES = ("touch the {r}", "point at the {r}", "can you point to the {r}", "reach for the {r}", "tap the {r} gently",
                   "show me where the {r} is by pointing")
REACH_REFS = (("blue cube", "blue-cube"), ("green ball", "green-ball"), ("yellow cup", "yellow-cup"), ("red block", "red-cube"))


def build() -> list[Case]:
    cases: list[Case] = []
    refs = itertools.cycle(PICK_REFS)
    for template in PICK_TEMPLATES:
        for _ in range(2):
            ref, oid = next(refs)
            cases.append(Case("command", template.format(r=ref), [_pick(oid)]))
    refs = itertools.cycle(PLACE_REFS)
    for template in PLACE_TEMPLATES:
        for _ in range(2):
            o, oid, loc, lid = next(refs)
            cases.append(Case("command", template.format(o=o, l=loc), [_pick(oid), _place(oid, lid)]))
    refs = itertools.cycle(REACH_REFS)
    for template in REACH_TEMPLATES:
        for _ in range(2):
            ref, oid = next(refs)
            cases.append(Case("command", template.format(r=ref), [_reach(oid)]))
    for text, step in [
        ("please look over at me", LOOK), ("hey, over here, look at me", LOOK), ("can you face me please", LOOK), ("turn your camera towards me", LOOK),
        ("wave hello to me", WAVE), ("say hi to my friend with a wave", WAVE), ("give me a little wave", WAVE), ("wave goodbye to everyone", WAVE),
        ("go back to your home position", HOME), ("return home please", HOME), ("reset to your starting pose", HOME), ("park your arm", HOME),
    ]:
        cases.append(Case("command", text, [step]))
    for text in ["stop it", "stop right now!", "wait, wait", "freeze right there!", "hold on there", "halt, robot", "don't you move", "whoa, stop that",
                 "please stop moving", "hang on a second", "stay still", "okay that's enough, stop", "emergency stop", "wait a moment"]:
        cases.append(Case("stop", text, [STOP]))
    for text, steps in [
        ("pick up the red cube and then wave", [_pick("red-cube"), WAVE]),
        ("grab the green ball, then go home", [_pick("green-ball"), HOME]),
        ("put the blue block in the bin and then go back home", [_pick("blue-cube"), _place("blue-cube", "blue-bin"), HOME]),
        ("pick up the yellow cup and put it on the plate", [_pick("yellow-cup"), _place("yellow-cup", "white-plate")]),
        ("wave at me and then pick up the red cube", [WAVE, _pick("red-cube")]),
        ("touch the green ball, then point at the blue cube", [_reach("green-ball"), _reach("blue-cube")]),
        ("look at me and then wave", [LOOK, WAVE]),
        ("grab the blue cube and drop it into the blue bin", [_pick("blue-cube"), _place("blue-cube", "blue-bin")]),
        ("first pick up the green ball, after that put it on the white plate", [_pick("green-ball"), _place("green-ball", "white-plate")]),
        ("take the red cube then return to your home pose", [_pick("red-cube"), HOME]),
        ("point at the yellow cup and then look at me", [_reach("yellow-cup"), LOOK]),
        ("pick up the red cube, put it in the bin, then wave", [_pick("red-cube"), _place("red-cube", "blue-bin"), WAVE]),
    ]:
        cases.append(Case("multi-step", text, steps))
    for text, steps, invalid in [
        ("pick up the red cube on the left", [_pick("red-left")], False),
        ("grab the red cube on the right", [_pick("red-right")], False),
        ("take the leftmost red block", [_pick("red-left")], False),
        ("put the right red cube in the green bin", [_pick("red-right"), _place("red-right", "green-bin")], False),
        ("touch the yellow ball", [_reach("yellow-ball")], False),
        ("pick up the red cube", [], True),
        ("grab the red block please", [], True),
        ("point at the red cube", [], True),
    ]:
        cases.append(Case("spatial", text, steps, scene="twins", invalid=invalid))
    for text in ["pick up the purple ball", "grab the orange cup", "put the red cube in the black bin", "touch the pink bottle",
                 "could you fetch the green cube", "hand me the blue ball", "put the yellow cup in the bowl", "point at the brown box",
                 "pick up the teddy bear", "bring me the red bottle", "lift the white cube", "grab the purple block"]:
        cases.append(Case("unseen", text, [], invalid=True))
    for text, steps, invalid in [
        # Without a gripper, a pick is refused but the object is reached (and the reply says why).
        ("pick up the red cube", [_reach("red-cube")], True), ("put the green ball in the bin", [], True),
        ("grab the yellow cup", [_reach("yellow-cup")], True),
        ("touch the red cube", [_reach("red-cube")], False), ("point at the blue bin", [_reach("blue-bin")], False),
        ("lift the blue cube", [_reach("blue-cube")], True),
    ]:
        cases.append(Case("capability", text, steps, robot="reach-only", invalid=invalid))
    for text in ["hello there robot", "good afternoon", "what is your name, robot", "who am I talking to", "how are you today",
                 "how's your day going", "what are you capable of", "what things can you do for me", "thanks so much",
                 "thank you, that was great", "goodbye for now", "see you tomorrow", "what do you see on the table",
                 "what objects can you see", "describe what is in front of you", "is there anything on the table",
                 "hey, nice to see you", "tell me about yourself"]:
        cases.append(Case("chit-chat", text, []))
    for text, emotion, voice in [
        ("I feel really down today", "sad", False), ("my grandmother passed away last week", "sad", True),
        ("I'm so lonely since I moved here", "sad", False), ("nothing is going right for me", "sad", True),
        ("I just got the job, I'm thrilled!", "happy", False), ("today was a wonderful day", "happy", False),
        ("my daughter said her first word", "happy", True), ("we won the match!", "happy", True),
        ("this is so annoying, nothing works", "angry", False), ("I'm furious with my landlord", "angry", False),
        ("you are useless today", "angry", True), ("I can't believe they cancelled my flight again", "angry", True),
        ("I'm nervous about my surgery tomorrow", "fearful", False), ("I'm scared of the storm outside", "fearful", False),
        ("I keep worrying about my exam", "fearful", True), ("what if I lose my job", "fearful", True),
        ("wow, I didn't expect that at all!", "surprised", False), ("whoa, you can talk?", "surprised", True),
        ("I'm doing fine, thanks for asking", "neutral", False), ("it's an ordinary day", "neutral", True),
    ]:
        cases.append(Case("emotional", text, [], emotion=emotion, voice=voice))
    for text, steps, emotion in [
        ("pick up the red cube already!", [_pick("red-cube")], "angry"),
        ("please, could you get me the yellow cup", [_pick("yellow-cup")], "sad"),
        ("put the green ball on the plate, quick!", [_pick("green-ball"), _place("green-ball", "white-plate")], "fearful"),
        ("yay, wave at me!", [WAVE], "happy"),
        ("grab the blue block for me", [_pick("blue-cube")], "happy"),
        ("go back home, I'm tired of this", [HOME], "angry"),
        ("touch the green ball", [_reach("green-ball")], "surprised"),
        ("look at me, please", [LOOK], "sad"),
    ]:
        cases.append(Case("emotional command", text, steps, emotion=emotion, voice=True))
    for text in ["my neighbour's car is red", "I saw a blue bird yesterday", "the weather is nice today",
                 "I'm just talking to my friend here", "what's the capital of Italy", "can you order me a taxi",
                 "cubes are my favourite shape", "the green one at the shop was cheaper", "play my favourite song",
                 "remind me to call mum", "my phone is almost dead", "how much does a ticket cost"]:
        cases.append(Case("distractor", text, []))
    return cases
