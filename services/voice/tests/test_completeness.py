"""The transcript-completeness classifier: reproducible from the project's own text, and useful."""

import json

import numpy as np

from robosoul_voice import completeness, evalset


def test_shipped_weights_are_what_training_produces(tmp_path):
    out = tmp_path / "weights.json"
    completeness.main(["--train", "--out", str(out)])
    fresh, shipped = json.loads(out.read_text()), json.loads(completeness.WEIGHTS.read_text())
    assert fresh["examples"] == shipped["examples"]
    assert np.allclose(fresh["w"], shipped["w"], atol=1e-3) and abs(fresh["b"] - shipped["b"]) < 1e-3


def test_whole_test_sentences_read_more_finished_than_their_first_parts():
    model = completeness.default()
    pairs = evalset.SENTENCES[1::2]  # the test split: never trained on
    whole = [model(f"{a} {b}.") for a, b in pairs]
    part = [model(f"{a}.") for a, _ in pairs]  # Whisper puts a full stop after fragments too
    wins = sum(w > p for w, p in zip(whole, part, strict=True))
    assert wins >= 0.9 * len(pairs), list(zip(whole, part, strict=True))


def test_training_never_sees_the_test_split():
    sentences = set(completeness.corpus())
    for a, b in evalset.SENTENCES[1::2]:
        assert " ".join(completeness._words(f"{a} {b}")) not in sentences
