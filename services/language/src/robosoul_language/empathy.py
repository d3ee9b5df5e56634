"""Empathy: the reply style that fits the person's emotion, and their emotion over the conversation.

The mapping is fixed and documented (README, "Language"): sad -> sympathetic;
anxious/fearful -> calm; angry -> calm, with de-escalating words; happy ->
cheerful; surprised -> excited; neutral -> the persona's default style (a
stop is always serious). An emotion counts only when it beats neutral.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from robosoul.v1 import dialogue_pb2
from robosoul_core.affect import top_emotion

S = dialogue_pb2
STYLE_FOR = {
    "sad": S.REPLY_STYLE_SYMPATHETIC,
    "fearful": S.REPLY_STYLE_CALM,
    "angry": S.REPLY_STYLE_CALM,
    "happy": S.REPLY_STYLE_CHEERFUL,
    "surprised": S.REPLY_STYLE_EXCITED,
}
NEGATIVE = frozenset({"sad", "fearful", "angry"})


def choose_style(emotion: dialogue_pb2.Emotion, persona: dialogue_pb2.Persona, *, intent: str) -> int:
    if intent == "stop":
        return S.REPLY_STYLE_SERIOUS
    top = top_emotion(emotion)
    if top in STYLE_FOR:
        return STYLE_FOR[top]
    return persona.default_style or S.REPLY_STYLE_NEUTRAL


@dataclass
class EmotionHistory:
    """Per conversation: an exponential moving average of valence and the emotions on top."""

    alpha: float = 0.5
    valences: list[float] = field(default_factory=list)
    averages: list[float] = field(default_factory=list)
    tops: Counter = field(default_factory=Counter)

    def add(self, emotion: dialogue_pb2.Emotion) -> dialogue_pb2.EmotionTrend:
        previous = self.averages[-1] if self.averages else emotion.valence
        avg = emotion.valence if not self.averages else self.alpha * emotion.valence + (1 - self.alpha) * previous
        self.valences.append(emotion.valence)
        self.averages.append(avg)
        self.tops[top_emotion(emotion)] += 1
        del self.valences[:-50], self.averages[:-50]
        return self.trend()

    def trend(self) -> dialogue_pb2.EmotionTrend:
        if not self.averages:
            return dialogue_pb2.EmotionTrend()
        back = self.averages[-4] if len(self.averages) >= 4 else self.averages[0]
        non_neutral = {k: v for k, v in self.tops.items() if k != "neutral"}
        dominant = max(non_neutral or self.tops, key=lambda k: (non_neutral or self.tops)[k])
        return dialogue_pb2.EmotionTrend(
            turns=sum(self.tops.values()), valence=self.averages[-1], valence_change=self.averages[-1] - back, dominant=dominant
        )

    def was_negative(self) -> bool:
        """Whether the conversation before this turn leaned negative."""
        return len(self.averages) >= 2 and self.averages[-2] < -0.2
