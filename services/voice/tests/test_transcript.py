"""Whisper's text, cleaned: a runaway repeat of the utterance's start is dropped (no models needed)."""

import pytest

from robosoul_voice.models import without_repeated_start


@pytest.mark.parametrize("said, kept", [
    ("Where is my phone? Where is my", "Where is my phone?"),  # Whisper going on with the utterance's start
    ("Pass me the cup. Pass me the", "Pass me the cup."),
    ("Pass me the cup Pass me the Cup", "Pass me the cup"),  # the whole text twice
    ("Is everything okay? Is everything okay...", "Is everything okay?"),
    ("come here, come here", "come here"),
    ("Come on, let's go, come on", "Come on, let's go, come on"),  # said again inside speech: kept
    ("no no", "no no"),  # one repeated word is speech, not a runaway decoder
    ("I think I think so", "I think I think so"),  # not the end of the text
    ("the red the red cube", "the red the red cube"),
    ("", ""),
    ("hello", "hello"),
])
def test_a_transcript_loses_a_repeat_of_its_own_start(said, kept):
    assert without_repeated_start(said) == kept
