"""Emotion from words, over the documented set shared by voice and language.

The set is ``EMOTIONS`` (neutral, happy, sad, angry, fearful, surprised) plus
arousal and valence in -1..1, as in ``robosoul.v1.Emotion``. Words are scored
with two bundled lexicons: VADER (valence, with negation and intensifiers) and
the NRC emotion lexicon (which emotions a word evokes). NRC alone is noisy
("lonely" evokes anger, disgust, fear and sadness), so VADER's sign gates it:
a sentence VADER finds positive cannot be mostly sad, and the reverse.

Needs the extra ``robosoul-core[affect]`` (vaderSentiment, nrclex).
"""

from __future__ import annotations

import re
from functools import cache

from robosoul.v1 import dialogue_pb2
from robosoul_core.errors import InvalidArgument

EMOTIONS = ("neutral", "happy", "sad", "angry", "fearful", "surprised")
_WORD = re.compile(r"[a-z']+")
# NRC categories that are evidence for each of our emotions.
_NRC = {"happy": ("joy",), "sad": ("sadness",), "angry": ("anger", "disgust"), "fearful": ("fear",), "surprised": ("surprise",)}
# Words the lexicons miss or get wrong for spoken requests to a robot.
_CUES = {
    "happy": {"glad", "great", "awesome", "wonderful", "yay", "thrilled", "delighted", "excited", "love", "fantastic", "happy"},
    "sad": {"sad", "down", "lonely", "miss", "cry", "crying", "depressed", "unhappy", "heartbroken", "upset", "grief", "lost"},
    "angry": {"angry", "furious", "annoyed", "annoying", "stupid", "useless", "hate", "mad", "ridiculous", "irritated", "sick"},
    "fearful": {"scared", "afraid", "nervous", "anxious", "worried", "worry", "frightened", "panic", "terrified", "uneasy"},
    "surprised": {"wow", "whoa", "surprised", "unbelievable", "incredible", "unexpected", "amazing", "shocked"},
}
_NEGATIVE = ("sad", "angry", "fearful")
# Words that name things a robot handles, not feelings: "blue" is sadness to NRC and
# "block" negative to VADER, but "the blue block" is neither.
_NEUTRAL_HERE = frozenset({
    "red", "green", "blue", "yellow", "orange", "purple", "pink", "white", "black", "gray", "grey", "brown", "crimson",
    "navy", "block", "blocks", "cube", "ball", "bin", "drop", "pick", "lift", "grab", "take", "put", "place", "leftmost",
    "rightmost", "left", "right", "stop", "hold", "wait", "freeze", "point", "tap", "touch", "reach", "home",
})
_AROUSAL = {"neutral": 0.0, "happy": 0.5, "sad": -0.4, "angry": 0.8, "fearful": 0.6, "surprised": 0.7}


@cache
def _analyzers():
    from nrclex import NRCLex
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer(), NRCLex(None)


def word_emotion(text: str) -> dialogue_pb2.Emotion:
    """Emotion scores of one utterance from its words alone (≈ 0.3 ms)."""
    vader, nrc = _analyzers()
    words = [w for w in _WORD.findall(text.lower()) if w not in _NEUTRAL_HERE]
    valence = float(vader.polarity_scores(" ".join(words) + "!" * min(text.count("!"), 3))["compound"]) if words else 0.0
    nrc.load_token_list(words)
    raw = nrc.raw_emotion_scores
    evidence = {e: 0.5 * sum(raw.get(c, 0) for c in cats) for e, cats in _NRC.items()}
    for emotion, cues in _CUES.items():
        evidence[emotion] += 1.5 * sum(w in cues for w in words)
    # VADER's sign gates the lexicon: negation ("not happy") and context flip words.
    if valence <= -0.05:
        evidence["happy"] = 0.0
        # Clearly negative with no named emotion ("not happy at all") reads as sad.
        evidence["sad"] += 4.0 * max(0.0, -valence - 0.2) * (sum(evidence[e] for e in _NEGATIVE) == 0)
        for e in _NEGATIVE:
            evidence[e] *= 1.0 + abs(valence)
    elif valence >= 0.05:
        for e in _NEGATIVE:
            evidence[e] *= 0.3
        evidence["happy"] += 2.5 * max(0.0, valence - 0.4)
    if "!" in text:
        evidence["surprised"] += 0.3 * ("?" in text)
    evidence["neutral"] = 1.2
    total = sum(evidence.values())
    scores = {e: evidence[e] / total for e in EMOTIONS}
    arousal = sum(scores[e] * _AROUSAL[e] for e in EMOTIONS) + 0.1 * min(text.count("!"), 3)
    return dialogue_pb2.Emotion(**scores, arousal=max(-1.0, min(1.0, arousal)), valence=valence)


def top_emotion(emotion: dialogue_pb2.Emotion) -> str:
    """The highest-scoring emotion of the set (ties go to the earlier one)."""
    return max(EMOTIONS, key=lambda e: (getattr(emotion, e), -EMOTIONS.index(e)))


def is_set(emotion: dialogue_pb2.Emotion | None) -> bool:
    """Whether an Emotion carries scores (an unset proto field has all zeros)."""
    return emotion is not None and any(getattr(emotion, e) > 0 for e in EMOTIONS)


def validate_emotion(emotion: dialogue_pb2.Emotion, what: str = "emotion") -> None:
    """Raise InvalidArgument unless the scores are probabilities and arousal/valence are in -1..1."""
    values = {e: getattr(emotion, e) for e in EMOTIONS}
    bad = [f"{e}={v!r}" for e, v in values.items() if not 0.0 <= v <= 1.0]
    if bad:
        raise InvalidArgument(f"{what}: scores must be within 0..1 ({', '.join(bad)})")
    if abs(sum(values.values()) - 1.0) > 0.01:
        raise InvalidArgument(f"{what}: the six scores must sum to 1 (they sum to {sum(values.values()):.3f})")
    for name in ("arousal", "valence"):
        v = getattr(emotion, name)
        if not -1.0 <= v <= 1.0:
            raise InvalidArgument(f"{what}: {name} must be within -1..1, not {v!r}")
