"""Emotion-aware reply templates: what the robot says when no language model writes the reply.

The embedded model (Gemma 3 270M, a base model) cannot be trusted with free
text, so replies are composed here from what actually happened: the plan that
was accepted, the calls that were refused and why, the scene, the persona and
the person's emotion. A reply is a list of sentences (streamed one by one).
"""

from __future__ import annotations

from robosoul.v1 import dialogue_pb2, robot_pb2, session_pb2
from robosoul_core.affect import top_emotion
from robosoul_language.empathy import NEGATIVE, EmotionHistory
from robosoul_language.grounding import describe
from robosoul_language.skills import Capabilities

OPENERS = {
    "sad": "I'm sorry you're having a hard time.",
    "fearful": "It's okay, there's no rush.",
    "angry": "I hear you, and I'm sorry for the trouble.",
    "happy": "Happy to!",
    "surprised": "Oh!",
}
FEELING = {
    "sad": ["I'm sorry to hear that.", "Do you want to talk about it? I'm here."],
    "fearful": ["That sounds stressful.", "Take a slow breath; I'm right here with you."],
    "angry": ["That sounds really frustrating.", "Let's take it one step at a time; I'm here to help."],
    "happy": ["That's wonderful!", "I'm really happy for you."],
    "surprised": ["Wow, that's a surprise!", "Tell me more."],
    "neutral": ["I see.", "Tell me more."],
}


def _name(robot: robot_pb2.Robot) -> str:
    return robot.persona.name or robot.display_name or "your robot"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _lower_first(s: str) -> str:
    """Lower-case a reason to continue a sentence, but never the pronoun "I"."""
    return s if s.startswith(("I ", "I'")) else s[:1].lower() + s[1:]


def _capital(s: str) -> str:
    return s[:1].upper() + s[1:]


def scene_sentence(scene: dialogue_pb2.Scene | None) -> str:
    objects = list(scene.objects) if scene is not None else []
    people = len(scene.people) if scene is not None else 0
    if not objects and not people:
        return "I don't see anything I recognise right now."
    things = [f"a {describe(o)}" for o in objects[:8]]
    if len(objects) > 8:
        things.append(f"{len(objects) - 8} more objects")
    if people:
        things.append("you" if people == 1 else f"{people} people")
    return f"I can see {_join(things)}."


def capability_sentence(robot: robot_pb2.Robot) -> str:
    caps = Capabilities.of(robot)
    can = []
    if caps.motion:
        can.append("reach for things")
        if caps.gripper:
            can.append("pick them up and put them somewhere")
        if "wave" in caps.poses:
            can.append("wave")
        if "home" in caps.poses:
            can.append("go back to my home pose")
    if caps.camera:
        can.append("look at you")
    can.append("chat with you")
    return f"I can {_join(can)}."


def compose(
    *,
    intent: str,
    steps: list[session_pb2.SkillCall],
    refused: list[str],
    emotion: dialogue_pb2.Emotion,
    history: EmotionHistory,
    robot: robot_pb2.Robot,
    scene: dialogue_pb2.Scene | None,
) -> list[str]:
    """The reply's sentences, first one short (it is spoken while the rest is made)."""
    top = top_emotion(emotion)
    out: list[str] = []
    if top == "happy" and history.was_negative():
        out.append("I'm glad you're feeling better.")
    if intent == "stop":
        return ["Stopping now."]
    acted = [s for s in steps if s.skill != "stop"]
    if acted:
        if top in OPENERS:
            out.append(OPENERS[top])
        plan = [s.description for s in acted]
        if len(plan) == 1:
            out.append(f"Okay, I'll {plan[0]}.")
        else:
            out.append(f"Okay: first I'll {plan[0]}, then {_join(plan[1:])}.")
        if refused:
            out.append(f"But {_lower_first(refused[0])}.")
        return out
    if refused:
        if top in ("angry", "sad", "fearful"):
            out.append(OPENERS[top])
        out.append(f"Sorry, {_lower_first(refused[0])}.")
        if scene is not None and scene.objects and "see" in refused[0]:
            out.append(scene_sentence(scene))
        return out
    name = _name(robot)
    if intent == "feeling":
        out += FEELING.get(top, FEELING["neutral"])
    elif intent == "describe_scene":
        out.append(scene_sentence(scene))
    elif intent == "greeting":
        out += [f"Hello! I'm {name}.", "What can I do for you?"]
    elif intent == "identity":
        about = robot.persona.personality.strip().rstrip(".")
        out += [f"I'm {name}."] + ([f"People say I'm {about}."] if about else []) + [capability_sentence(robot)]
    elif intent == "how_are_you":
        out += ["I'm doing well, thank you for asking!", "How are you?"]
    elif intent == "capabilities":
        out.append(capability_sentence(robot))
    elif intent == "thanks":
        out.append("You're welcome!" if top not in NEGATIVE else "Of course. I'm here if you need me.")
    elif intent == "goodbye":
        out += ["Goodbye!", "Talk to you soon."]
    elif intent == "remark":
        out.append({"happy": "I'm glad you like it!", "sad": "I understand."}.get(top, "I see."))
    elif intent == "out_of_scope":
        out += ["I'm afraid I can't help with that.", capability_sentence(robot)]
    else:
        out.append("Sorry, I didn't catch what you'd like me to do.")
    if top in NEGATIVE and intent not in ("feeling",) and not out[0].startswith("I'm sorry"):
        out.insert(0, OPENERS[top])
    return [_capital(s) for s in out]
