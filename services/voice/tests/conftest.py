"""Fixtures: the bundled speech models, loaded once (they run for real: nothing here is a double)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def models():
    from robosoul_voice.models import Asr, SmartTurn, Tts

    return SmartTurn(), Asr(threads=1), Tts(deterministic=True)


@pytest.fixture(scope="session")
def say(models):
    """Piper speech at 16 kHz (float), trimmed."""
    from robosoul_voice.evalset import trim
    from robosoul_voice.models import resample

    tts = models[2]

    def synth(text: str, style: str = "neutral"):
        audio, rate = tts.synthesize(text, style)
        return trim(resample(audio, rate))

    return synth
