"""The voice service: robots' microphones in; what they heard, their replies as speech, and barge-in out.

Audio arrives on ``rs.<tenant>.<robot>.obs.audio`` (the gateway forwards what the
SDK streams). Each robot session gets a `VoiceStream`; its events become:
- `Heard` (transcript + emotion, as EVI's user message) on the robot's ``cmd``
  subject, and a `TurnRequest` to the language service;
- a `CancelSpeech` when the person talks over the robot: playback stops and the
  rest of that reply is never synthesised.
Replies (``Reply`` on ``cmd``, from the language service) are spoken sentence by
sentence as `SpeechAudio`; what is sent is also handed to the stream's echo
canceller, so the robot never hears itself as a person.
While a robot's scene (``rs.<tenant>.<robot>.scene``) shows objects, recognition is
biased towards talk about them (`models.DOMAIN_PROMPT`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np
from opentelemetry import trace

from robosoul.bus.v1 import control_pb2, language_pb2
from robosoul.v1 import dialogue_pb2, robot_pb2, session_pb2
from robosoul_core.clock import now_timestamp
from robosoul_core.errors import InvalidArgument, RoboSoulError
from robosoul_core.subjects import check_id, check_tenant
from robosoul_core.telemetry import extract
from robosoul_core.tensors import from_numpy, to_numpy
from robosoul_voice import completeness as completeness_model
from robosoul_voice import speech
from robosoul_voice.models import DOMAIN_PROMPT, SAMPLE_RATE, Transcript, Vad, resample
from robosoul_voice.stream import SpeechStarted, Transcriber, TurnEnded, VoiceStream
from robosoul_voice.turn import TurnPolicy

log = logging.getLogger(__name__)
tracer = trace.get_tracer("robosoul.voice")

Publish = Callable[[str, str, control_pb2.RobotCommand], Awaitable[None]]
AskLanguage = Callable[[language_pb2.TurnRequest], Awaitable[language_pb2.TurnResult]]
GetRobot = Callable[[str, str], Awaitable[robot_pb2.Robot]]
# A changed speaker (or none) is noticed within this long.
ROBOT_CACHE_S = 5.0
# Objects seen this recently bias recognition towards talk about them.
SCENE_FRESH_S = 10.0


@dataclass
class Models:
    smart_turn: Callable[[np.ndarray], float]
    asr: Callable[..., str | Transcript]  # (audio, prompt=...) -> text: robosoul_voice.models.Asr.transcribe (or Asr)
    tts: object  # robosoul_voice.models.Tts
    # How finished a transcript reads (robosoul_voice.completeness); loaded at start, not at the first turn.
    completeness: Callable[[str], float] = field(default_factory=lambda: completeness_model.default())


@dataclass
class Listener:
    tenant: str
    robot_id: str
    session_id: str
    stream: VoiceStream
    lock: threading.Lock = field(default_factory=threading.Lock)
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(maxsize=500))
    speech: asyncio.Lock = field(default_factory=asyncio.Lock)
    speaking: str = ""  # utterance id of the reply being played
    cancelled: set[str] = field(default_factory=set)
    last_audio: float = 0.0
    task: asyncio.Task | None = None
    # The turn being heard: trace context of the audio chunk its speech began in, and when (ns).
    turn_context: dict[str, str] = field(default_factory=dict)
    turn_started_ns: int = 0


class VoiceService:
    def __init__(
        self,
        models: Models,
        *,
        get_robot: GetRobot,
        publish: Publish,
        ask_language: AskLanguage,
        policy: TurnPolicy | None = None,
        idle_s: float = 120.0,
        asr_prompt: str = DOMAIN_PROMPT,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._models = models
        self._get_robot = get_robot
        self._publish = publish
        self._ask = ask_language
        self._policy = policy or TurnPolicy()
        self._idle = idle_s
        self._clock = clock
        self._listeners: dict[tuple[str, str], Listener] = {}
        self._pool = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="voice")
        self._tasks: set[asyncio.Task] = set()
        self._seqs: dict[tuple[str, str, str], int] = {}  # next SpeechAudio.seq per reply being spoken
        self._robots: dict[tuple[str, str], tuple[float, robot_pb2.Robot]] = {}
        self._asr_prompt = asr_prompt.strip()
        self._saw_objects: dict[tuple[str, str], float] = {}  # when each robot's scene last showed objects

    # ------------------------------------------------------------------ microphone

    async def on_audio(self, envelope, trace_context: dict[str, str] | None = None) -> None:
        """One audio chunk a robot sent (already validated by the gateway; checked again here).

        `trace_context` is the chunk's: a turn's trace continues from the chunk its speech began in.
        """
        check_tenant(envelope.tenant)
        check_id(envelope.robot_id, "robot_id")
        chunk = envelope.observation.audio
        samples = to_numpy(chunk.samples)
        if samples.dtype != np.int16:
            raise InvalidArgument("audio samples must be int16 PCM")
        if samples.ndim == 2:
            samples = samples.mean(axis=1).astype(np.int16)
        if not chunk.sample_rate_hz:
            raise InvalidArgument("audio sample_rate_hz is missing")
        audio = resample(samples, chunk.sample_rate_hz, SAMPLE_RATE)
        listener = self._listener(envelope.tenant, envelope.robot_id, envelope.session_id)
        listener.last_audio = self._clock()
        item = (audio, dict(trace_context or {}))
        try:
            listener.queue.put_nowait(item)
        except asyncio.QueueFull:
            log.warning("voice for %s/%s is %d chunks behind; dropping the oldest", listener.tenant, listener.robot_id, listener.queue.qsize())
            listener.queue.get_nowait()
            listener.queue.put_nowait(item)

    def _listener(self, tenant: str, robot_id: str, session_id: str) -> Listener:
        key = (tenant, robot_id)
        listener = self._listeners.get(key)
        if listener is not None and listener.session_id == session_id:
            return listener
        if listener is not None:  # a new session: start fresh (new speaker baseline, no echo state)
            self._drop(key)
        stream = VoiceStream(
            vad=Vad(), smart_turn=self._models.smart_turn, transcriber=Transcriber(functools.partial(self._recognise, key), live=True),
            policy=self._policy, completeness=self._models.completeness,
        )
        self._evict_idle()
        listener = Listener(tenant, robot_id, session_id, stream, last_audio=self._clock())
        listener.task = asyncio.create_task(self._listen(listener))
        self._listeners[key] = listener
        return listener

    def on_scene(self, tenant: str, robot_id: str, scene: dialogue_pb2.Scene) -> None:
        """What the robot sees: while it shows objects, people are likely talking about them."""
        check_tenant(tenant)
        check_id(robot_id, "robot_id")
        if scene.objects:
            self._saw_objects[(tenant, robot_id)] = self._clock()

    def _recognise(self, key: tuple[str, str], audio: np.ndarray) -> str | Transcript:
        seen = self._saw_objects.get(key)
        fresh = seen is not None and self._clock() - seen < SCENE_FRESH_S
        return self._models.asr(audio, prompt=self._asr_prompt if fresh else "")

    def _evict_idle(self) -> None:
        now = self._clock()
        self._robots = {k: v for k, v in self._robots.items() if now - v[0] < ROBOT_CACHE_S}
        self._saw_objects = {k: t for k, t in self._saw_objects.items() if now - t < SCENE_FRESH_S}
        for key, listener in list(self._listeners.items()):
            if now - listener.last_audio > self._idle:
                self._drop(key)

    def _drop(self, key) -> None:
        listener = self._listeners.pop(key, None)
        if listener is not None and listener.task is not None:
            listener.task.cancel()
            listener.stream.close()

    async def _listen(self, listener: Listener) -> None:
        loop = asyncio.get_running_loop()

        def feed(audio):
            with listener.lock:
                return listener.stream.feed(audio)

        while True:
            audio, context = await listener.queue.get()
            try:
                events = await loop.run_in_executor(self._pool, feed, audio)
            except Exception:  # noqa: BLE001 - one bad chunk must not silence the robot
                log.exception("voice processing failed for %s/%s", listener.tenant, listener.robot_id)
                continue
            for event in events:
                if isinstance(event, SpeechStarted):  # once a turn (a pause inside it is not a new start)
                    listener.turn_context, listener.turn_started_ns = context, time.time_ns()
                    if event.during_playback and listener.speaking:
                        await self._barge_in(listener)
                elif isinstance(event, TurnEnded):
                    turn_context, started_ns = listener.turn_context, listener.turn_started_ns
                    listener.turn_context, listener.turn_started_ns = {}, 0
                    if event.transcript.strip():
                        self._spawn(self._heard(listener, event, turn_context, started_ns))

    async def _barge_in(self, listener: Listener) -> None:
        uid = listener.speaking
        listener.cancelled.add(uid)
        listener.speaking = ""
        with listener.lock:
            listener.stream.stop_playback()
        await self._publish(listener.tenant, listener.robot_id, control_pb2.RobotCommand(cancel_speech=session_pb2.CancelSpeech(
            utterance_id=uid, reason="the person started speaking", timestamp=now_timestamp(),
        )))

    async def _heard(self, listener: Listener, turn: TurnEnded, turn_context: dict[str, str], started_ns: int) -> None:
        """Tell the robot what was heard and ask the language service to answer, in the turn's trace
        (a span from the first word to the answer, with the end-of-turn wait as a child)."""
        now_ns = time.time_ns()
        wait_ns = int(max(0.0, turn.decided_s - turn.speech_end_s) * 1e9)
        with tracer.start_as_current_span("voice.turn", context=extract(turn_context), start_time=started_ns or now_ns) as span:
            span.set_attribute("robosoul.robot_id", listener.robot_id)
            span.set_attribute("voice.transcript", turn.transcript[:200])
            span.set_attribute("voice.silence_ms", turn.silence_ms)
            span.set_attribute("voice.turn_score", round(turn.score, 3))
            tracer.start_span("voice.end_of_turn", start_time=now_ns - wait_ns, attributes={
                "voice.asr_wait_ms": round(turn.asr_wait_ms, 1), "voice.model": round(turn.model, 3),
                "voice.text": round(turn.text, 3), "voice.prosody": round(turn.finality, 3),
                "voice.ending": round(turn.ending, 3),
            }).end(end_time=now_ns)
            await self._answer(listener, turn)

    async def _answer(self, listener: Listener, turn: TurnEnded) -> None:
        uid = f"v-{uuid.uuid4().hex[:12]}"
        log.info("%s/%s heard %r after %d ms of silence (score %.2f: model %.2f, text %.2f, prosody %.2f, ending %.2f; recognition waited %.0f ms)",
                 listener.tenant, listener.robot_id, turn.transcript, turn.silence_ms, turn.score, turn.model, turn.text,
                 turn.finality, turn.ending, turn.asr_wait_ms)
        heard = session_pb2.Heard(
            utterance_id=uid, transcript=turn.transcript, emotion=turn.emotion, final=True,
            end_of_turn_s=max(0.0, turn.decided_s - turn.speech_end_s), asr_wait_s=turn.asr_wait_ms / 1000,
            turn_score=turn.score,
        )
        await self._publish(listener.tenant, listener.robot_id, control_pb2.RobotCommand(heard=heard))
        request = language_pb2.TurnRequest(
            tenant=listener.tenant, robot_id=listener.robot_id, session_id=listener.session_id, source="voice",
            utterance=dialogue_pb2.UserText(utterance_id=uid, text=turn.transcript[:2000], emotion=turn.emotion),
        )
        try:
            await self._ask(request)
        except RoboSoulError as err:
            log.warning("language did not answer %s/%s: %s", listener.tenant, listener.robot_id, err.message)

    # ------------------------------------------------------------------ speaker

    async def on_reply(self, tenant: str, robot_id: str, reply: session_pb2.Reply, trace_context: dict[str, str] | None = None) -> None:
        """Speak one reply sentence on the robot (if it has a speaker), in order, unless it was interrupted.

        The speech continues the reply's trace (`trace_context`, from the language service).
        """
        if not reply.text.strip():
            return
        with tracer.start_as_current_span("voice.speak", context=extract(trace_context)) as span:
            span.set_attribute("voice.sentence", reply.seq)
            await self._speak_in_order(tenant, robot_id, reply)

    async def _speak_in_order(self, tenant: str, robot_id: str, reply: session_pb2.Reply) -> None:
        robot = await self._robot(tenant, robot_id)
        if not robot.embodiment.HasField("speaker"):
            return
        listener = self._listeners.get((tenant, robot_id))
        lock = listener.speech if listener is not None else asyncio.Lock()
        async with lock:
            if listener is not None and reply.utterance_id in listener.cancelled:
                return
            await self._speak(tenant, robot_id, robot, listener, reply)

    async def _robot(self, tenant: str, robot_id: str) -> robot_pb2.Robot:
        """The robot record, read once per few seconds (a reply arrives sentence by sentence)."""
        cached = self._robots.get((tenant, robot_id))
        if cached is not None and self._clock() - cached[0] < ROBOT_CACHE_S:
            return cached[1]
        robot = await self._get_robot(tenant, robot_id)
        self._robots[(tenant, robot_id)] = (self._clock(), robot)
        return robot

    async def _speak(self, tenant, robot_id, robot, listener: Listener | None, reply: session_pb2.Reply) -> None:
        loop = asyncio.get_running_loop()
        style = speech.STYLE_NAMES.get(reply.style, "neutral")
        target = robot.embodiment.speaker.sample_rate_hz
        parts = speech.pieces(reply.text)
        for i, piece in enumerate(parts):
            if listener is not None and reply.utterance_id in listener.cancelled:
                return
            audio, rate = await loop.run_in_executor(self._pool, self._models.tts.synthesize, piece, style)
            if listener is not None:
                listener.speaking = reply.utterance_id
                reference = resample(audio, rate, SAMPLE_RATE)
                with listener.lock:
                    listener.stream.play(reference)
            out = speech.to_rate(audio, rate, target)
            out_rate = target or rate
            pieces_final = reply.final and i == len(parts) - 1
            chunked = speech.chunks(out, out_rate)
            for k, chunk in enumerate(chunked):
                key = (tenant, robot_id, reply.utterance_id)
                seq = self._seqs.get(key, 0)
                self._seqs[key] = seq + 1
                msg = session_pb2.SpeechAudio(
                    utterance_id=reply.utterance_id, seq=seq, sample_rate_hz=out_rate,
                    samples=from_numpy(chunk.samples), text=piece if k == 0 else "", final=pieces_final and k == len(chunked) - 1,
                    style=reply.style,
                )
                await self._publish(tenant, robot_id, control_pb2.RobotCommand(speech=msg))
        if reply.final:
            self._seqs.pop((tenant, robot_id, reply.utterance_id), None)

    # ------------------------------------------------------------------ lifecycle

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for key in list(self._listeners):
            self._drop(key)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._pool.shutdown(wait=False, cancel_futures=True)
