"""The learned ending model: how the voice ended, from Whisper's encoder states (real models, the shipped weights)."""

import json

import numpy as np
import pytest

from robosoul_voice import ending, evalset
from robosoul_voice.completeness import SHORT_COMPLETE
from robosoul_voice.ending import N_FEATURES, EndingModel


def _model(**change):
    parts = {"mean": np.zeros(N_FEATURES), "scale": np.ones(N_FEATURES), "weights": np.zeros(N_FEATURES), "bias": 0.0, **change}
    return EndingModel(parts["mean"], parts["scale"], parts["weights"], parts["bias"])


def test_the_shipped_model_loads_and_says_how_it_was_made():
    model = ending.default()
    assert model is not None, "train it: python bench/voice_ending_fit.py"
    assert model.meta["trained_by"] == "bench/voice_ending_fit.py"
    assert min(model.meta["seeds"]) >= 1000  # never the voice set's seeds


def test_training_sentences_are_not_in_the_evaluation_set():
    said = {w for pair in evalset.SENTENCES for w in (" ".join(pair), pair[0])}
    said |= {s for group in evalset.EMOTIONAL.values() for s in group}
    said |= {p.lower().strip(".?!").replace(",", "") for p in evalset.PLATFORM_PROMPTS}
    said |= set(SHORT_COMPLETE)  # the short turns the policy is tuned on (bench/voice_tune.py --short)
    assert not said & set(evalset.TRAINING_SENTENCES + evalset.TRAINING_SHORT)


@pytest.mark.parametrize("text, expected", [
    ("who are you", "Who are you?"), ("stop", "Stop."), ("  is it ready ", "Is it ready?"), ("I am cold", "I am cold."),
    ("Can you dance", "Can you dance?"), ("whoever you are", "Whoever you are."),
])
def test_written_makes_a_sentence_with_its_final_mark(text, expected):
    assert evalset.written(text) == expected


@pytest.mark.parametrize("bad", ["", "   "])
def test_written_needs_words(bad):
    with pytest.raises(ValueError, match="needs words"):
        evalset.written(bad)


@pytest.mark.parametrize("voice", [
    {"engine": "espeak", "voice": "en-us+f2", "base_pitch": 50, "speed": 165},
    {"engine": "espeak", "voice": "en+m7", "base_pitch": 40, "speed": 150},
])
@pytest.mark.parametrize("first, rest", evalset.SENTENCES[:4])
def test_a_sentence_sounds_more_finished_at_its_end_than_at_a_pause_inside_it(models, voice, first, rest):
    # Evaluation sentences, never trained on: the first part said with the sentence still to come.
    _, asr, _ = models
    synth = evalset.Synth()
    audio, (p0, _p1) = synth.say_with_pause(first, rest, voice, 0.8)
    at_pause = asr.transcribe(audio[: int(p0 * 16000)]).ending
    at_end = asr.transcribe(audio).ending
    assert 0.0 <= at_pause < at_end <= 1.0, (first, at_pause, at_end)


def test_recognition_gives_the_same_text_with_the_model_as_without(models, say):
    from robosoul_voice.models import Asr

    _, asr, _ = models
    audio = say("Please put the green ball in the blue bin.")
    plain = Asr(threads=1, ending=None).transcribe(audio)
    scored = asr.transcribe(audio)
    assert scored.text == plain.text and scored.alternatives == plain.alternatives
    assert plain.ending is None and scored.ending is not None


def test_a_fit_learns_a_separable_rule_and_survives_its_json():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, N_FEATURES))
    y = (x[:, 3] + 0.5 * x[:, 10] > 0).astype(float)
    model = EndingModel.fit(x, y, l2=1.0, meta={"note": "test"})
    scores = np.array([model(v) for v in x])
    assert np.mean((scores > 0.5) == (y == 1)) > 0.95
    again = EndingModel.from_json(model.to_json())
    assert again.meta == {"note": "test"}
    assert np.allclose([again(v) for v in x[:20]], scores[:20], atol=1e-4)


@pytest.mark.parametrize("change, message", [
    ({"mean": np.zeros(N_FEATURES - 1)}, "mean must be"),
    ({"scale": np.zeros(N_FEATURES)}, "scale must be positive"),
    ({"scale": -np.ones(N_FEATURES)}, "scale must be positive"),
    ({"weights": np.full(N_FEATURES, np.nan)}, "weights must be"),
    ({"weights": np.zeros((2, N_FEATURES))}, "weights must be"),
    ({"bias": float("inf")}, "bias must be finite"),
])
def test_a_malformed_model_is_refused(change, message):
    with pytest.raises(ValueError, match=message):
        _model(**change)


@pytest.mark.parametrize("text", [
    "", "not json", "[]", json.dumps({"mean": [0] * N_FEATURES}), json.dumps({"mean": "x", "scale": 1, "weights": 1, "bias": 0}),
    json.dumps({"mean": [0] * N_FEATURES, "scale": [1] * N_FEATURES, "weights": [0] * N_FEATURES, "bias": "high"}),
])
def test_a_model_file_that_is_not_one_is_refused(text):
    with pytest.raises(ValueError, match="ending model"):
        EndingModel.from_json(text)


def test_a_missing_model_file_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="voice_ending_fit"):
        EndingModel.load(tmp_path / "ending.json")


@pytest.mark.parametrize("shape, speech, message", [
    ((100, 10), 3200, "encoder states"),
    ((100,), 3200, "encoder states"),
    ((100, ending.D_MODEL), 0, "ends outside"),
    ((100, ending.D_MODEL), 95 * 320, "ends outside"),
])
def test_features_refuse_states_that_do_not_fit(shape, speech, message):
    with pytest.raises(ValueError, match=message):
        ending.features(np.zeros(shape, np.float32), speech)


@pytest.mark.parametrize("x, y", [
    (np.zeros((10, N_FEATURES)), np.ones(10)),  # one class only
    (np.zeros((10, 5)), np.r_[np.zeros(5), np.ones(5)]),  # wrong width
    (np.zeros((10, N_FEATURES)), np.r_[np.zeros(5), np.ones(4)]),  # lengths differ
])
def test_fit_refuses_data_it_cannot_learn_from(x, y):
    with pytest.raises(ValueError, match="fit needs"):
        EndingModel.fit(x, y)
