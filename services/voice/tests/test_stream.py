"""A robot's microphone through the real models: turns, transcripts, emotion, echo and barge-in."""

import numpy as np
import pytest

from robosoul_voice.models import FRAME, SAMPLE_RATE, Transcript, Vad
from robosoul_voice.stream import SpeechStarted, Transcriber, TurnEnded, VoiceStream
from robosoul_voice.turn import FixedSilence


def make_stream(models, policy=None):
    smart, asr, _ = models
    kwargs = {"policy": policy} if policy is not None else {}
    return VoiceStream(vad=Vad(), smart_turn=smart, transcriber=Transcriber(asr, live=False), **kwargs)


def feed_all(stream, audio, *, play=None):
    events = []
    for i in range(0, len(audio) - FRAME + 1, FRAME):
        if play is not None and i >= play[1]:
            stream.play(play[0])
            play = None
        events += [(stream.now_s, e) for e in stream.feed(audio[i: i + FRAME])]
    return events


def silence(seconds):
    return np.zeros(int(seconds * SAMPLE_RATE), np.float32)


def test_one_turn_transcribed_with_emotion(models, say):
    audio = np.concatenate([silence(0.3), say("Please pick up the red cube."), silence(3.0)])
    events = feed_all(make_stream(models), audio)
    starts = [e for _, e in events if isinstance(e, SpeechStarted)]
    turns = [e for _, e in events if isinstance(e, TurnEnded)]
    assert len(starts) == 1 and not starts[0].during_playback and len(turns) == 1
    turn = turns[0]
    assert "pick up the red cube" in turn.transcript.lower()
    assert 0.15 <= turn.silence_ms / 1000 <= 2.7 and turn.gap_ms > 0
    assert abs(sum(getattr(turn.emotion, e) for e in ("neutral", "happy", "sad", "angry", "fearful", "surprised")) - 1) < 1e-6


def test_fixed_silence_baseline_cuts_a_long_pause(models, say):
    first, second = say("I would like"), say("the blue block on the plate.")
    audio = np.concatenate([silence(0.3), first, silence(1.2), second, silence(3.0)])
    cut = [e for _, e in feed_all(make_stream(models, FixedSilence(500)), audio) if isinstance(e, TurnEnded)]
    assert len(cut) == 2  # the 500 ms baseline answers in the middle of the sentence


def test_silence_and_noise_make_no_turn(models):
    rng = np.random.default_rng(0)
    audio = (0.003 * rng.standard_normal(5 * SAMPLE_RATE)).astype(np.float32)
    assert feed_all(make_stream(models), audio) == []


def test_own_voice_is_not_heard_but_a_person_over_it_is(models, say):
    reply = say("Okay, I will pick up the red cube now, it is right in front of me.")
    echo = np.concatenate([silence(0.5), silence(0.15), 0.4 * reply, silence(2.0)])  # sent at 0.5 s, heard 150 ms later
    quiet = feed_all(make_stream(models), echo, play=(reply, int(0.5 * SAMPLE_RATE)))
    assert quiet == []  # no barge-in, nothing transcribed

    person = say("Wait, stop!")
    at = 0.5 + 0.15 + 1.0
    mixed = echo.copy()
    k = int(at * SAMPLE_RATE)
    mixed[k: k + len(person)] += 0.6 * person
    events = feed_all(make_stream(models), mixed, play=(reply, int(0.5 * SAMPLE_RATE)))
    starts = [(t, e) for t, e in events if isinstance(e, SpeechStarted)]
    assert starts and starts[0][1].during_playback  # "Wait, ... stop!" may be heard as one turn or two
    assert 0 <= starts[0][0] - at <= 0.2  # detected within 200 ms of the person starting
    heard = " ".join(e.transcript for _, e in events if isinstance(e, TurnEnded)).lower()
    assert "stop" in heard and "cube" not in heard  # the person, never the robot's own words


@pytest.mark.parametrize("chunk", [160, 320, 1000, 4096])
def test_chunk_size_does_not_change_what_is_heard(models, say, chunk):
    audio = np.concatenate([silence(0.3), say("What do you see?"), silence(3.0)])
    stream = make_stream(models)
    events = []
    for i in range(0, len(audio), chunk):
        events += stream.feed(audio[i: i + chunk])
    turns = [e for e in events if isinstance(e, TurnEnded)]
    assert len(turns) == 1 and "see" in turns[0].transcript.lower()


