"""Tune the end-of-turn policy on dev seeds of the voice set; prints the TurnPolicy to use.

    python bench/voice_tune.py [--seed 0]
    python bench/voice_tune.py --seeds 0,2,3,20,21,22,23,24,25 --short --model-weights 0 \
        --ending-weights 0,0.1,0.2,0.3 --max-cuts 0.028                  # the search behind the committed weights (README)
    python bench/voice_tune.py --unsure=-99:1,-0.6:0.8 --seeds 0,2,3
    python bench/voice_tune.py --seeds 0,2,3,20,21,22,23,24,25 --short --unfinished=-1:1,0.3:0.7,0.35:0.7,0.4:0.7

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
from robosoul_voice.completeness import SHORT_COMPLETE, default
from robosoul_voice.models import ASR_HYPOTHESES, FRAME, Asr, SmartTurn, Vad
from robosoul_voice.stream import Transcriber, VoiceStream
from robosoul_voice.turn import TurnPolicy, question_finality, text_completeness

# Never tuned on: seed 1 is the test split `make bench-voice` reports, 4-19 further held-out
# seeds. Dev seeds are 0, 2, 3 and 20-39 (the learned ending model trains on 1000 and up).
HELD_OUT = frozenset({1, *range(4, 20)})
LEVELS = (200, 350, 500, 700, 1000, 1700)
CANDIDATES = LEVELS + (2100,)


class Recording(TurnPolicy):
    def checkpoints(self):
        return list(CANDIDATES) + [self.max_silence_ms]

    def silence_needed_ms(self, score, text=0.0):
        return self.max_silence_ms


def traces(cases, models, completeness):
    """(is_final, [(silence_ms, model, text, finality, score, asr_done_ms, transcript, ending)], speaker, short) for every
    pause and every end; `short`: the case is one of the short utterances said whole (`--short`)."""
    smart, asr = models
    out = []
    for k, case in enumerate(cases):
        rows: list = []
        # The judge's completeness as it was (the veto of an unfinished-sounding voice is replayed by `evaluate`).
        stream = VoiceStream(vad=Vad(), smart_turn=smart, transcriber=Transcriber(asr, live=False),
                             policy=Recording(max_silence_ms=2600, unfinished_ending=-1.0),
                             completeness=completeness,
                             trace=lambda *a, sink=rows: sink.append(a))
        for i in range(0, len(case.audio) - FRAME + 1, FRAME):
            stream.feed(case.audio[i: i + FRAME])
        # A pause's rows stop when speech resumes (its silence count starts again).
        group: list = []
        for row in rows:
            if group and row[0] <= group[-1][0]:
                out.append((group[-1][0] >= 2100, group, case.speaker, case.text in SHORT_COMPLETE))
                group = []
            group.append(row)
        if group:
            out.append((group[-1][0] >= 2100, group, case.speaker, case.text in SHORT_COMPLETE))
        print(f"\r  traced {k + 1}/{len(cases)}", end="", file=sys.stderr)
    print(file=sys.stderr)
    return out


def auc(pos, neg) -> float:
    return float(np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg])) if pos and neg else float("nan")


def separation(tr) -> None:
    """How well each signal tells a true end from a mid-sentence pause (AUC, 0.5 = chance)."""
    def signal(rows, k):  # the model and prosody at the first checkpoint; the transcript and the ending once it exists
        return rows[0][k] if k not in (2, 7) else next((r[k] for r in reversed(rows) if r[6]), 0.5)

    for name, k in (("Smart Turn", 1), ("transcript completeness", 2), ("prosody finality", 3), ("learned ending", 7)):
        by = {"all": ([], []), "piper": ([], []), "espeak-ng": ([], [])}
        for final, rows, speaker, _short in tr:
            engine = "piper" if speaker.startswith("piper") else "espeak-ng"
            for key in ("all", engine):
                by[key][0 if final else 1].append(signal(rows, k))
        print(f"  {name}: AUC {auc(*by['all']):.2f} (piper voice {auc(*by['piper']):.2f}, espeak-ng voices {auc(*by['espeak-ng']):.2f})")


def evaluate(tr, w, steps, sure=None, veto=None):
    """(false cuts, pauses, median gap, the objective: the short utterances' median gap where there are any, else the median).

    `veto` (ending, cap): where the learned ending is below `ending`, completeness counts for at most `cap`.
    The candidate is replayed through `TurnPolicy` itself, as `VoiceStream` uses it."""
    policy = TurnPolicy(
        w_model=w[0], w_text=w[1], w_prosody=w[2], w_ending=w[3], steps=steps, max_silence_ms=2600,
        sure_text=None if sure is None else sure[0], sure_silence_ms=500 if sure is None else sure[1],
        unfinished_ending=-1.0 if veto is None else veto[0], unfinished_text_cap=1.0 if veto is None else veto[1],
    )
    cuts = n_pauses = 0
    gaps, short_gaps = [], []
    for final, rows, _speaker, short in tr:
        fire = None
        for silence, model, text, finality, _score, asr_done, said, ending in rows:
            # The recorded text carries the unsure-word cap already (log probability 0: not again).
            text = policy.text_score(text, 0.0, ending if said else None)
            finality = question_finality(finality, text, said)  # after the veto, as `VoiceStream` does
            if silence >= policy.silence_needed_ms(policy.score(model, text, finality, ending), text):
                fire = (silence, asr_done)
                break
        if final:
            silence, asr_done = fire if fire else (2600, None)
            gaps.append(max(silence, asr_done or 0))
            if short:
                short_gaps.append(gaps[-1])
        else:
            n_pauses += 1
            cuts += fire is not None
    median = float(np.median(gaps)) if gaps else 1e9
    return cuts, n_pauses, median, float(np.median(short_gaps)) if short_gaps else median


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


def dev_seeds(parser: argparse.ArgumentParser, text: str) -> list[int]:
    seeds = [int(s) for s in text.split(",")]
    if HELD_OUT & set(seeds):
        parser.error(f"seeds {sorted(HELD_OUT & set(seeds))} are held out (1 is the test split, 4-19 further held-out seeds): tune on 0, 2, 3 or 20-39")
    return seeds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-cuts", type=float, default=0.05)
    parser.add_argument("--completeness", choices=("lm", "words"), default="lm", help="the language-model judge or the word-list baseline")
    parser.add_argument("--traces", type=Path, help="keep the recorded signals in this JSON file and reuse them if it exists")
    parser.add_argument("--unsure", help="sweep logprob:cap candidates of the unsure-last-word rule instead (e.g. '-99:1,-0.6:0.8')")
    parser.add_argument("--hypotheses", type=int, default=ASR_HYPOTHESES, help="Whisper's hypotheses (1: greedy; more: beam search, completeness expected over them)")
    parser.add_argument("--seeds", default="", help="dev seeds to pool instead of --seed (e.g. 0,2,3); --unsure defaults to 0,2,3")
    parser.add_argument("--unfinished", help="replay the committed weights with each ending:cap veto (e.g. '-1:1,0.3:0.7,0.35:0.7')")
    parser.add_argument("--short", action="store_true",
                        help="add short complete utterances (completeness.SHORT_COMPLETE) said whole by each seed's speakers")
    parser.add_argument("--model-weights", type=lambda v: [float(x) for x in v.split(",")], default=[0.0, 0.1, 0.2, 0.3, 0.4],
                        help="Smart Turn weights to search")
    parser.add_argument("--ending-weights", type=lambda v: [float(x) for x in v.split(",")], default=[0.0],
                        help="learned ending weights to search (e.g. 0,0.1,0.2,0.3,0.4)")
    parser.add_argument("--no-veto", action="store_true",
                        help="search without the committed veto of an unfinished-sounding voice (TurnPolicy.unfinished_ending)")
    args = parser.parse_args()
    if args.unsure:
        sweep_unsure(dev_seeds(parser, args.seeds or "0,2,3"), [tuple(map(float, c.split(":"))) for c in args.unsure.split(",")])
        return
    completeness = default() if args.completeness == "lm" else text_completeness
    seeds = dev_seeds(parser, args.seeds or str(args.seed))
    cases = [c for seed in seeds for c in evalset.build(seed, turns=48, emotions=0, echoes=0)]
    if args.short:
        cases += [c for seed in seeds for c in evalset.whole(seed, SHORT_COMPLETE)]
    if args.traces is not None and args.traces.exists():
        tr = json.loads(args.traces.read_text())
    else:
        tr = traces(cases, (SmartTurn(), Asr(hypotheses=args.hypotheses).transcribe), completeness)
        if args.traces is not None:
            args.traces.write_text(json.dumps(tr))
    separation(tr)
    if args.unfinished:
        policy = TurnPolicy()
        w = (policy.w_model, policy.w_text, policy.w_prosody, policy.w_ending)
        sure = None if policy.sure_text is None else (policy.sure_text, policy.sure_silence_ms)
        print("| the voice's ending below | completeness cap | false cuts | gap p50 ms | short utterances p50 ms |")
        print("|---:|---:|---:|---:|---:|")
        for ending, cap in [tuple(map(float, c.split(":"))) for c in args.unfinished.split(",")]:
            cuts, n, median, objective = evaluate(tr, w, policy.steps, sure, (ending, cap))
            print(f"| {ending:g} | {cap:g} | {cuts}/{n} | {median:.0f} | {objective:.0f} |")
        return
    committed = TurnPolicy()
    veto = None if args.no_veto else (committed.unfinished_ending, committed.unfinished_text_cap)
    allowed: list[tuple] = []
    frontier: dict[int, tuple] = {}
    # (Smart Turn, transcript, prosody, learned ending), summing to 1.
    weights = [(a, b, round(1 - a - b - c, 2), c) for a in args.model_weights for c in args.ending_weights
               for b in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0) if a + b + c <= 1.0 + 1e-9]
    levels = LEVELS
    grid = list(itertools.combinations((0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5, 0.45, 0.4, 0.3), len(levels)))
    for w in weights:
        for th in grid:
            steps = tuple(zip(th, levels, strict=True))
            cuts, n, median, objective = evaluate(tr, w, steps, None, veto)
            key = (objective, median, cuts)
            if cuts not in frontier or key < frontier[cuts][0]:
                frontier[cuts] = (key, w, steps, n)
            if cuts <= args.max_cuts * n:
                allowed.append((key, w, steps, n))
    short = any(t[3] for t in tr)
    for cuts in sorted(frontier)[:8]:
        (objective, m, _), w_, st, n = frontier[cuts]
        print(f"  {cuts}/{n} cuts: median {m:.0f} ms" + (f" (short utterances {objective:.0f} ms)" if short else "") + f"  w={w_} steps={st}")
    # Then, for the best few, the silence a transcript the judge is sure of needs, whatever the
    # other signals say (never at the price of more cuts than allowed).
    allowed.sort(key=lambda a: a[0])
    best = None
    for (objective, median, cuts), w, steps, n in allowed[:30] or [frontier[min(frontier)]]:
        options = [((objective, median, cuts), (1.01, 2600))]
        for t in (0.9, 0.95, 0.97, 0.98):
            for silence in (200, 350, 500, 700, 1000):
                c, _, m, o = evaluate(tr, w, steps, (t, silence), veto)
                if c <= max(cuts, args.max_cuts * n):
                    options.append(((o, m, c), (t, silence)))
        key, sure = min(options, key=lambda o: (o[0], -o[1][0], -o[1][1]))
        if best is None or key < best[0]:
            best = (key, w, steps, n, sure)
    (objective, median, cuts), w, steps, n, sure = best
    print(f"best on seeds {seeds}: median gap {median:.0f} ms" + (f" (short utterances {objective:.0f} ms)" if short else "")
          + f" (before language/TTS), false cuts {cuts}/{n}")
    print(f"TurnPolicy(w_model={w[0]}, w_text={w[1]}, w_prosody={w[2]}, w_ending={w[3]}, steps={steps}, sure_text={sure[0] if sure[0] <= 1 else None}, sure_silence_ms={sure[1]})")


if __name__ == "__main__":
    main()
