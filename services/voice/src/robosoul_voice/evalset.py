"""The voice evaluation set, synthesised by the project: no recordings, no downloads.

Speakers: Piper's neural voice at several speeds and volumes, and espeak-ng
voices (male and female variants) at varied base pitch and rate. Utterances:
commands, questions and statements; some split by a mid-sentence pause of
300-1500 ms where a person would hesitate ("pick up the red cube … and put it
in the bin"); emotion carried by prosody (espeak-ng SSML pitch, rate and volume)
and sometimes by the words too; background noise made by sox (pink, brown and
white) mixed at 10-30 dB SNR; and the robot's own reply coming back through its
microphone (delayed 40-400 ms, attenuated, with room noise), alone or with the
person talking over it.

`build(seed)` is deterministic for a seed: the turn policy is tuned on seed 0
(dev) and the benchmark reports seed 1 (test), whose sentences, speakers and
pauses differ from the dev split's. `whole(seed, texts)` says short utterances whole (tuning
must see short finished turns too); `training(seed)` makes the learned ending model's
training turns from sentences of its own (`TRAINING_SENTENCES`, `TRAINING_SHORT`).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field

import numpy as np

from robosoul_voice.models import SAMPLE_RATE, Tts, espeak, resample

# (first part, second part): a pause may go between them. Every first part is
# unfinished (a hesitation inside a sentence, not a pause after a complete one).
SENTENCES = [
    ("could you pick up", "the red cube please"), ("put the green ball in", "the blue bin"),
    ("I was wondering if", "you could help me with the groceries"), ("can you hand me", "the yellow cup"),
    ("what do you", "see on the table"), ("I think we should", "clean the kitchen after dinner"),
    ("my daughter wants to", "build a tower with the blocks"), ("please go back to", "your home position"),
    ("tell me about", "the weather in the mountains"), ("when you have time could you", "bring me a glass of water"),
    ("I would like", "the blue block on the plate"), ("do you remember where", "I left my keys"),
    ("let's play a game with", "the coloured balls"), ("move the cup a little to", "the left"),
    ("today I went to", "the market with my brother"), ("how long will it take to", "tidy up the table"),
    ("could you bring", "the green cup over here"), ("I need you to", "stack the blocks on the tray"),
    ("is it possible to", "open the window a bit"), ("after lunch we can", "go for a walk in the park"),
    ("would you mind picking up", "the toys on the floor"), ("I forgot to", "water the plants yesterday"),
    ("show me how you", "wave to people"), ("where did you", "put the red ball"),
    ("my brother and I are", "visiting our parents on sunday"), ("please hand the blue block to", "my son"),
    ("I am looking for", "a pen that still works"), ("can we talk about", "the plan for tomorrow"),
    ("the doctor said I should", "rest for a few days"), ("turn a little towards", "the door please"),
    ("I want to learn how to", "cook pasta"), ("remind me to", "call my sister tonight"),
]
EMOTIONAL = {
    "happy": ["I passed my driving test today", "we are going on holiday tomorrow", "this is the best day ever"],
    "sad": ["I miss my old friends", "nothing went right this week", "my cat has been sick for days"],
    "angry": ["this is the third time it broke", "I told you not to touch that", "the delivery is late again"],
    "fearful": ["I am worried about the exam", "what if the storm gets worse", "I heard a strange noise downstairs"],
    "surprised": ["you can really talk", "I did not expect you here", "the box was full of letters"],
    "neutral": ["the meeting starts at ten", "the table is next to the window", "I read the news this morning"],
}
# espeak-ng SSML prosody per emotion (pitch, rate, volume).
EMOTION_PROSODY = {
    "neutral": ("+0%", "+0%", 1.0), "happy": ("+25%", "+10%", 1.1), "sad": ("-20%", "-25%", 0.55),
    "angry": ("+8%", "+18%", 1.6), "fearful": ("+35%", "+22%", 0.9), "surprised": ("+45%", "+0%", 1.2),
}
ESPEAK_VOICES = ["en-us", "en-us+m3", "en-us+f2", "en-us+f4", "en+m7", "en-gb-x-rp+f3"]
# What a person says in the platform benchmark (voice to voice): short questions,
# commands and remarks, none of them in the completeness classifier's training text.
PLATFORM_PROMPTS = [
    "Hi, who built you?", "What are you looking at?", "Can you sing?", "Good afternoon, how are things?",
    "Please go back to your home position.", "I feel great today.", "Is everything okay?", "Open your hand.",
    "You are funny.", "What was that?",
]
# Training only (the learned ending model, `ending.py`): none of these is in SENTENCES,
# EMOTIONAL or PLATFORM_PROMPTS. Each is split at a random word by a pause; the short ones
# are said whole, so that a short utterance is not taken for a fragment because it is short.
TRAINING_SENTENCES = [
    "stop", "come here", "look at me", "wave your arm", "say hello to grandma", "where are my glasses",
    "how old are you", "what time is it", "turn off the light in the hall", "can you carry this box to the car",
    "I would like a cup of tea with milk", "please put the spoon next to the bowl", "the kids are coming home at five",
    "we need more bread for the weekend", "could you tidy the shelf by the door", "do you know where the scissors are",
    "I left the umbrella in the garden", "give the red pen to my husband", "the soup is too hot to eat",
    "is the oven still on", "lift the lid of the box slowly", "my knee hurts when I climb the stairs",
    "take the empty bottles to the kitchen", "what did the doctor say about my back", "can you read me the label",
    "I am going to bed early tonight", "fold the towels and put them away", "the printer is out of paper again",
    "slide the tray a bit further", "will it snow on saturday", "please bring the blanket from the sofa",
    "my friend is visiting from spain next month", "why is the window open", "push the chair under the table",
    "I cannot find the remote", "who ate the last biscuit", "let me know when the washing is done",
    "hold the door for me", "the plant by the window needs water", "show me the green box on the top shelf",
    "can you count the apples in the basket", "I think the milk has gone off", "put the books back in order",
    "how far is the station from here", "check if the back door is locked", "my son starts school in september",
    "grab the towel hanging on the hook", "that was a lovely dinner", "is there any cheese left in the fridge",
    "drop the ball into the basket", "could you turn the music down a little", "I had a strange dream last night",
    "rotate the box so the label faces me", "what is the capital of norway", "pick the orange ball from the floor",
    "the neighbours are having a party", "wipe the table after breakfast", "are you able to climb stairs",
    "stack the plates on the left side of the sink", "we should call the plumber tomorrow morning",
    "point at the biggest block", "how many cups are on the tray", "thank you for helping me today",
    "place the pencil inside the drawer", "my grandmother used to bake bread every sunday", "can you sort the socks by colour",
    "open the curtains please", "keep an eye on the baby while I shower", "the bus was twenty minutes late",
    "tell my wife that dinner is ready",
]
TRAINING_SHORT = [
    "good morning", "thank you", "well done", "hello there", "not now", "that is fine", "go away", "how are you",
    "what is this", "is it ready", "where is it", "come back", "I am cold", "sit down", "nice work", "who is there",
    "are you sure", "I love it", "look over there", "what happened", "try again", "that hurts", "be careful",
    "it is broken", "I am hungry", "help me please", "what now", "lift it up", "is she home", "close the door",
    "who are you", "wait for me", "so beautiful", "you did it", "which one", "are you awake", "all done",
    "can you dance", "put it down", "I am tired", "keep going", "what is your name", "move back", "it is late",
    "turn around", "yes please", "no thanks", "how much", "see you later", "it is raining again",
    "what a mess", "do it again", "that is enough", "where did it go", "I am back", "are we done", "give it here",
    "how was school", "not that one", "pass the salt", "is it broken", "clean this up", "I cannot see", "go to sleep",
    "what do you think", "shut the window", "leave it there", "I need a hand", "why not", "who told you",
    "it smells nice", "how tall are you", "bring it closer", "we are late", "it is so quiet", "can you hear me",
    "spin around", "that was close", "good night", "where are we going", "I made tea", "tell me a joke",
    "follow me", "is that mine", "you look busy", "take a break",
]
REPLIES = ["Okay, I'll pick up the red cube now.", "I'm sorry to hear that. Do you want to talk about it?",
           "Hello! I'm Robin. What can I do for you?", "Sure, going back to my home pose."]


@dataclass
class Case:
    kind: str  # "turn", "emotion", "echo", "barge-in"
    audio: np.ndarray  # float32, 16 kHz
    text: str
    speaker: str
    # Audio time (s) where the person's speech really ends, and where mid-sentence pauses are.
    speech_end_s: float = 0.0
    pauses: list[tuple[float, float]] = field(default_factory=list)
    emotion: str = "neutral"
    noise_db: float | None = None
    # Echo cases: the reply the robot was sent, and when (audio time) it was sent.
    reply: np.ndarray | None = None
    reply_at_s: float = 0.0
    echo_delay_s: float = 0.0
    person_at_s: float | None = None


class Synth:
    def __init__(self):
        self.tts = Tts(deterministic=True)

    def say(self, text: str, speaker: dict) -> np.ndarray:
        if speaker["engine"] == "piper":
            return trim(resample(self.tts.piper(text, length_scale=speaker["length"], volume=speaker["volume"]), self.tts.piper_rate))
        pitch, rate, volume = speaker.get("prosody", ("+0%", "+0%", 1.0))
        audio, sr = espeak(text, voice=speaker["voice"], pitch=pitch, rate=rate, volume=volume, base_pitch=speaker["base_pitch"], speed=speaker["speed"])
        return trim(resample(audio, sr))

    def say_with_pause(self, first: str, second: str, speaker: dict, pause_s: float) -> tuple[np.ndarray, tuple[float, float]]:
        """One sentence with a pause of `pause_s` between its parts (0: said in one breath)."""
        if not pause_s:
            return self.say(f"{first} {second}", speaker), (0.0, 0.0)
        if speaker["engine"] == "piper":
            return _stretch(self.say(f"{first}, {second}", speaker), pause_s)
        pitch, rate, volume = speaker.get("prosody", ("+0%", "+0%", 1.0))
        audio, sr = espeak(first, voice=speaker["voice"], pitch=pitch, rate=rate, volume=volume, base_pitch=speaker["base_pitch"],
                           speed=speaker["speed"], then=second, pause_ms=int(pause_s * 1000))
        return _stretch(trim(resample(audio, sr)), pause_s)


def longest_gap(x: np.ndarray, *, threshold: float = 0.01) -> tuple[int, int]:
    """(start, end) samples of the longest quiet stretch strictly inside the audio."""
    hop = SAMPLE_RATE // 100
    quiet = np.array([np.max(np.abs(x[k: k + hop])) < threshold for k in range(0, len(x) - hop, hop)])
    best, run_start = (0, 0), None
    for k, q in enumerate(np.append(quiet, False)):
        if q and run_start is None:
            run_start = k
        elif not q and run_start is not None:
            if run_start > 0 and k < len(quiet) and k - run_start > best[1] - best[0]:
                best = (run_start, k)
            run_start = None
    return best[0] * hop, best[1] * hop


def _stretch(x: np.ndarray, pause_s: float) -> tuple[np.ndarray, tuple[float, float]]:
    """Make the longest inner pause `pause_s` long (or leave it if longer); returns the audio and the pause (s)."""
    g0, g1 = longest_gap(x)
    if g1 <= g0:
        return x, (0.0, 0.0)
    want = int(pause_s * SAMPLE_RATE)
    gap = np.zeros(max(want, g1 - g0), np.float32)
    out = np.concatenate([x[:g0], gap, x[g1:]])
    return out, (g0 / SAMPLE_RATE, (g0 + len(gap)) / SAMPLE_RATE)


def trim(x: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    loud = np.flatnonzero(np.abs(x) > threshold)
    return x[loud[0]: loud[-1] + 1] if len(loud) else x


def noise(kind: str, seconds: float, seed: int) -> np.ndarray:
    """Background noise from sox (pink, brown or white), unit RMS."""
    sox = shutil.which("sox")
    if sox is None:
        raise FileNotFoundError("sox is not installed (Debian: apt-get install sox)")
    out = subprocess.run(  # noqa: S603 - fixed binary and arguments
        [sox, "-R", "-n", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-t", "raw", "-e", "signed", "-",
         "synth", f"{seconds:.3f}", f"{kind}noise", "vol", "0.5"],
        capture_output=True, check=True, timeout=30,
    ).stdout
    x = np.frombuffer(out, dtype=np.int16).astype(np.float32) / 32768.0
    x = np.roll(x, seed % max(1, len(x)))
    return x / (np.sqrt(np.mean(x**2)) + 1e-9)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2) + 1e-12))


def speakers(rng: np.random.Generator, n: int) -> list[dict]:
    out = []
    for i in range(n):
        if i % 3 == 0:
            out.append({"engine": "piper", "name": f"piper-{i}", "length": float(rng.uniform(0.85, 1.2)), "volume": float(rng.uniform(0.6, 1.0))})
        else:
            voice = ESPEAK_VOICES[i % len(ESPEAK_VOICES)]
            out.append({"engine": "espeak", "name": f"{voice}-{i}", "voice": voice, "base_pitch": int(rng.integers(30, 71)), "speed": int(rng.integers(140, 191))})
    return out


def build(seed: int = 1, *, turns: int = 48, emotions: int = 36, echoes: int = 16) -> list[Case]:
    rng = np.random.default_rng(seed)
    synth = Synth()
    voices = speakers(rng, 12)
    cases: list[Case] = []
    for i in range(turns):
        # Dev (even seeds) and test (odd seeds) use different sentences.
        pool = SENTENCES[seed % 2::2]
        first, second = pool[(i + seed * 5) % len(pool)]
        spk = voices[i % len(voices)]
        # Said in one go, so the first part keeps its unfinished intonation: espeak-ng
        # with an SSML break inside the sentence; Piper with a comma whose pause is
        # then stretched. The pause is located in the audio itself.
        pause = float(rng.uniform(0.3, 1.5)) if i % 4 != 3 else 0.0  # a quarter said in one breath
        speech, (p0, p1) = synth.say_with_pause(first, second, spk, pause)
        cases.append(_turn(f"{first} {second}", spk, speech, (p0, p1) if pause else None, i, rng))
    labels = list(EMOTION_PROSODY)
    for i in range(emotions):
        label = labels[i % len(labels)]
        # Words carry the emotion half of the time; otherwise only the voice does.
        words = EMOTIONAL[label][i % 3] if i % 2 == 0 else EMOTIONAL["neutral"][i % 3]
        base = voices[1 + (i % (len(voices) - 1))] if voices[1 + (i % (len(voices) - 1))]["engine"] == "espeak" else voices[1]
        spk = dict(base, prosody=EMOTION_PROSODY[label])
        # The speaker is heard neutral first, so there is a baseline to compare with.
        calm = synth.say(EMOTIONAL["neutral"][(i + 1) % 3], dict(base, prosody=EMOTION_PROSODY["neutral"]))
        said = synth.say(words, spk)
        silence = np.zeros(int(3.2 * SAMPLE_RATE), np.float32)
        audio = np.concatenate([np.zeros(int(LEAD_S * SAMPLE_RATE), np.float32), calm, silence, said, silence])
        cases.append(Case("emotion", audio, words, spk["name"], speech_end_s=LEAD_S + (len(calm) + len(silence) + len(said)) / SAMPLE_RATE, emotion=label))
    for i in range(echoes):
        reply_text = REPLIES[i % len(REPLIES)]
        reply = synth.say(reply_text, {"engine": "piper", "length": 1.0, "volume": 1.0})
        delay = float(rng.uniform(0.04, 0.4))
        gain = float(rng.uniform(0.1, 0.6))
        at = 0.5
        total = at + delay + len(reply) / SAMPLE_RATE + 2.0
        audio = np.zeros(int(total * SAMPLE_RATE), np.float32)
        start = int((at + delay) * SAMPLE_RATE)
        audio[start: start + len(reply)] += gain * reply
        audio += 0.003 * noise(("pink", "brown")[i % 2], total + 0.1, seed * 100 + i)[: len(audio)]
        case = Case("echo", audio, "", "robot", reply=reply, reply_at_s=at, echo_delay_s=delay)
        if i % 2 == 1:  # the person talks over the robot
            spk = voices[(i + 2) % len(voices)]
            person = synth.say(("wait, stop", "no, the other one", "hold on a second", "actually, the blue one")[i % 4], spk)
            p_at = at + delay + float(rng.uniform(0.3, 0.8))
            p0 = int(p_at * SAMPLE_RATE)
            end = min(len(audio), p0 + len(person))
            audio[p0:end] += 0.8 * person[: end - p0] * (_rms(reply) / max(_rms(person), 1e-6))
            case.kind, case.person_at_s, case.text = "barge-in", p_at, "person"
        cases.append(case)
    return cases


def whole(seed: int, texts: list[str] | tuple[str, ...]) -> list[Case]:
    """Short utterances said whole, one turn each, by the speakers of `build(seed)` (noise on half):
    the voice set's turns are long sentences, and the turn policy must not learn that only
    long ones are finished (bench/voice_tune.py --short). Every second one is said as
    `written` (a question rises at its end), each speaker saying both kinds."""
    rng = np.random.default_rng(seed)
    voices = speakers(rng, 12)
    synth = Synth()
    cases = []
    for i, text in enumerate(texts):
        spk = voices[i % len(voices)]
        as_written = (i + i // len(voices)) % 2  # every second one, each speaker taking turns
        cases.append(_turn(text, spk, synth.say(written(text) if as_written else text, spk), None, i, rng))
    return cases


def training(seed: int) -> list[Case]:
    """Turns for training the ending model: every TRAINING_SENTENCES sentence split at a random
    word by a pause of 300-1500 ms (said as `build` says its pauses), every TRAINING_SHORT one
    said whole; noise on half of them. Every second turn is said as `written` (a capital and a
    final "?" or "."): a question then rises at its end, and a rising end must not read as a
    pause (a model trained without them called a fifth of short questions unfinished). The
    speakers are `build`'s plus the robot's own default voice (Piper as `models.Tts` says a
    reply). Use seeds the evaluation does not (bench/voice_ending_fit.py)."""
    rng = np.random.default_rng(seed)
    synth = Synth()
    voices = [*speakers(rng, 12), {"engine": "piper", "name": "piper-default", "length": 1.0, "volume": 1.0}]
    cases: list[Case] = []
    for i, sentence in enumerate(TRAINING_SENTENCES + TRAINING_SHORT):
        spk = voices[(i + seed) % len(voices)]
        words = (written(sentence) if i % 2 else sentence).split()
        if i < len(TRAINING_SENTENCES) and len(words) >= 3:
            k = int(rng.integers(1, len(words)))
            speech, (p0, p1) = synth.say_with_pause(" ".join(words[:k]), " ".join(words[k:]), spk, float(rng.uniform(0.3, 1.5)))
        else:
            speech, (p0, p1) = synth.say(" ".join(words), spk), (0.0, 0.0)
        cases.append(_turn(sentence, spk, speech, (p0, p1) if p1 > p0 else None, i, rng))
    return cases


QUESTION_WORDS = frozenset({"who", "what", "where", "when", "why", "how", "which", "is", "are", "am", "was", "were", "can", "could",
                            "do", "does", "did", "will", "would", "shall", "should", "may"})


def written(text: str) -> str:
    """`text` as a sentence: a capital first letter and "?" after a question, "." after the rest."""
    text = text.strip()
    if not text:
        raise ValueError("written() needs words")
    mark = "?" if text.split()[0].lower() in QUESTION_WORDS else "."
    return text[0].upper() + text[1:] + mark


LEAD_S = 0.4  # silence before a turn's speech (3 s follow it)


def _turn(text: str, spk: dict, speech: np.ndarray, pause: tuple[float, float] | None, i: int, rng: np.random.Generator) -> Case:
    """A turn case: the speech (with its pause, seconds into it) between silences, noise on every second one."""
    audio = np.concatenate([np.zeros(int(LEAD_S * SAMPLE_RATE), np.float32), speech, np.zeros(3 * SAMPLE_RATE, np.float32)])
    case = Case("turn", audio, text, spk["name"], speech_end_s=LEAD_S + len(speech) / SAMPLE_RATE,
                pauses=[(LEAD_S + pause[0], LEAD_S + pause[1])] if pause else [])
    if i % 2 == 1:
        _add_noise(case, rng, kind=("pink", "brown", "white")[i % 3])
    return case


def _add_noise(case: Case, rng: np.random.Generator, *, kind: str) -> None:
    snr = float(rng.uniform(10, 30))
    speech = case.audio[np.abs(case.audio) > 0.01]
    n = noise(kind, len(case.audio) / SAMPLE_RATE + 0.1, int(rng.integers(0, 1 << 30)))[: len(case.audio)]
    case.audio = (case.audio + n * _rms(speech) / (10 ** (snr / 20))).astype(np.float32)
    case.noise_db = snr
