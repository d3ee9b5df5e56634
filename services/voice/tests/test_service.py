"""The voice service in process: microphone chunks in; Heard, a language turn, speech and barge-in out."""

import asyncio

import numpy as np
import pytest
from opentelemetry import trace

from robosoul.bus.v1 import control_pb2, language_pb2
from robosoul.v1 import dialogue_pb2, robot_pb2, session_pb2
from robosoul_core.errors import InvalidArgument
from robosoul_core.tensors import from_numpy, to_numpy
from robosoul_voice.models import SAMPLE_RATE
from robosoul_voice.service import Models, VoiceService


def robot(speaker_rate=22050, speaker=True):
    emb = robot_pb2.Embodiment(microphone=robot_pb2.AudioDeviceSpec(name="mic", sample_rate_hz=16000, channels=1))
    if speaker:
        emb.speaker.CopyFrom(robot_pb2.AudioDeviceSpec(name="spk", sample_rate_hz=speaker_rate, channels=1))
    return robot_pb2.Robot(robot_id="r1", embodiment=emb)


class Harness:
    def __init__(self, models, robot_record):
        smart, asr, tts = models
        self.commands: list[control_pb2.RobotCommand] = []
        self.asked: list[language_pb2.TurnRequest] = []
        self.asked_in: list[trace.SpanContext] = []  # the trace each language request was made in

        async def publish(tenant, robot_id, cmd):
            self.commands.append(cmd)

        async def ask(request):
            self.asked.append(request)
            self.asked_in.append(trace.get_current_span().get_span_context())
            return language_pb2.TurnResult(intent="greeting")

        async def get_robot(tenant, robot_id):
            return robot_record

        self.service = VoiceService(Models(smart, asr, tts), get_robot=get_robot, publish=publish, ask_language=ask)

    def kinds(self):
        return [c.WhichOneof("body") for c in self.commands]

    async def stream(self, audio: np.ndarray, *, rate=SAMPLE_RATE, chunk_s=0.02, session="s1", traced=False):
        """Stream `audio` in chunks; with `traced`, chunk k arrives in trace k + 1 (span k + 1)."""
        pcm = np.clip(audio * 32768, -32768, 32767).astype(np.int16)
        n = int(chunk_s * rate)
        for i in range(0, len(pcm), n):
            env = control_pb2.ObservationEnvelope(tenant="acme", robot_id="r1", session_id=session, observation=session_pb2.Observation(
                audio=session_pb2.AudioChunk(device="mic", sample_rate_hz=rate, samples=from_numpy(pcm[i: i + n]))))
            k = i // n + 1
            await self.service.on_audio(env, {"traceparent": f"00-{k:032x}-{k:016x}-01"} if traced else None)
        await asyncio.sleep(0.05)

    async def settle(self, until, timeout=120.0):  # a hang guard, not a speed limit
        for _ in range(int(timeout / 0.05)):
            if until():
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out; commands so far: {self.kinds()}")


async def test_a_spoken_turn_is_heard_and_sent_to_language(models, say, span_exporter):
    h = Harness(models, robot())
    await h.stream(np.concatenate([np.zeros(4800, np.float32), say("Hello there, who are you?"), np.zeros(3 * SAMPLE_RATE, np.float32)]),
                   traced=True)
    await h.settle(lambda: h.asked)
    heard = next(c.heard for c in h.commands if c.HasField("heard"))
    assert "who are you" in heard.transcript.lower() and heard.final and heard.end_of_turn_s > 0
    request = h.asked[0]
    assert request.source == "voice" and request.utterance.text == heard.transcript
    assert request.utterance.utterance_id == heard.utterance_id and request.utterance.emotion == heard.emotion
    # The turn is a span in the trace of the chunk its speech began in (speech starts after 0.3 s of
    # silence = chunk 16; the detector needs a few frames), and the language request is made inside it.
    began = h.asked_in[0].trace_id
    assert 16 <= began <= 30, began
    turn = next(s for s in span_exporter.get_finished_spans() if s.name == "voice.turn" and s.context.trace_id == began)
    assert turn.parent.span_id == began  # chunk k's span id is k
    wait = next(s for s in span_exporter.get_finished_spans() if s.name == "voice.end_of_turn" and s.context.trace_id == began)
    assert wait.parent.span_id == turn.context.span_id and wait.end_time > wait.start_time
    await h.service.close()


