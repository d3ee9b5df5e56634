"""Echo removal and end-of-turn decisions, on synthetic signals and the real bundled models."""

import numpy as np
import pytest

from robosoul_voice.echo import EchoCanceller
from robosoul_voice.turn import FixedSilence, TurnPolicy, prosody_finality, question_finality, text_completeness


def _voice_like(seconds: float, seed: int) -> np.ndarray:
    """A speech-like test signal: noise shaped by a syllable-rate envelope."""
    rng = np.random.default_rng(seed)
    n = int(seconds * 16000)
    t = np.arange(n) / 16000
    envelope = 0.5 * (1 + np.sin(2 * np.pi * 4 * t + rng.uniform(0, 6)))
    carrier = np.convolve(rng.standard_normal(n), np.ones(8) / 8, mode="same")
    return (0.2 * envelope * carrier).astype(np.float32)


@pytest.mark.parametrize("delay_ms, gain", [(40, 0.6), (150, 0.3), (400, 0.1), (900, 0.5)])
def test_echo_is_removed_at_any_delay_within_range(delay_ms, gain):
    ref = _voice_like(2.0, 1)
    d = delay_ms * 16
    mic = np.zeros(len(ref) + d + 8000, np.float32)
    mic[d: d + len(ref)] += gain * ref
    noise = 0.001 * np.random.default_rng(2).standard_normal(len(mic)).astype(np.float32)
    mic += noise
    ec = EchoCanceller()
    ec.play(ref, 0)
    before = after = floor = 0.0
    for i in range(0, len(mic) - 512, 512):
        res, _ = ec.process(mic[i: i + 512], i)
        if d + 8000 < i < d + len(ref) - 512:  # once the delay is found, while the echo lasts
            before += float(mic[i: i + 512] @ mic[i: i + 512])
            after += float(res @ res)
            floor += float(noise[i: i + 512] @ noise[i: i + 512])
    assert abs(ec.delay - d) <= 2
    # The echo was well above the room noise; what is left is the noise (within 3 dB), not the echo.
    assert before > 5 * floor and after < 2 * floor


def test_a_person_talking_over_the_echo_survives_removal():
    ref, person = _voice_like(2.0, 1), _voice_like(1.0, 7)
    d = 2400
    mic = np.zeros(len(ref) + d, np.float32)
    mic[d: d + len(ref)] += 0.4 * ref
    mic[16000: 16000 + len(person)] += person
    ec = EchoCanceller()
    ec.play(ref, 0)
    residual = np.concatenate([ec.process(mic[i: i + 512], i)[0] for i in range(0, len(mic) - 512, 512)])
    seg = slice(16000 + 2048, 16000 + len(person) - 2048)
    corr = np.corrcoef(residual[seg], person[2048: len(person) - 2048])[0, 1]
    assert corr > 0.9


def test_no_playback_means_the_microphone_passes_unchanged():
    ec = EchoCanceller()
    frame = _voice_like(0.032, 3)
    out, share = ec.process(frame, 0)
    assert np.array_equal(out, frame) and share == 0.0


@pytest.mark.parametrize("text, low, high", [
    ("could you pick up", 0.0, 0.1), ("I think we should.", 0.0, 0.1), ("and then the", 0.0, 0.1),
    ("where is my cup?", 0.9, 1.0), ("please go back to your home position.", 0.6, 0.8), ("", 0.5, 0.5),
    ("I was wondering...", 0.0, 0.1),
])
def test_transcript_completeness(text, low, high):
    assert low <= text_completeness(text) <= high


def test_falling_pitch_reads_as_an_ending():
    assert prosody_finality(-20.0, 1.5) > 0.8 > 0.3 > prosody_finality(+20.0, 0.8)


