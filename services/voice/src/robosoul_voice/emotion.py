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

# z-score prototypes over FEATURES = (pitch, pitch_range, intensity, rate).
PROTOTYPES = {
    "neutral": (0.0, 0.0, 0.0, 0.0),
    "happy": (0.8, 0.9, 0.5, 0.5),
    "sad": (-0.9, -0.7, -0.9, -0.9),
    "angry": (0.4, 0.3, 1.3, 0.7),
    "fearful": (1.1, -0.3, 0.0, 0.9),
    "surprised": (1.2, 1.3, 0.6, 0.0),
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
    weight = prosody_weight * min(1.0, prosody.voiced_s / 1.0) if prosody.reliable else 0.0
    voice = prosody_scores(baseline.z(prosody)) if weight else {e: 0.0 for e in EMOTIONS}
    scores = {e: (1 - weight) * getattr(words, e) + weight * voice[e] for e in EMOTIONS}
    total = sum(scores.values())
    scores = {e: s / total for e, s in scores.items()}
    arousal = float(np.clip(sum(scores[e] * _AROUSAL[e] for e in EMOTIONS) * 1.5, -1, 1))
    valence = float(np.clip(0.7 * words.valence + 0.3 * sum(voice[e] * _VALENCE[e] for e in EMOTIONS), -1, 1))
    return dialogue_pb2.Emotion(**scores, arousal=arousal, valence=valence)