async def test_replies_become_speech_at_the_speakers_rate_in_order(models):
    h = Harness(models, robot(speaker_rate=16000))
    for seq, text, final in [(0, "Hello! I'm Robin.", False), (1, "What can I do for you?", True)]:
        await h.service.on_reply("acme", "r1", session_pb2.Reply(utterance_id="u1", seq=seq, text=text, final=final, style=dialogue_pb2.REPLY_STYLE_CHEERFUL))
    speech = [c.speech for c in h.commands if c.HasField("speech")]
    assert [s.seq for s in speech] == list(range(len(speech))) and speech[-1].final and not any(s.final for s in speech[:-1])
    assert all(s.sample_rate_hz == 16000 and s.style == dialogue_pb2.REPLY_STYLE_CHEERFUL for s in speech)
    assert speech[0].text == "Hello!"  # the short lead-in goes first
    total = sum(len(to_numpy(s.samples)) for s in speech) / 16000
    assert 1.5 < total < 8


async def test_robot_without_a_speaker_gets_no_speech(models):
    h = Harness(models, robot(speaker=False))
    await h.service.on_reply("acme", "r1", session_pb2.Reply(utterance_id="u1", text="Hello!", final=True))
    assert h.commands == []


async def test_talking_over_the_robot_cancels_its_reply(models, say):
    h = Harness(models, robot(speaker_rate=16000))
    await h.stream(np.zeros(3200, np.float32))  # the session exists
    long_reply = "I can reach for things, pick them up and put them somewhere, wave, and chat with you."
    await h.service.on_reply("acme", "r1", session_pb2.Reply(utterance_id="u9", seq=0, text=long_reply, final=False))
    played = np.concatenate([to_numpy(c.speech.samples) for c in h.commands if c.HasField("speech")]).astype(np.float32) / 32768
    person = say("Wait, wait!")
    mic = np.concatenate([np.zeros(1600, np.float32), 0.3 * played[:8000]])  # echo first: no barge-in
    mixed = np.concatenate([mic, 0.3 * played[8000:8000 + len(person)] + person, np.zeros(SAMPLE_RATE, np.float32)])
    await h.stream(mixed)
    await h.settle(lambda: "cancel_speech" in h.kinds())
    cancel = next(c.cancel_speech for c in h.commands if c.HasField("cancel_speech"))
    assert cancel.utterance_id == "u9"
    before = len(h.commands)
    await h.service.on_reply("acme", "r1", session_pb2.Reply(utterance_id="u9", seq=1, text="And more words.", final=True))
    assert len(h.commands) == before  # the rest of an interrupted reply is never spoken
    await h.service.close()


@pytest.mark.parametrize("change, message", [
    (lambda e: setattr(e, "tenant", "Bad Tenant"), "tenant"),
    (lambda e: setattr(e, "robot_id", "r*"), "robot_id"),
    (lambda e: e.observation.audio.samples.CopyFrom(from_numpy(np.zeros(10, np.float32))), "int16"),
    (lambda e: setattr(e.observation.audio, "sample_rate_hz", 0), "sample_rate_hz"),
])
async def test_bad_audio_is_refused_precisely(models, change, message):
    h = Harness(models, robot())
    env = control_pb2.ObservationEnvelope(tenant="acme", robot_id="r1", session_id="s", observation=session_pb2.Observation(
        audio=session_pb2.AudioChunk(device="mic", sample_rate_hz=16000, samples=from_numpy(np.zeros(320, np.int16)))))
    change(env)
    with pytest.raises(InvalidArgument, match=message):
        await h.service.on_audio(env)
    await h.service.close()


async def test_recognition_is_biased_towards_objects_only_while_the_robot_sees_some(models, say):
    from robosoul_voice.models import DOMAIN_PROMPT

    smart, asr, tts = models
    prompts = []

    def recording_asr(audio, prompt=""):
        prompts.append(prompt)
        return asr(audio, prompt=prompt)

    h = Harness((smart, recording_asr, tts), robot())
    turn = np.concatenate([np.zeros(4800, np.float32), say("Please pick up the blue block."), np.zeros(3 * SAMPLE_RATE, np.float32)])
    await h.stream(turn)
    await h.settle(lambda: len(h.asked) == 1)
    assert prompts and set(prompts) == {""}  # nothing seen: plain recognition
    h.service.on_scene("acme", "r1", dialogue_pb2.Scene())  # an empty table changes nothing
    h.service.on_scene("acme", "r1", dialogue_pb2.Scene(objects=[dialogue_pb2.SceneObject(object_id="blue-cube-1", label="cube", color="blue")]))
    prompts.clear()
    await h.stream(turn)
    await h.settle(lambda: len(h.asked) == 2)
    assert prompts and set(prompts) == {DOMAIN_PROMPT}
    assert "blue block" in h.asked[1].utterance.text.lower()
    for tenant, robot_id in (("Bad Tenant", "r1"), ("acme", "r*")):
        with pytest.raises(InvalidArgument):
            h.service.on_scene(tenant, robot_id, dialogue_pb2.Scene())
    await h.service.close()
