"""The virtual robot's ears and mouth: a simulated room with a microphone and a speaker.

The microphone hears what people say (audio scheduled with `say`), the robot's
own speaker coming back delayed and attenuated (`echo_delay_s`, `echo_gain`),
and room noise; it streams 20 ms chunks through the SDK in real time, like a
robot's sound card. The speaker plays `SpeechAudio` as it arrives, in order,
and stops the moment a `CancelSpeech` comes (barge-in).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import numpy as np

from robosoul.v1 import session_pb2
from robosoul_core.errors import Unavailable
from robosoul_core.tensors import to_numpy

RATE = 16_000
CHUNK = 320  # 20 ms


def _to_rate(x: np.ndarray, rate: int) -> np.ndarray:
    if rate == RATE:
        return x
    t = np.arange(0, len(x), rate / RATE)
    return np.interp(t, np.arange(len(x)), x).astype(np.float32)


@dataclass
class VirtualRoom:
    echo_delay_s: float = 0.12
    echo_gain: float = 0.3
    noise: float = 0.002
    seed: int = 0
    # Filled as the room runs: what happened when (monotonic seconds).
    played: list[tuple[float, str, int]] = field(default_factory=list)  # (time, utterance_id, samples)
    cancelled: list[tuple[float, str]] = field(default_factory=list)
    heard: list[tuple[float, session_pb2.Heard]] = field(default_factory=list)
    first_speech: dict[str, float] = field(default_factory=dict)  # utterance_id -> first SpeechAudio arrival
    # When each `say` started and finished leaving the microphone (monotonic seconds), in order.
    began: list[float] = field(default_factory=list)
    spoken: list[float] = field(default_factory=list)

    def __post_init__(self):
        self._rng = np.random.default_rng(self.seed)
        self._person = np.zeros(0, np.float32)  # queued person audio (mic timeline from now)
        self._speaker = np.zeros(0, np.float32)  # what the speaker will play, from now on
        self._echo_line = np.zeros(int(self.echo_delay_s * RATE), np.float32)
        self._playing = ""
        self.mic_sent = 0  # samples streamed so far
        self._ends: list[int] = []  # mic sample index where each said utterance ends
        self._starts: list[int] = []
        self._task: asyncio.Task | None = None

    # ------------------------------------------------------------------ people

    def say(self, audio16k: np.ndarray, *, gain: float = 1.0) -> float:
        """Queue a person's speech into the microphone; returns the delay (s) until it starts."""
        start = len(self._person) / RATE
        self._starts.append(self.mic_sent + len(self._person))
        self._person = np.concatenate([self._person, (gain * audio16k).astype(np.float32)])
        self._ends.append(self.mic_sent + len(self._person))
        return start

    def silence(self, seconds: float) -> None:
        self._person = np.concatenate([self._person, np.zeros(int(seconds * RATE), np.float32)])

    # ------------------------------------------------------------------ robot's speaker

    def on_speech(self, speech: session_pb2.SpeechAudio) -> None:
        samples = to_numpy(speech.samples).astype(np.float32) / 32768.0
        self.first_speech.setdefault(speech.utterance_id, time.monotonic())
        self._speaker = np.concatenate([self._speaker, _to_rate(samples, speech.sample_rate_hz)])
        self._playing = speech.utterance_id
        self.played.append((time.monotonic(), speech.utterance_id, len(samples)))

    def on_cancel(self, cancel: session_pb2.CancelSpeech) -> None:
        self.cancelled.append((time.monotonic(), cancel.utterance_id))
        if cancel.utterance_id == self._playing:
            self._speaker = np.zeros(0, np.float32)

    def on_heard(self, heard: session_pb2.Heard) -> None:
        self.heard.append((time.monotonic(), heard))

    @property
    def speaking(self) -> bool:
        return len(self._speaker) > 0

    # ------------------------------------------------------------------ microphone

    def next_chunk(self) -> np.ndarray:
        person, self._person = self._person[:CHUNK], self._person[CHUNK:]
        person = np.pad(person, (0, CHUNK - len(person)))
        out, self._speaker = self._speaker[:CHUNK], self._speaker[CHUNK:]
        out = np.pad(out, (0, CHUNK - len(out)))
        line = np.concatenate([self._echo_line, out])
        echo, self._echo_line = line[:CHUNK], line[CHUNK:]
        mic = person + self.echo_gain * echo + self.noise * self._rng.standard_normal(CHUNK).astype(np.float32)
        return np.clip(mic * 32768.0, -32768, 32767).astype(np.int16)

    async def stream(self, session) -> None:
        """Send the microphone through the SDK in real time until cancelled."""
        start = time.monotonic()
        while True:
            try:
                await session.send_audio(self.next_chunk(), sample_rate_hz=RATE)
            except Unavailable:
                pass  # reconnecting: this 20 ms is lost, as a sound card's would be
            self.mic_sent += CHUNK
            now = time.monotonic()
            while self._starts and self._starts[0] <= self.mic_sent:
                self.began.append(now - (self.mic_sent - self._starts.pop(0)) / RATE)
            while self._ends and self._ends[0] <= self.mic_sent:
                self.spoken.append(now - (self.mic_sent - self._ends.pop(0)) / RATE)
            delay = start + self.mic_sent / RATE - time.monotonic()
            await asyncio.sleep(max(0.0, delay))

    def attach(self, session) -> None:
        session.on_speech = self.on_speech
        session.on_speech_cancel = self.on_cancel
        session.on_heard = self.on_heard

    def start(self, session) -> None:
        self.attach(session)
        self._task = asyncio.create_task(self.stream(session))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
