"""One robot's microphone, frame by frame: echo removal, voice activity, barge-in, end of turn, transcript, emotion.

`VoiceStream.feed` takes 16 kHz audio and returns what happened. Time is the
audio's own (sample index / rate): live, audio arrives in real time so it is the
wall clock; in the benchmark the same code runs faster than real time and the
recogniser's measured compute time is charged to the audio clock (`Transcriber`).

Speech recognition starts the moment the person pauses (not when the turn is
judged over), so while the end-of-turn logic waits for enough silence the text
is being made; a pause that turns out to be mid-sentence throws that work away.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from robosoul.v1 import dialogue_pb2
from robosoul_voice import completeness as completeness_model
from robosoul_voice.echo import EchoCanceller
from robosoul_voice.emotion import fuse
from robosoul_voice.models import FRAME, SAMPLE_RATE, Transcript
from robosoul_voice.prosody import Prosody, SpeakerBaseline, measure
from robosoul_voice.turn import TurnPolicy, prosody_finality, question_finality

START_PROB, STOP_PROB = 0.5, 0.35
START_FRAMES = 2  # 64 ms of speech starts a turn (or a barge-in)
PREROLL = 10  # frames kept before the start (320 ms)
MIN_SPEECH_S = 0.15


class Job:
    """A transcript being made, with how finished it reads, how sure the recogniser was of
    its last word and how finished the voice sounded: `result()` -> (text, completeness,
    last-word log probability, ending or None). Offline jobs know when (in audio time) these
    exist: `done_at`."""

    def __init__(self, ready: Callable[[float], bool], result: Callable[[], tuple[str, float, float, float | None]], done_at: float | None = None):
        self.ready, self.result, self.done_at = ready, result, done_at


class Transcriber:
    """Runs speech recognition, then the completeness judge on its text, as one job.

    `ready(now_s)` says whether both exist at audio time `now_s`; offline, the
    measured compute time of both is charged to the audio clock.
    """

    def __init__(self, asr: Callable[[np.ndarray], str | Transcript], *, live: bool, cache: dict | None = None):
        self._asr = asr
        self._live = live
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="asr") if live else None
        # Offline only: the same audio is recognised and judged once (text, completeness, compute time).
        self._cache = cache

    def _run(self, audio: np.ndarray, judge: Callable[[str], float] | None) -> tuple[str, float, float, float | None]:
        said = self._asr(audio)
        if not isinstance(said, Transcript):
            said = Transcript(said)
        if judge is None:
            return said.text, 0.5, said.last_word_logprob, said.ending
        # With several hypotheses, how finished the words are is expected over what was perhaps
        # said (hypotheses differing only in case or punctuation are judged once).
        weights: dict[str, float] = {}
        for text, p in said.alternatives or ((said.text, 1.0),):
            key = completeness_model.words(text)
            weights[key] = weights.get(key, 0.0) + p
        judged = sum(p * judge(text) for text, p in weights.items()) / max(sum(weights.values()), 1e-9)
        return said.text, float(judged), said.last_word_logprob, said.ending

    def start(self, audio: np.ndarray, now_s: float, judge: Callable[[str], float] | None = None) -> Job:
        if self._live:
            future = self._pool.submit(self._run, audio.copy(), judge)
            return Job(lambda _now: future.done(), future.result)
        key = (len(audio), hash(audio.tobytes()), id(judge)) if self._cache is not None else None
        if key is not None and key in self._cache:
            result, seconds = self._cache[key]
        else:
            started = time.perf_counter()
            result = self._run(audio, judge)
            seconds = time.perf_counter() - started
            if key is not None:
                self._cache[key] = (result, seconds)
        done_at = now_s + seconds
        return Job(lambda now: now >= done_at, lambda: result, done_at)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass
class SpeechStarted:
    at_s: float
    during_playback: bool


@dataclass
class TurnEnded:
    transcript: str
    emotion: dialogue_pb2.Emotion
    prosody: Prosody
    speech_end_s: float
    decided_s: float
    silence_ms: int
    model: float
    text: float
    finality: float
    score: float
    ending: float = 0.5
    asr_wait_ms: float = 0.0
    # Prosody against the speaker's baseline (z-scores), as the emotion model saw it.
    z: dict[str, float] = field(default_factory=dict)

    @property
    def gap_ms(self) -> float:
        """End of speech to the transcript in hand: what the person waits before the brain starts answering."""
        return (self.decided_s - self.speech_end_s) * 1000 + self.asr_wait_ms


@dataclass
class VoiceStream:
    vad: Callable[[np.ndarray], float]
    smart_turn: Callable[[np.ndarray], float]
    transcriber: Transcriber
    policy: TurnPolicy = field(default_factory=TurnPolicy)
    echo: EchoCanceller = field(default_factory=EchoCanceller)
    baseline: SpeakerBaseline = field(default_factory=SpeakerBaseline)
    max_turn_s: float = 30.0
    # How finished a transcript reads, 0..1: the small language model's judgement
    # (`completeness.py`); `turn.text_completeness` is the word-list baseline.
    completeness: Callable[[str], float] = field(default_factory=lambda: completeness_model.default())
    # Called at every checkpoint with (silence_ms, model, text, finality, score, asr_done_ms, transcript, ending): for tuning.
    # The finality is the pitch's, before a question's override (the replay applies it after its own veto).
    trace: Callable[..., None] | None = None

    def __post_init__(self):
        self.index = 0  # samples seen
        self._pending = np.zeros(0, np.float32)
        self._recent: list[np.ndarray] = []  # pre-roll frames (residual)
        self._speech: list[np.ndarray] = []  # the current turn's frames (residual)
        self._speaking = False
        self._run = 0  # consecutive speech frames while idle
        self._silence = 0  # frames of silence inside a turn
        self._speech_end = 0.0
        self._reset_pause()
        self.playing_until = 0.0

    @property
    def now_s(self) -> float:
        return self.index / SAMPLE_RATE

    def play(self, audio16k: np.ndarray) -> None:
        """The robot is being sent this audio to play: its echo will be removed.

        The speaker plays what it is sent back to back, so audio sent while earlier
        audio is still playing goes on the timeline after it, not at "now".
        """
        start = max(self.now_s, self.playing_until)
        self.echo.play(audio16k, int(start * SAMPLE_RATE))
        self.playing_until = start + len(audio16k) / SAMPLE_RATE

    def stop_playback(self) -> None:
        """The robot was told to stop speaking (barge-in): nothing more of it is expected."""
        self.playing_until = self.now_s
        self.echo.truncate(self.index)

    def feed(self, audio: np.ndarray) -> list[SpeechStarted | TurnEnded]:
        events: list[SpeechStarted | TurnEnded] = []
        self._pending = np.concatenate([self._pending, audio.astype(np.float32)])
        while len(self._pending) >= FRAME:
            frame, self._pending = self._pending[:FRAME], self._pending[FRAME:]
            event = self._frame(frame)
            if event is not None:
                events.append(event)
        return events

    def _frame(self, frame: np.ndarray) -> SpeechStarted | TurnEnded | None:
        residual, _ = self.echo.process(frame, self.index)
        self.index += FRAME
        p = self.vad(residual)
        if not self._speaking:
            self._recent = (self._recent + [residual])[-PREROLL:]
            self._run = self._run + 1 if p >= START_PROB else 0
            if self._run >= START_FRAMES:
                self._speaking, self._speech, self._silence = True, list(self._recent), 0
                self._reset_pause()
                return SpeechStarted(at_s=self.now_s - START_FRAMES * FRAME / SAMPLE_RATE, during_playback=self.now_s < self.playing_until)
            return None
        self._speech.append(residual)
        if p >= STOP_PROB:
            if self._silence:
                self._reset_pause()  # it was a pause: the work so far is stale
            self._silence = 0
            if len(self._speech) * FRAME / SAMPLE_RATE > self.max_turn_s:
                self._speech_end = self.now_s
                return self._end(force=True)
            return None
        self._silence += 1
        if self._silence == 1:
            self._speech_end = self.now_s - FRAME / SAMPLE_RATE
            self._job = self.transcriber.start(self._audio(trim_silence=True), self.now_s, self.completeness)
        silence_ms = int(self._silence * FRAME * 1000 / SAMPLE_RATE)
        # Judged at each of the policy's checkpoints, and the moment the transcript arrives.
        due = [c for c in self.policy.checkpoints() if silence_ms >= c and c not in self._checked]
        self._checked.update(due)
        arrived = self._text is None and self._job is not None and self._job.ready(self.now_s)
        if due or arrived:
            return self._consider(silence_ms)
        return None

    def _audio(self, *, trim_silence: bool) -> np.ndarray:
        frames = self._speech[: len(self._speech) - self._silence] if trim_silence and self._silence else self._speech
        return np.concatenate(frames) if frames else np.zeros(0, np.float32)

    def _consider(self, silence_ms: int) -> TurnEnded | None:
        speech = self._audio(trim_silence=True)
        if len(speech) / SAMPLE_RATE < MIN_SPEECH_S + PREROLL * FRAME / SAMPLE_RATE * 0.5:
            if silence_ms >= 400:  # a click or a cough: no turn
                self._speaking = False
            return None
        # Each signal is computed once per pause: the audio before it does not change.
        if self._model is None:
            # Smart Turn hears the silence so far too, as pipecat feeds it (it was trained that way).
            self._model = self.smart_turn(self._audio(trim_silence=False))
            pros = measure(speech, SAMPLE_RATE)
            self._finality = self._pitch_finality = prosody_finality(pros.end_slope, pros.final_lengthening)
        ready = self._job is not None and self._job.ready(self.now_s)
        if ready and self._text is None:
            said, judged, logprob, ending = self._job.result()
            self._text = self.policy.text_score(judged, logprob, ending)
            self._ending = 0.5 if ending is None else ending
            self._finality = question_finality(self._pitch_finality, self._text, said)
        text = self._text if self._text is not None else 0.5
        score = self.policy.score(self._model, text, self._finality, self._ending)
        if self.trace is not None:
            done = self._job.done_at if self._job is not None else None
            said = self._job.result()[0] if ready else ""
            self.trace(silence_ms, self._model, text, self._pitch_finality, score, None if done is None else (done - self._speech_end) * 1000, said,
                       self._ending)
        if silence_ms < self.policy.silence_needed_ms(score, text):
            return None
        return self._end(force=False, scores=(self._model, text, self._finality, score, self._ending))

    def _reset_pause(self) -> None:
        self._job: Job | None = None
        self._model: float | None = None
        self._finality = self._pitch_finality = 0.5  # the latter before a question's override (traced)
        self._ending = 0.5  # how finished the voice sounded (`ending.py`), once the transcript exists
        self._text: float | None = None
        self._checked: set[int] = set()

    def _end(self, *, force: bool, scores=(1.0, 0.5, 0.5, 1.0, 0.5)) -> TurnEnded:
        speech = self._audio(trim_silence=True)
        job = self._job if self._job is not None and not force else self.transcriber.start(speech, self.now_s)
        waited = 0.0
        if job.done_at is not None:  # offline: charge the compute time still to run after the decision
            waited = max(0.0, job.done_at - self.now_s) * 1000
            transcript = job.result()[0]
        elif not job.ready(self.now_s):
            started = time.perf_counter()
            transcript = job.result()[0]
            waited = (time.perf_counter() - started) * 1000
        else:
            transcript = job.result()[0]
        pros = measure(speech, SAMPLE_RATE, words=len(transcript.split()))
        z = self.baseline.z(pros)
        emotion = fuse(transcript, pros, self.baseline)
        self.baseline.update(pros)
        model, text, finality, score, ending = scores
        self._speaking, self._job, self._recent = False, None, []
        return TurnEnded(
            transcript=transcript, emotion=emotion, prosody=pros, speech_end_s=self._speech_end, decided_s=self.now_s,
            silence_ms=int(self._silence * FRAME * 1000 / SAMPLE_RATE), model=model, text=text, finality=finality, score=score,
            ending=ending, asr_wait_ms=waited, z=z,
        )

    def close(self) -> None:
        self.transcriber.close()
