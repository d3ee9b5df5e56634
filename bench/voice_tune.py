"""Tune the end-of-turn policy on the dev split (seed 0) of the voice set; prints the TurnPolicy to use.

    python bench/voice_tune.py [--seed 0]
    python bench/voice_tune.py --seeds 0,2,3 --hypotheses 5      # how the committed policy was found
    python bench/voice_tune.py --unsure=-99:1,-0.6:0.8 --seeds 0,2,3

Records, for every pause and every true end, the signals at each candidate
checkpoint once (the models run once), then searches weights and silence steps
for the smallest median response gap with at most `--max-cuts` false cuts.

`--unsure` replays whole turns with greedy decoding (recognition and the judge run once and are reused)
for each candidate `logprob:cap` of the rule that caps the judge's completeness when
Whisper is unsure of the last word (`TurnPolicy.unsure_logprob`, `unsure_text_cap`),
on dev seeds only (seed 1 is the test split), and prints cuts and response gaps.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

from robosoul_voice import evalset
from robosoul_voice.completeness import default
from robosoul_voice.models import ASR_HYPOTHESES, FRAME, Asr, SmartTurn, Vad
from robosoul_voice.stream import Transcriber, VoiceStream
from robosoul_voice.turn import TurnPolicy, text_completeness

LEVELS = (200, 350, 500, 700, 1000, 1700)
CANDIDATES = LEVELS + (2100,)


class Recording(TurnPolicy):
    def checkpoints(self):
        return list(CANDIDATES) + [self.max_silence_ms]

    def silence_needed_ms(self, score, text=0.0):
        return self.max_silence_ms


def traces(cases, models, completeness):
    """(is_final, [(silence_ms, model, text, finality, score, asr_done_ms, transcript)], speaker) for every pause and every end."""
    smart, asr = models
    out = []
    for k, case in enumerate(cases):
        rows: list = []
        stream = VoiceStream(vad=Vad(), smart_turn=smart, transcriber=Transcriber(asr, live=False), policy=Recording(max_silence_ms=2600),
                             completeness=completeness,
                             trace=lambda *a, sink=rows: sink.append(a))
        for i in range(0, len(case.audio) - FRAME + 1, FRAME):
            stream.feed(case.audio[i: i + FRAME])
        # A pause's rows stop when speech resumes (its silence count starts again).
        group: list = []
        for row in rows:
            if group and row[0] <= group[-1][0]:
                out.append((group[-1][0] >= 2100, group, case.speaker))
                group = []
            group.append(row)
        if group:
            out.append((group[-1][0] >= 2100, group, case.speaker))
        print(f"\r  traced {k + 1}/{len(cases)}", end="", file=sys.stderr)
    print(file=sys.stderr)
    return out


def auc(pos, neg) -> float:
    return float(np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg])) if pos and neg else float("nan")


def separation(tr) -> None:
    """How well each signal tells a true end from a mid-sentence pause (AUC, 0.5 = chance)."""
    def signal(rows, k):  # the model and prosody at the first checkpoint; the transcript once it exists
        return rows[0][k] if k != 2 else next((r[2] for r in reversed(rows) if r[6]), 0.5)

    for name, k in (("Smart Turn", 1), ("transcript completeness", 2), ("prosody finality", 3)):
        by = {"all": ([], []), "piper": ([], []), "espeak-ng": ([], [])}
        for final, rows, speaker in tr:
            engine = "piper" if speaker.startswith("piper") else "espeak-ng"
            for key in ("all", engine):
                by[key][0 if final else 1].append(signal(rows, k))
        print(f"  {name}: AUC {auc(*by['all']):.2f} (piper voice {auc(*by['piper']):.2f}, espeak-ng voices {auc(*by['espeak-ng']):.2f})")


def evaluate(tr, w, steps, sure=None):
    cuts = n_pauses = 0
    gaps = []
    for final, rows, _speaker in tr:
        fire = None
        for silence, model, text, finality, _score, asr_done, _said in rows:
            score = w[0] * model + w[1] * text + w[2] * finality
            needed = next((s for t, s in steps if score >= t), 2600)
            if sure is not None and text >= sure[0]:
                needed = min(needed, sure[1])
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


def sweep_unsure(seeds: list[int], candidates: list[tuple[float, float]]) -> None:
    from voice import outcome, run  # bench/voice.py: the same replay the benchmark reports

    models = (None, SmartTurn(), Asr(hypotheses=1).transcribe)  # the rule is for greedy decoding
    cases = [c for seed in seeds for c in evalset.build(seed, turns=48, emotions=0, echoes=0) if c.kind == "turn"]
    cache: dict = {}  # the same audio is recognised and judged once, its compute time charged on every replay
    print(f"dev seeds {seeds}: {len(cases)} turns, {sum(bool(c.pauses) for c in cases)} with a mid-sentence pause")
    print("| unsure log prob < | completeness cap | false cuts | gap p50 ms | p75 | p95 |")
    print("|---:|---:|---:|---:|---:|---:|")
    for logprob, cap in candidates:
        policy = TurnPolicy(unsure_logprob=logprob, unsure_text_cap=cap)
        results = [(bool(case.pauses), *outcome(case, run(case, policy, models, cache))) for case in cases]
        cuts = sum(paused and cut for paused, cut, _ in results)
        gaps = [gap for _, _, gap in results if gap is not None]
        p50, p75, p95 = np.percentile(gaps, [50, 75, 95])
        print(f"| {logprob:g} | {cap:g} | {cuts}/{sum(paused for paused, _, _ in results)} | {p50:.0f} | {p75:.0f} | {p95:.0f} |", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-cuts", type=float, default=0.05)
    parser.add_argument("--completeness", choices=("lm", "words"), default="lm", help="the language-model judge or the word-list baseline")
    parser.add_argument("--traces", type=Path, help="keep the recorded signals in this JSON file and reuse them if it exists")
    parser.add_argument("--unsure", help="sweep logprob:cap candidates of the unsure-last-word rule instead (e.g. '-99:1,-0.6:0.8')")
    parser.add_argument("--hypotheses", type=int, default=ASR_HYPOTHESES, help="Whisper's hypotheses (1: greedy; more: beam search, completeness expected over them)")
    parser.add_argument("--seeds", default="", help="dev seeds to pool instead of --seed (e.g. 0,2,3); --unsure defaults to 0,2,3")
    args = parser.parse_args()
    if args.unsure:
        seeds = [int(s) for s in (args.seeds or "0,2,3").split(",")]
        if 1 in seeds:
            parser.error("seed 1 is the test split: tune on other seeds")
        sweep_unsure(seeds, [tuple(map(float, c.split(":"))) for c in args.unsure.split(",")])
        return
    completeness = default() if args.completeness == "lm" else text_completeness
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else [args.seed]
    if 1 in seeds:
        parser.error("seed 1 is the test split: tune on other seeds")
    cases = [c for seed in seeds for c in evalset.build(seed, turns=48, emotions=0, echoes=0)]
    if args.traces is not None and args.traces.exists():
        tr = json.loads(args.traces.read_text())
    else:
        tr = traces(cases, (SmartTurn(), Asr(hypotheses=args.hypotheses).transcribe), completeness)
        if args.traces is not None:
            args.traces.write_text(json.dumps(tr))
    separation(tr)
    best = None
    frontier: dict[int, tuple] = {}
    weights = [(a, b, round(1 - a - b, 2)) for a in (0.0, 0.1, 0.2, 0.3, 0.4) for b in (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0) if a + b <= 1.0 + 1e-9]
    levels = LEVELS
    grid = list(itertools.combinations((0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5, 0.45, 0.4, 0.3), len(levels)))
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
    # Then the silence a transcript the judge is sure of needs, whatever the other signals say.
    sure = (1.01, 2600)
    for t in (0.9, 0.95, 0.97, 0.98):
        for silence in (200, 350, 500, 700, 1000):
            c, _, m = evaluate(tr, w, steps, (t, silence))
            if c <= max(cuts, args.max_cuts * n) and (m, -t, -silence) < (median, -sure[0], -sure[1]):
                median, cuts, sure = m, c, (t, silence)
    print(f"best on seeds {seeds}: median gap {median:.0f} ms (before language/TTS), false cuts {cuts}/{n}")
    print(f"TurnPolicy(w_model={w[0]}, w_text={w[1]}, w_prosody={w[2]}, steps={steps}, sure_text={sure[0]}, sure_silence_ms={sure[1]})")


if __name__ == "__main__":
    main()
