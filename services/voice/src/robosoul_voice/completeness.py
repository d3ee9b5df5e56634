"""Does a transcript read as a finished utterance? Ask a small language model whether the words end here.

The bundled Gemma 3 270M (llama.cpp, in process) reads the transcript — lower
case, no punctuation, because Whisper punctuates fragments too — after a short
framing line, and we take the probability that the next token closes the
sentence ("." "?" "!" or end of text). A fragment such as "could you pick up"
makes that probability tiny (≤ 0.01 on every first part of the voice set), a
finished question or remark makes it ≥ 0.07, whatever its length or last word
("open your hand", "what are you looking at"): the model knows syntax that a
list of end words or a classifier trained on prefixes of our own sentences
did not. This is the idea of LiveKit's turn detector (a small LM predicting
the end of an utterance), zero-shot: nothing is trained on our evaluation set.

    >>> judge = Completeness()
    >>> judge("could you pick up") < 0.2 < 0.8 < judge("open your hand")
    True

The score maps log10 P(end) to 0..1 with a logistic around `center` (set on the
voice set's dev split: fragments sit below 10^-2, finished turns above 10^-1.2).
One call costs a forward pass over the transcript's tokens (the framing line's
cache is kept): ≈ 0.14 s for a short turn (measured with one thread on 2 cores).
"""

from __future__ import annotations

import math
import re
import threading
from functools import cache
from pathlib import Path

import llama_cpp
import numpy as np

_WORD = re.compile(r"[a-z']+")
PROMPT = "Transcript of a person talking to a robot:\n"
# Short complete utterances for the judge's check (tests; see also evalset.PLATFORM_PROMPTS).
SHORT_COMPLETE = (
    "who built you", "are you hungry", "what are you looking at", "can you sing", "where is my phone",
    "good afternoon", "how are things", "pass me the cup", "open your hand", "is it raining", "what was that",
    "you are funny", "I feel great", "that makes sense", "put that down", "are you tired", "do you dream",
    "what is your favourite colour", "I am so happy", "let me think", "move a bit closer", "is everything okay",
)


def words(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


class Completeness:
    """P(the utterance is finished), 0..1, from its transcript (thread-safe; one call at a time)."""

    def __init__(self, path: Path | None = None, *, threads: int = 2, center: float = -1.6, slope: float = 3.0):
        from robosoul_core.gemma import model_path

        self._llm = llama_cpp.Llama(model_path=str(model_path(path)), n_ctx=256, n_threads=threads, n_threads_batch=threads, verbose=False)
        self._prefix = self._llm.tokenize(PROMPT.encode(), add_bos=True)
        self._llm.eval(self._prefix)
        ends = {t for mark in (".", "?", "!") for t in self._llm.tokenize(mark.encode(), add_bos=False)}
        self._ends = sorted(ends | {self._llm.token_eos()})
        self._max_tokens = 256 - len(self._prefix) - 1
        self.center, self.slope = center, slope
        self._lock = threading.Lock()

    def p_end(self, text: str) -> float:
        """The model's probability that the utterance ends after these words."""
        said = words(text)
        if not said:
            return math.nan
        tokens = self._llm.tokenize(said.encode(), add_bos=False)[-self._max_tokens:]
        with self._lock:
            self._llm.n_tokens = len(self._prefix)  # keep the framing line's cache, drop the last transcript
            self._llm.eval(tokens)
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self._llm.ctx, -1), shape=(self._llm.n_vocab(),))
            top = float(logits.max())
            p = np.exp(logits.astype(np.float64) - top)
        return float(p[self._ends].sum() / p.sum())

    def __call__(self, text: str) -> float:
        p = self.p_end(text)
        if math.isnan(p):
            return 0.5
        z = (math.log10(max(p, 1e-9)) - self.center) * self.slope
        return 1.0 / (1.0 + math.exp(-z))


@cache
def default() -> Completeness:
    return Completeness()
