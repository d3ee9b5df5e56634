"""Prosody of an utterance (parselmouth / Praat), and the speaker's own running baseline.

Features: pitch level and range in semitones (re 100 Hz), pitch slope over the
last voiced 400 ms (falling at the end of a statement), intensity (dB),
speaking rate (words per voiced second, from the transcript), and final
lengthening (the last voiced stretch against the mean one).
Emotion compares them with the same speaker's earlier utterances, not with
a population: a deep voice is not a sad one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FEATURES = ("pitch", "pitch_range", "intensity", "rate")
# Prior mean and spread for a speaker we have not heard yet, and how many
# utterances that prior weighs (it fades as the speaker talks).
PRIOR = {"pitch": (9.0, 4.0), "pitch_range": (5.0, 2.5), "intensity": (-26.0, 6.0), "rate": (2.8, 0.9)}
PRIOR_WEIGHT = 1.0


@dataclass
class Prosody:
    pitch: float = 0.0  # semitones re 100 Hz, median of voiced frames
    pitch_range: float = 0.0  # semitones, 90th - 10th percentile
    end_slope: float = 0.0  # semitones per second over the last 400 ms voiced
    intensity: float = 0.0  # dB re full scale, mean over voiced frames
    rate: float = 0.0  # words per voiced second
    final_lengthening: float = 1.0
    voiced_s: float = 0.0

    @property
    def reliable(self) -> bool:
        return self.voiced_s >= 0.3


def measure(audio: np.ndarray, rate: int, *, words: int = 0) -> Prosody:
    """Prosody of one utterance (float audio in -1..1); ≈ 10 ms for 3 s on one core."""
    import parselmouth

    if len(audio) < rate // 10:
        return Prosody()
    sound = parselmouth.Sound(audio.astype(np.float64), sampling_frequency=rate)
    pitch = sound.to_pitch(time_step=0.01, pitch_floor=75.0, pitch_ceiling=500.0)
    f0 = pitch.selected_array["frequency"]
    times = pitch.xs()
    voiced = f0 > 0
    out = Prosody(voiced_s=float(voiced.sum()) * 0.01)
    if voiced.sum() < 5:
        return out
    semis = 12.0 * np.log2(f0[voiced] / 100.0)
    out.pitch = float(np.median(semis))
    out.pitch_range = float(np.percentile(semis, 90) - np.percentile(semis, 10))
    vt = times[voiced]
    tail = vt >= vt[-1] - 0.4
    if tail.sum() >= 4:
        out.end_slope = float(np.polyfit(vt[tail], semis[tail], 1)[0])
    frame = int(0.01 * rate)
    idx = np.clip((times * rate).astype(int), 0, len(audio) - 1)
    rms = np.array([np.sqrt(np.mean(audio[max(0, i - frame): i + frame] ** 2) + 1e-12) for i in idx])
    out.intensity = float(np.mean(20 * np.log10(rms[voiced] + 1e-9)))
    runs = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], voiced.astype(int), [0]]))))[::2] * 0.01
    if len(runs) >= 2:
        out.final_lengthening = float(runs[-1] / max(np.mean(runs[:-1]), 1e-3))
    if words:
        out.rate = words / max(out.voiced_s, 0.3)
    return out


@dataclass
class SpeakerBaseline:
    """Running mean and spread of each feature for one speaker, starting from a weak prior."""

    n: float = PRIOR_WEIGHT
    mean: dict[str, float] = field(default_factory=lambda: {k: v[0] for k, v in PRIOR.items()})
    m2: dict[str, float] = field(default_factory=lambda: {k: PRIOR_WEIGHT * v[1] ** 2 for k, v in PRIOR.items()})

    def z(self, p: Prosody) -> dict[str, float]:
        """How far this utterance is from the speaker's usual, in standard deviations (clipped to ±3)."""
        out = {}
        for k in FEATURES:
            value = getattr(p, k)
            if k == "rate" and value == 0.0:
                out[k] = 0.0
                continue
            std = max(np.sqrt(self.m2[k] / self.n), PRIOR[k][1] * 0.25)
            out[k] = float(np.clip((value - self.mean[k]) / std, -3.0, 3.0))
        return out

    def update(self, p: Prosody) -> None:
        if not p.reliable:
            return
        self.n += 1
        for k in FEATURES:
            value = getattr(p, k)
            if k == "rate" and value == 0.0:
                continue
            delta = value - self.mean[k]
            self.mean[k] += delta / self.n
            self.m2[k] += delta * (value - self.mean[k])