def test_a_question_s_rising_end_does_not_read_as_a_pause(models, say):
    # Rising pitch marks a pause in a statement but ends a question: once the transcript is
    # a question, prosody no longer holds the turn open.
    smart, asr, _ = models
    audio = np.concatenate([silence(0.3), say("Can you sing?"), silence(3.0)])

    def turn(recognise):
        stream = VoiceStream(vad=Vad(), smart_turn=smart, transcriber=Transcriber(recognise, live=False))
        return next(e for _, e in feed_all(stream, audio) if isinstance(e, TurnEnded))

    question = turn(asr)
    statement = turn(lambda a: asr(a).replace("?", "."))  # the same words, not read as a question
    assert question.transcript.endswith("?") and statement.transcript.endswith(".")
    assert statement.finality < statement.text  # the voice's rise reads as unfinished...
    assert question.finality >= question.text and question.score > statement.score  # ...but not in a question
    assert question.silence_ms <= statement.silence_ms


def test_an_unsure_last_word_does_not_end_the_turn_early(models, say):
    # Whisper often makes an ending of the word before a pause ("remind me to ..." heard as
    # "Remind me too."), and is unsure of it: then the judge's "complete" counts for less
    # and the turn waits longer for more speech.
    smart, asr, _ = models
    audio = np.concatenate([silence(0.3), say("Please pick up the red cube."), silence(3.0)])

    def turn(logprob):
        recognise = lambda a: Transcript(asr(a), logprob)  # noqa: E731 - the real words, a chosen confidence
        stream = VoiceStream(vad=Vad(), smart_turn=smart, transcriber=Transcriber(recognise, live=False))
        return next(e for _, e in feed_all(stream, audio) if isinstance(e, TurnEnded))

    sure, unsure = turn(-0.05), turn(-2.0)
    assert sure.transcript == unsure.transcript and "pick up the red cube" in sure.transcript.lower()
    assert sure.text > 0.8 and unsure.text == pytest.approx(0.8)
    assert unsure.silence_ms > sure.silence_ms


def test_whisper_says_how_sure_it_is_of_the_last_word_and_what_else_it_might_have_heard(models, say):
    from robosoul_voice.models import ASR_HYPOTHESES, Asr

    _, asr, _ = models  # a beam, as the service runs it
    audio = say("Please open the door.")
    greedy = Asr(threads=1, hypotheses=1).transcribe(audio)
    assert "open the door" in greedy.text.lower() and greedy.alternatives == ()
    assert -0.6 < greedy.last_word_logprob < 0.0  # a clear last word, but never certain
    beam = asr.transcribe(audio)
    assert beam.text == asr(audio) and "open the door" in beam.text.lower()
    assert len(beam.alternatives) == ASR_HYPOTHESES and beam.alternatives[0][0] == beam.text
    probabilities = [p for _, p in beam.alternatives]
    assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) == pytest.approx(1.0)
    assert asr.transcribe(np.zeros(800, np.float32)) == Transcript("")  # under 0.1 s: nothing to hear


def test_completeness_is_expected_over_whisper_s_hypotheses():
    # "Can you end me?" may have been "can you hand me ...": what else was perhaps said counts.
    from robosoul_voice.completeness import default

    judge = default()
    whole, fragment = "Please pick up the red cube.", "please pick up the"

    def judged(heard: Transcript) -> float:
        return Transcriber(lambda _audio: heard, live=False).start(np.zeros(16000, np.float32), 0.0, judge).result()[1]

    sure = judged(Transcript(whole, alternatives=((whole, 0.9), (whole.lower(), 0.1))))  # the same words twice
    torn = judged(Transcript(whole, alternatives=((whole, 0.5), (fragment, 0.5))))
    assert sure == pytest.approx(judge(whole)) and judge(fragment) < 0.3
    assert torn == pytest.approx(0.5 * judge(whole) + 0.5 * judge(fragment))


def test_the_voice_s_ending_reaches_the_turn_and_its_score(models, say):
    # The learned ending model's verdict comes with the transcript and weighs in the policy's score.
    from robosoul_voice.turn import TurnPolicy

    policy = TurnPolicy(w_model=0.0, w_text=0.5, w_prosody=0.0, w_ending=0.5)
    smart, asr, _ = models
    stream = VoiceStream(vad=Vad(), smart_turn=smart, transcriber=Transcriber(asr.transcribe, live=False), policy=policy)
    audio = np.concatenate([silence(0.3), say("Please pick up the red cube."), silence(3.0)])
    turns = [e for _, e in feed_all(stream, audio) if isinstance(e, TurnEnded)]
    assert len(turns) == 1
    turn = turns[0]
    assert 0.0 <= turn.ending <= 1.0 and turn.ending != 0.5
    assert turn.score == pytest.approx(0.5 * turn.text + 0.5 * turn.ending)

