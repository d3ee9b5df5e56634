"""Voice: end of turn against fixed-silence baselines, word error, emotion, echo and barge-in, on the project's synthetic set.

    python bench/voice.py [--seed 1]        # seeds 0, 2 and 3 are the dev splits the turn policy was tuned on
    python bench/voice.py --seeds 1,4,5 --parts turn   # more held-out pauses

Runs the voice service's own `VoiceStream` over each case faster than real time;
speech recognition's measured compute time is charged to the audio clock, so a
response gap includes the recogniser time not hidden behind the silence wait.
The platform path (voice-to-voice through gateway, NATS, language and TTS) is
bench/voice_platform.py.
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
import time
from collections import defaultdict

import numpy as np
from stats import pct

from robosoul_core.affect import top_emotion
from robosoul_voice import evalset
from robosoul_voice.echo import EchoCanceller
from robosoul_voice.models import ASR_HYPOTHESES, FRAME, SAMPLE_RATE, Asr, SmartTurn, Vad
from robosoul_voice.stream import SpeechStarted, Transcriber, TurnEnded, VoiceStream
from robosoul_voice.turn import FixedSilence, TurnPolicy

_WORD = re.compile(r"[a-z']+")



def wer(ref: str, hyp: str) -> tuple[int, int]:
    r, h = _WORD.findall(ref.lower()), _WORD.findall(hyp.lower())
    d = np.arange(len(h) + 1)
    for i in range(1, len(r) + 1):
        prev, d[0] = d.copy(), i
        for j in range(1, len(h) + 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (r[i - 1] != h[j - 1]))
    return int(d[len(h)]), len(r)


class NoEcho(EchoCanceller):
    """The baseline for echo: plain VAD on the raw microphone (no use of the playback signal)."""

    def process(self, frame, index):
        return frame.astype(np.float32), 0.0


def run(case: evalset.Case, policy, models, cache, echo_cls=EchoCanceller):
    vad, smart, asr = models
    stream = VoiceStream(vad=Vad(), smart_turn=smart, transcriber=Transcriber(asr, live=False, cache=cache), policy=policy, echo=echo_cls())
    events = []
    reply_at = int(case.reply_at_s * SAMPLE_RATE) if case.reply is not None else None
    for i in range(0, len(case.audio) - FRAME + 1, FRAME):
        if reply_at is not None and i >= reply_at:
            stream.play(case.reply)
            reply_at = None
        for e in stream.feed(case.audio[i: i + FRAME]):
            events.append((stream.now_s, e))
    return events


def outcome(case: evalset.Case, events) -> tuple[bool, float | None]:
    """Whether a turn ended before the person had finished (a false cut), and the response gap (ms) at the true end."""
    ends = [e for _, e in events if isinstance(e, TurnEnded)]
    cut = any(e.decided_s < case.speech_end_s - 0.05 for e in ends)
    final = next((e for e in ends if e.decided_s >= case.speech_end_s - 0.05), None)
    return cut, None if final is None else (final.decided_s - case.speech_end_s) * 1000 + final.asr_wait_ms


def turn_section(turn_cases, models, cache) -> None:
    policies = {"RoboSoul (words + the voice's ending + prosody + silence)": TurnPolicy(), "fixed 500 ms silence": FixedSilence(500), "fixed 800 ms silence (EVI default)": FixedSilence(800)}
    rows = {}
    errors, words = 0, 0
    for name, policy in policies.items():
        cuts, gaps, n_pause = 0, [], 0
        for k, case in enumerate(turn_cases):
            timed = run(case, policy, models, cache)
            cut, gap = outcome(case, timed)
            if case.pauses:
                n_pause += 1
                cuts += cut
            if gap is not None:
                gaps.append(gap)
            if name.startswith("RoboSoul"):
                events = [e for _, e in timed if isinstance(e, TurnEnded)]
                e, n = wer(case.text, " ".join(x.transcript for x in events))
                errors, words = errors + e, words + n
            print(f"\r  {name}: {k + 1}/{len(turn_cases)}", end="", file=sys.stderr)
        print(file=sys.stderr)
        rows[name] = (cuts, n_pause, pct(gaps, 50), pct(gaps, 95), len(gaps))
    print(f"\n#### End of turn ({len(turn_cases)} utterances, {rows[next(iter(rows))][1]} with a mid-sentence pause of 300-1500 ms)\n")
    print("| endpointing | false cuts at pauses | response gap p50 ms | p95 ms |")
    print("|---|---:|---:|---:|")
    for name, (cuts, n, p50, p95, _) in rows.items():
        print(f"| {name} | {cuts}/{n} ({cuts / max(n, 1):.1%}) | {p50:.0f} | {p95:.0f} |")
    print(f"\nword error rate (RoboSoul endpointing, whole utterances): {errors / max(words, 1):.1%} ({errors}/{words} words)")


def emotion_section(cases, models, cache) -> None:
    confusion = defaultdict(lambda: defaultdict(int))
    hits = hits_words = hits_voice = n_words = n_voice = 0
    for case in cases:
        turns = [e for _, e in run(case, TurnPolicy(), models, cache) if isinstance(e, TurnEnded)]
        got = top_emotion(turns[-1].emotion) if len(turns) >= 2 else "none"
        confusion[case.emotion][got] += 1
        ok = got == case.emotion
        hits += ok
        from_words = case.text in evalset.EMOTIONAL[case.emotion] and case.emotion != "neutral"
        hits_words += ok and from_words
        n_words += from_words
        hits_voice += ok and not from_words
        n_voice += not from_words
    n_emotion = len(cases)
    print(f"\n#### Emotion ({n_emotion} utterances, six classes, chance 16.7%)\n")
    print(f"accuracy {hits / n_emotion:.1%}; emotional words and voice: {hits_words}/{n_words}; voice only (neutral words): {hits_voice}/{n_voice}")
    labels = list(evalset.EMOTION_PROSODY)
    print("\n| true \\ predicted | " + " | ".join(labels) + " | no turn |")
    print("|---|" + "---:|" * (len(labels) + 1))
    for t in labels:
        print(f"| {t} | " + " | ".join(str(confusion[t][p]) for p in labels) + f" | {confusion[t]['none']} |")


def echo_section(echo_cases, models, cache) -> None:
    print("\n#### Echo of the robot's own voice\n")
    print("| listener | echo-only cases | false barge-ins | echo transcribed (turns) | barge-in cases detected | detection p50 / max ms after the person starts |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, cls in (("RoboSoul (playback signal removed)", EchoCanceller), ("plain VAD on the microphone", NoEcho)):
        false, turns_from_echo, detected, delays = 0, 0, 0, []
        for case in echo_cases:
            events = run(case, TurnPolicy(), models, cache, echo_cls=cls)
            starts = [(t, e) for t, e in events if isinstance(e, SpeechStarted)]
            if case.kind == "echo":
                false += len(starts)
                turns_from_echo += sum(isinstance(e, TurnEnded) for _, e in events)
            else:
                after = [t for t, e in starts if t >= case.person_at_s - 0.05]
                false += len([t for t, e in starts if t < case.person_at_s - 0.05])
                if after:
                    detected += 1
                    delays.append((after[0] - case.person_at_s) * 1000)
        n_echo = sum(c.kind == "echo" for c in echo_cases)
        print(f"| {name} | {n_echo} | {false} | {turns_from_echo} | {detected}/{len(echo_cases) - n_echo} | "
              f"{pct(delays, 50):.0f} / {max(delays) if delays else float('nan'):.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", default="", help="pool several held-out seeds (e.g. 1,4,5) instead of --seed; 0, 2 and 3 are dev seeds")
    parser.add_argument("--turns", type=int, default=48)
    parser.add_argument("--emotions", type=int, default=36)
    parser.add_argument("--echoes", type=int, default=16)
    parser.add_argument("--parts", default="turn,emotion,echo", help="which sections to run")
    parser.add_argument("--hypotheses", type=int, default=ASR_HYPOTHESES, help="Whisper's hypotheses (the voice service's default)")
    parser.add_argument("--asr-prompt", default="", help="Whisper's prompt (default none, as for a robot that sees no objects)")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    t0 = time.time()
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else [args.seed]
    cases = [c for seed in seeds for c in evalset.build(
        seed, turns=args.turns if "turn" in parts else 0, emotions=args.emotions if "emotion" in parts else 0,
        echoes=args.echoes if "echo" in parts else 0)]
    print(f"voice set (seeds {seeds}): {len(cases)} cases, {len({c.speaker for c in cases})} speakers, built in {time.time() - t0:.0f} s", file=sys.stderr)
    asr = Asr(hypotheses=args.hypotheses)
    models = (None, SmartTurn(), functools.partial(asr.transcribe, prompt=args.asr_prompt))
    cache: dict = {}
    if "turn" in parts:
        turn_section([c for c in cases if c.kind == "turn"], models, cache)
    if "emotion" in parts:
        emotion_section([c for c in cases if c.kind == "emotion"], models, cache)
    if "echo" in parts:
        echo_section([c for c in cases if c.kind in ("echo", "barge-in")], models, cache)


if __name__ == "__main__":
    main()
