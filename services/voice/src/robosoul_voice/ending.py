"""Does the voice sound finished? A learned end-of-turn model on Whisper's own encoder.

Smart Turn (trained on human speech) cannot tell a synthetic voice's pause from
its ending (AUC 0.57-0.60 on the voice set's dev seeds), and the transcript alone is fooled when
Whisper turns the words before a pause into a sentence ("I need you to ..."
heard as "I need you too."). Whisper's encoder has heard how the words ended,
though: its states at the end of the speech and in the silence after it carry
the intonation and timing of the ending. This model is a logistic regression on
those states, pooled over three stretches (the last 0.5 s of speech, its last
160 ms, and the first 200 ms of silence after it), so it costs nothing beyond
the recognition the turn runs anyway (`models.Asr` encodes once and decodes from
the same states).

It is trained by `bench/voice_ending_fit.py` on turns the project synthesises
from sentences of its own (`evalset.TRAINING_SENTENCES`, `TRAINING_SHORT`; none
of them in the evaluation set), through the voice service's own stream, with
ends and pauses weighing the same within each half second of speech length, so
that length says nothing (a first version called short replies unfinished).
Half the turns are said as written sentences, so that a question's rising end
is an ending too (trained without them, it called a fifth of short questions
unfinished). The weights ship as JSON (`data/ending.json`) with how they were
made. The turn policy weighs it in (`turn.TurnPolicy.w_ending`) and lets it veto
a transcript that reads finished in a voice that did not sound so
(`unfinished_ending`).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

# Encoder frames are 20 ms (Whisper's 10 ms mel hop, halved by the encoder).
SAMPLES_PER_FRAME = 320
TAIL_FRAMES, LAST_FRAMES, AFTER_FRAMES = 25, 8, 10
D_MODEL = 384  # Whisper tiny.en
N_FEATURES = 3 * D_MODEL
PATH = Path(__file__).parent / "data" / "ending.json"


def features(encoded: np.ndarray, speech_samples: int) -> np.ndarray:
    """The pooled encoder states at the end of `speech_samples` of speech (followed by silence in the window)."""
    enc = np.asarray(encoded, dtype=np.float32)
    if enc.ndim != 2 or enc.shape[1] != D_MODEL:
        raise ValueError(f"encoder states must be [frames, {D_MODEL}], got {list(enc.shape)}")
    end = speech_samples // SAMPLES_PER_FRAME
    if not 1 <= end <= enc.shape[0] - AFTER_FRAMES:
        raise ValueError(f"speech of {speech_samples} samples ends outside the {enc.shape[0]} encoder frames (with {AFTER_FRAMES} of silence after)")
    return np.concatenate([
        enc[max(0, end - TAIL_FRAMES): end].mean(0), enc[max(0, end - LAST_FRAMES): end].mean(0), enc[end: end + AFTER_FRAMES].mean(0),
    ])


class EndingModel:
    """P(the person has finished) from `features(...)`: a standardised logistic regression."""

    def __init__(self, mean: np.ndarray, scale: np.ndarray, weights: np.ndarray, bias: float, meta: dict | None = None):
        arrays = {"mean": mean, "scale": scale, "weights": weights}
        for name, value in arrays.items():
            a = np.asarray(value, dtype=np.float64)
            if a.shape != (N_FEATURES,) or not np.all(np.isfinite(a)):
                raise ValueError(f"ending model: {name} must be {N_FEATURES} finite numbers, got shape {list(a.shape)}")
            arrays[name] = a
        if np.any(arrays["scale"] <= 0):
            raise ValueError("ending model: every scale must be positive")
        if not np.isfinite(bias):
            raise ValueError("ending model: bias must be finite")
        self.mean, self.scale, self.weights, self.bias = arrays["mean"], arrays["scale"], arrays["weights"], float(bias)
        self.meta = dict(meta or {})

    def __call__(self, x: np.ndarray) -> float:
        z = float(((np.asarray(x, dtype=np.float64) - self.mean) / self.scale) @ self.weights + self.bias)
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))))

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, *, groups: np.ndarray | None = None, l2: float = 1000.0, iterations: int = 30,
            meta: dict | None = None) -> EndingModel:
        """L2-regularised logistic regression by Newton's method (labels 1 = finished, 0 = a pause).

        Within each of `groups` (say, how long the speech was) that holds both labels, the two
        weigh the same, so that what the groups measure cannot tell them apart: a whole sentence is
        longer than its first part, and a model that learnt that would call every short reply
        unfinished."""
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        groups = np.zeros(len(y), np.int64) if groups is None else np.asarray(groups)
        if x.ndim != 2 or x.shape[1] != N_FEATURES or len(x) != len(y) or len(groups) != len(y) or set(np.unique(y)) != {0.0, 1.0}:
            raise ValueError(f"fit needs [n, {N_FEATURES}] features, labels with both 0 and 1 and a group per example")
        mean, scale = x.mean(0), x.std(0) + 1e-6
        z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
        share = np.ones(len(y))
        for g in np.unique(groups):
            inside = groups == g
            finished = int(y[inside].sum())
            if 0 < finished < inside.sum():
                share[inside] = np.where(y[inside] == 1, inside.sum() / (2 * finished), inside.sum() / (2 * (inside.sum() - finished)))
        share *= len(y) / share.sum()
        w = np.zeros(z.shape[1])
        ridge = l2 * np.r_[np.ones(N_FEATURES), 0.0]
        for _ in range(iterations):
            p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -50, 50)))
            step = np.linalg.solve((z * (share * p * (1 - p))[:, None]).T @ z + np.diag(ridge), z.T @ (share * (p - y)) + ridge * w)
            w -= step
            if np.max(np.abs(step)) < 1e-8:
                break
        return cls(mean, scale, w[:-1], float(w[-1]), meta)

    def to_json(self) -> str:
        return json.dumps({"meta": self.meta, "bias": self.bias, **{k: [round(float(v), 6) for v in getattr(self, k)] for k in ("mean", "scale", "weights")}})

    @classmethod
    def from_json(cls, text: str) -> EndingModel:
        try:
            data = json.loads(text)
            parts = [np.array(data[k], dtype=np.float64) for k in ("mean", "scale", "weights")]
            bias, meta = float(data["bias"]), data.get("meta")
        except (KeyError, TypeError, ValueError) as e:  # json.JSONDecodeError is a ValueError
            raise ValueError(f"ending model: not a model file ({type(e).__name__}: {e})") from e
        return cls(*parts, bias, meta)

    @classmethod
    def load(cls, path: Path = PATH) -> EndingModel:
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: train it with `python bench/voice_ending_fit.py`")
        return cls.from_json(path.read_text())


@cache
def default() -> EndingModel | None:
    """The shipped model, or None before it has been trained."""
    return EndingModel.load() if PATH.exists() else None