def test_policy_needs_less_silence_when_surer():
    policy = TurnPolicy()
    needed = [policy.silence_needed_ms(s) for s in (1.0, 0.7, 0.5, 0.3, 0.0)]
    assert needed == sorted(needed) and needed[0] == 200 and needed[-1] == policy.max_silence_ms
    assert FixedSilence(800).silence_needed_ms(1.0) == 800


def test_a_transcript_the_judge_is_sure_of_caps_the_wait_whatever_prosody_says():
    policy = TurnPolicy(w_text=0.6, w_prosody=0.4, w_ending=0.0, sure_text=0.95, sure_silence_ms=500)
    low = policy.score(model=0.0, text=0.97, prosody=0.0)  # finished words, a voice whose pitch does not fall
    assert policy.silence_needed_ms(low) > policy.sure_silence_ms
    assert policy.silence_needed_ms(low, text=0.97) == policy.sure_silence_ms
    assert policy.silence_needed_ms(low, text=0.5) == policy.silence_needed_ms(low)  # unsure words: no cap
    assert 500 in policy.checkpoints()
    # Without the cap (the committed policy) sure words alone do not end the turn early.
    uncapped = TurnPolicy(sure_text=None)
    score = uncapped.score(model=0.0, text=0.97, prosody=0.0, ending=0.1)  # the voice sounded unfinished
    assert uncapped.silence_needed_ms(score, text=0.97) == uncapped.silence_needed_ms(score) > 500


@pytest.mark.parametrize("judged, ending, expected", [
    (0.97, 0.9, 0.97),   # words and voice agree: the judge's say
    (0.97, 0.36, 0.97),  # just above the threshold
    (0.97, 0.34, 0.7),   # the voice sounded unfinished: capped ("I need you too.")
    (0.97, 0.0, 0.7),
    (0.3, 0.0, 0.3),     # an unfinished reading is never raised
    (0.97, None, 0.97),  # no ending model: no veto
])
def test_a_voice_that_sounded_unfinished_caps_completeness(judged, ending, expected):
    assert TurnPolicy().text_score(judged, 0.0, ending) == pytest.approx(expected)
    assert FixedSilence(800).text_score(judged, 0.0, ending) == judged


def test_sure_words_in_a_voice_that_sounded_unfinished_wait_longer():
    policy = TurnPolicy()

    def wait(judged, ending):
        text = policy.text_score(judged, 0.0, ending)
        return policy.silence_needed_ms(policy.score(model=0.5, text=text, prosody=0.5, ending=ending), text=text)

    assert wait(0.97, 0.9) <= policy.sure_silence_ms < 1000 <= wait(0.97, 0.1)


@pytest.mark.parametrize("judged, logprob, expected", [
    (0.97, -0.05, 0.97),  # sure of the words: the judge's say
    (0.97, -0.59, 0.97),  # just above the threshold
    (0.97, -0.61, 0.8),   # unsure of the last word: capped
    (0.97, -5.0, 0.8),
    (0.3, -5.0, 0.3),     # an unfinished reading is never raised
    (0.8, -1.0, 0.8),
])
def test_an_unsure_last_word_caps_completeness(judged, logprob, expected):
    assert TurnPolicy().text_score(judged, logprob) == pytest.approx(expected)
    assert FixedSilence(800).text_score(judged, logprob) == judged  # the baseline ignores it


@pytest.mark.parametrize("pitch, text, transcript, expected", [
    (0.1, 0.97, "Is it ready?", 0.97),   # a question's rise is its ending: the words' score counts
    (0.1, 0.7, "Is it ready?", 0.7),     # after the veto's cap, not before (the tuning replay once used the uncapped)
    (0.1, 0.97, "It is ready.", 0.1),    # a statement keeps its pitch
    (0.9, 0.5, "Is it ready?  ", 0.9),   # never lowered
    (0.3, 0.9, "", 0.3),                 # no transcript yet
])
def test_a_question_lets_its_words_stand_in_for_its_pitch(pitch, text, transcript, expected):
    assert question_finality(pitch, text, transcript) == expected
