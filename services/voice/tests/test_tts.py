"""Expressive speech: short lead-ins are made once and shared read-only; longer sentences are made each time."""

import numpy as np
import pytest


def test_short_pieces_are_kept_and_shared_read_only(models):
    tts = models[2]
    first, rate = tts.synthesize("Okay,", "cheerful")
    again, rate2 = tts.synthesize("Okay,", "cheerful")
    assert again is first and rate2 == rate and len(first) > 0.1 * rate
    with pytest.raises(ValueError):
        first[0] = 1  # a reply cannot change what the next one plays
    other_style, _ = tts.synthesize("Okay,", "sympathetic")  # espeak-ng: another voice, another entry
    assert other_style is not first


def test_sentences_are_synthesised_each_time(models):
    tts = models[2]
    a, _ = tts.synthesize("I will pick up the red cube now.")
    b, _ = tts.synthesize("I will pick up the red cube now.")
    assert a is not b and np.array_equal(a, b)  # deterministic voice: same audio, made twice
    a[0] = a[0]  # writable: the caller owns it
