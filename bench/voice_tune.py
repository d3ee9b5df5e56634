"""Tune the end-of-turn policy on the dev split (seed 0) of the voice set; prints the TurnPolicy to use.

    python bench/voice_tune.py [--seed 0]

Records, for every pause and every true end, the signals at each candidate
checkpoint once (the models run once), then searches weights and silence steps
for the smallest median response gap with at most `--max-cuts` false cuts.
"""

from __future__ import annotations

import argparse
import itertools
import sys

import numpy as np

from robosoul_voice import evalset
from robosoul_voice.models import FRAME, Asr, SmartTurn, Vad
from robosoul_voice.stream import Transcriber, VoiceStream
from robosoul_voice.turn import TurnPolicy, text_completeness

LEVELS = (200, 350, 500, 700, 1000, 1700)
COMPLETENESS = text_completeness  # replaced by the classifier unless --completeness words
CANDIDATES = LEVELS + (2100,)


class Recording(TurnPolicy):
    def checkpoints(self):
        return list(CANDIDATES) + [self.max_silence_ms]

    def silence_needed_ms(self, score):
        return self.max_silence_ms


def traces(cases, models):
    """(is_final, [(silence_ms, model, text, finality, score, asr_done_ms)]) for every pause and every end."""
    smart, asr = models
    out = []
    for k, case in enumerate(cases):
        rows: list = []
        stream = VoiceStream(vad=Vad(), smart_turn=smart, transcriber=Transcriber(asr, live=False), policy=Recording(max_silence_ms=2600),
                             completeness=COMPLETENESS,
                             trace=lambda *a, sink=rows: sink.append(a))
        for i in range(0, len(case.audio) - FRAME + 1, FRAME):
            stream.feed(case.audio[i: i + FRAME])
        # A pause's rows stop when speech resumes (its silence count starts again).
        group: list = []
        for row in rows:
            if group and row[0] <= group[-1][0]:
                out.append((group[-1][0] >= 2100, group))
                group = []
            group.append(row)
        if group:
            out.append((group[-1][0] >= 2100, group))
        print(f"\r  traced {k + 1}/{len(cases)}", end="", file=sys.stderr)
    print(file=sys.stderr)
    return out


def evaluate(tr, w, steps):
    cuts = n_pauses = 0
    gaps = []
    for final, rows in tr:
        fire = None
        for silence, model, text, finality, _score, asr_done, _said in rows:
            score = w[0] * model + w[1] * text + w[2] * finality
            needed = next((s for t, s in steps if score >= t), 2600)
            if silence >= needed:
                fire = (silence, asr_done)
                break
        if final:
            silence, asr_done = fire if fire else (2600, None)
            gaps.append(max(silence, asr_done or 0))
        else:
            n_pauses += 1
            cuts += fire is not None
    return cuts, n_pauses, float(np.median(gaps)) if gaps else 1e9


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-cuts", type=float, default=0.05)
    parser.add_argument("--completeness", choices=("classifier", "words"), default="classifier")
    args = parser.parse_args()
    global COMPLETENESS
    if args.completeness == "classifier":
        from robosoul_voice.completeness import default

        COMPLETENESS = default()
    cases = [c for c in evalset.build(args.seed, turns=48, emotions=0, echoes=0)]
    tr = traces(cases, (SmartTurn(), Asr()))
    best = None
    frontier: dict[int, tuple] = {}
    weights = [(a, b, round(1 - a - b, 2)) for a in (0.0, 0.1, 0.2, 0.3, 0.4) for b in (0.4, 0.5, 0.6, 0.7, 0.8) if a + b <= 1.0]
    levels = LEVELS
    grid = list(itertools.combinations((0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5, 0.45, 0.4, 0.3), len(levels)))
    for w in weights:
        for th in grid:
            steps = tuple(zip(th, levels, strict=True))
            cuts, n, median = evaluate(tr, w, steps)
            if cuts not in frontier or median < frontier[cuts][0]:
                frontier[cuts] = (median, w, steps, cuts, n)
            if cuts <= args.max_cuts * n and (best is None or median < best[0]):
                best = (median, w, steps, cuts, n)
    for cuts in sorted(frontier)[:8]:
        m, w_, st, _, n = frontier[cuts]
        print(f"  {cuts}/{n} cuts: median {m:.0f} ms  w={w_} steps={st}")
    if best is None:
        best = frontier[min(frontier)]
    median, w, steps, cuts, n = best
    print(f"best on seed {args.seed}: median gap {median:.0f} ms (before language/TTS), false cuts {cuts}/{n}")
    print(f"TurnPolicy(w_model={w[0]}, w_text={w[1]}, w_prosody={w[2]}, steps={steps})")


if __name__ == "__main__":
    main()
