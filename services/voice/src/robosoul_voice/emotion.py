"""Emotion of an utterance: prosody against the speaker's baseline, fused with the words.

No package bundles a speech-emotion model, so the voice side is a small,
documented model of its own: each emotion has a prototype in the space of
z-scores (pitch level, pitch range, loudness, speaking rate against this
speaker's usual); an utterance's prosody scores are a softmax over distances to
the prototypes. The words (VADER + NRC, `robosoul_core.affect`) carry valence
that prosody cannot: the two are averaged, prosody weighted by how much voiced
speech there was.
"""

from __future__ import annotations

import numpy as np

from robosoul.v1 import dialogue_pb2
from robosoul_core.affect import EMOTIONS, word_emotion
from robosoul_voice.prosody import FEATURES, Prosody, SpeakerBaseline

# z-score prototypes over FEATURES = (pitch, pitch_range, intensity, rate), fitted on
# the dev split of the voice set (`bench/voice_emotion_fit.py --seed 0`: the mean
# z-scores of each emotion's utterances against the same speaker heard neutral first).
# They describe synthetic voices; human speech will need prototypes fitted on it.
PROTOTYPES = {
    "neutral": (-0.39, 0.05, 0.69, 0.69),
    "happy": (0.13, -0.05, 0.71, 1.66),
    "sad": (-0.77, -0.22, -0.69, -0.06),
    "angry": (-0.27, -0.07, 1.55, 1.42),
    "fearful": (0.20, -0.63, 0.55, 2.78),
    "surprised": (0.31, 0.28, 0.68, 0.30),
}
TEMPERATURE = 0.8
_VALENCE = {"neutral": 0.0, "happy": 0.6, "sad": -0.6, "angry": -0.6, "fearful": -0.5, "surprised": 0.2}
_AROUSAL = {"neutral": 0.0, "happy": 0.5, "sad": -0.5, "angry": 0.8, "fearful": 0.6, "surprised": 0.7}


def prosody_scores(z: dict[str, float]) -> dict[str, float]:
    v = np.array([z[k] for k in FEATURES])
    d2 = np.array([np.sum((v - np.array(PROTOTYPES[e])) ** 2) for e in EMOTIONS])
    w = np.exp(-(d2 - d2.min()) / (2 * TEMPERATURE))
    w /= w.sum()
    return dict(zip(EMOTIONS, w.tolist(), strict=True))


def fuse(transcript: str, prosody: Prosody, baseline: SpeakerBaseline, *, prosody_weight: float = 0.5) -> dialogue_pb2.Emotion:
    """The utterance's Emotion; updates nothing (call baseline.update afterwards)."""
    words = word_emotion(transcript) if transcript.strip() else dialogue_pb2.Emotion(neutral=1.0)
    # Words that carry no emotion abstain: then the voice decides ("the meeting starts at
    # ten" said angrily is angry). Emotional words and the voice share the say.
    if words.neutral >= max(getattr(words, e) for e in EMOTIONS if e != "neutral"):
        prosody_weight = max(prosody_weight, 0.85)
    weight = prosody_weight * min(1.0, prosody.voiced_s / 1.0) if prosody.reliable else 0.0
    voice = prosody_scores(baseline.z(prosody)) if weight else {e: 0.0 for e in EMOTIONS}
    scores = {e: (1 - weight) * getattr(words, e) + weight * voice[e] for e in EMOTIONS}
    total = sum(scores.values())
    scores = {e: s / total for e, s in scores.items()}
    arousal = float(np.clip(sum(scores[e] * _AROUSAL[e] for e in EMOTIONS) * 1.5, -1, 1))
    valence = float(np.clip(0.7 * words.valence + 0.3 * sum(voice[e] * _VALENCE[e] for e in EMOTIONS), -1, 1))
    return dialogue_pb2.Emotion(**scores, arousal=arousal, valence=valence)
