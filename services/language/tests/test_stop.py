"""The stop fast path: which utterances stop the robot without any model."""

import pytest

from robosoul_language.stop import is_stop

STOPS = [
    "stop", "Stop!", "STOP RIGHT NOW", "please stop moving", "wait", "Wait, I changed my mind", "hold on a second",
    "hang on", "freeze", "halt", "don't move", "do not move", "whoa whoa", "stay still please", "that's enough",
    "emergency stop", "e-stop", "can you stop that", "no no no", "pause", "okay wait", "abort",
]
NOT_STOPS = [
    "pick up the red cube", "I'll wait for the bus", "the bus stop is near", "don't stop now", "what can you do",
    "I like to stay home", "they played non-stop", "wave at me", "", "   ", "no thanks", "the train stops here",
]


@pytest.mark.parametrize("text", STOPS)
def test_stop_phrases_stop(text):
    assert is_stop(text)


@pytest.mark.parametrize("text", NOT_STOPS)
def test_other_phrases_do_not(text):
    assert not is_stop(text)
