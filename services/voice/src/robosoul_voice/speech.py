"""Replies to speech: sentence by sentence, the first piece as early as possible.

A sentence is synthesised in pieces: a short lead-in ("Okay," "Hello!") goes
first, so the robot starts talking while the rest of the sentence is made.
Audio leaves at the robot speaker's sample rate (or the voice's own when the
embodiment does not say), in `SpeechAudio` chunks of at most `CHUNK_S`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from robosoul.v1 import dialogue_pb2

CHUNK_S = 0.5
STYLE_NAMES = {
    dialogue_pb2.REPLY_STYLE_UNSPECIFIED: "neutral", dialogue_pb2.REPLY_STYLE_NEUTRAL: "neutral",
    dialogue_pb2.REPLY_STYLE_CALM: "calm", dialogue_pb2.REPLY_STYLE_CHEERFUL: "cheerful",
    dialogue_pb2.REPLY_STYLE_SYMPATHETIC: "sympathetic", dialogue_pb2.REPLY_STYLE_EXCITED: "excited",
    dialogue_pb2.REPLY_STYLE_SERIOUS: "serious",
}
_LEAD = re.compile(r"^([^,!?.]{1,24}[,!?])\s+(.+)$")


def pieces(sentence: str) -> list[str]:
    """A short lead-in first when the sentence has one ("Okay, I'll pick up the cube." -> ["Okay,", "I'll pick up the cube."])."""
    m = _LEAD.match(sentence.strip())
    if m and len(m.group(1).split()) <= 3:
        return [m.group(1), m.group(2)]
    return [sentence.strip()] if sentence.strip() else []


@dataclass
class Chunk:
    samples: np.ndarray  # int16
    rate: int


def chunks(audio: np.ndarray, rate: int, *, chunk_s: float = CHUNK_S) -> list[Chunk]:
    n = max(1, int(chunk_s * rate))
    return [Chunk(audio[i: i + n], rate) for i in range(0, len(audio), n)] or [Chunk(np.zeros(0, np.int16), rate)]


def to_rate(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    """int16 audio at `target` Hz."""
    if not target or target == rate:
        return audio.astype(np.int16)
    import soxr

    out = soxr.resample(audio.astype(np.float32) / 32768.0, rate, target)
    return np.clip(out * 32768.0, -32768, 32767).astype(np.int16)
