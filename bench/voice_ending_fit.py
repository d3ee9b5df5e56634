"""Train the learned ending model (`robosoul_voice.ending`) and write services/voice/src/robosoul_voice/data/ending.json.

    python bench/voice_ending_fit.py                     # training seeds 1000-1008, as shipped
    python bench/voice_ending_fit.py --check 0,2,3       # and its AUC on voice-set seeds (no training on them)

Each seed's examples are kept in ~/.cache/robosoul/ending (`--cache`), under a key of
the code that makes them (the voice package and this script), so a refit with another
ridge or more seeds only synthesises and recognises what is new.

The training turns (`evalset.training`) are said through the voice service's own
stream (`VoiceStream`, the same voice activity and trimming as live), and every
time it starts recognition after a silence that lasted at least 200 ms the
encoder states are kept: label 1 where the person had finished, 0 where they
went on. Seeds 1000 and up are for training only; the voice set's seeds
(`bench/voice.py`) are not.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np
from voice_tune import auc as pairwise_auc  # bench/voice_tune.py

from robosoul_voice import evalset
from robosoul_voice.ending import PATH, EndingModel
from robosoul_voice.models import FRAME, SAMPLE_RATE, Asr, SmartTurn, Vad
from robosoul_voice.stream import Transcriber, VoiceStream

MIN_PAUSE_S = 0.2  # shorter silences inside words never end a turn: not examples


def examples(cases: list[evalset.Case], asr: Asr, smart: SmartTurn, label: str) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """(features, labels, speakers, seconds of speech) of every recognition the stream started at a pause or at the end."""
    xs, ys, who, seconds = [], [], [], []
    for k, case in enumerate(cases):
        calls: list[tuple[float, np.ndarray, float]] = []
        clock: list[VoiceStream] = []  # the stream, once made: when (audio time) recognition started

        def recognise(audio, calls=calls, clock=clock):
            said = asr.transcribe(audio)
            if said.ending_features is not None:
                calls.append((clock[0].now_s, said.ending_features, len(audio) / SAMPLE_RATE))
            return said

        stream = VoiceStream(vad=Vad(), smart_turn=smart, transcriber=Transcriber(recognise, live=False), completeness=lambda _text: 0.5)
        clock.append(stream)
        for i in range(0, len(case.audio) - FRAME + 1, FRAME):
            stream.feed(case.audio[i: i + FRAME])
        for at, x, speech_s in calls:
            if at >= case.speech_end_s - 0.15:
                final = True
            elif any(p0 - 0.15 <= at <= p1 - MIN_PAUSE_S for p0, p1 in case.pauses):
                final = False
            else:
                continue
            xs.append(x)
            ys.append(float(final))
            who.append(case.speaker)
            seconds.append(speech_s)
        print(f"\r  {label}: {k + 1}/{len(cases)} turns, {len(ys)} examples", end="", file=sys.stderr)
    print(file=sys.stderr)
    return np.array(xs), np.array(ys), who, np.array(seconds)


def cached_examples(seed: int, asr: Asr, smart: SmartTurn, cache: Path | None) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """`examples` of `evalset.training(seed)`, kept in `cache` under a key of the code that makes them
    (every module of the voice package and this script)."""
    import robosoul_voice

    code = sorted(Path(robosoul_voice.__file__).parent.glob("*.py")) + [Path(__file__)]
    key = hashlib.sha256(b"".join(f.read_bytes() for f in code)).hexdigest()[:16]
    path = None if cache is None else cache / f"training-{seed}-{key}.npz"
    if path is not None and path.exists():
        kept = np.load(path, allow_pickle=False)
        return kept["x"], kept["y"], [str(w) for w in kept["who"]], kept["seconds"]
    x, y, who, seconds = examples(evalset.training(seed), asr, smart, f"training seed {seed}")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path.with_suffix(".tmp.npz"), x=x, y=y, who=np.array(who), seconds=seconds)
        path.with_suffix(".tmp.npz").replace(path)
    return x, y, who, seconds


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    return pairwise_auc(list(scores[labels == 1]), list(scores[labels == 0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="1000,1001,1002,1003,1004,1005,1006,1007,1008", help="training seeds (evalset.training)")
    parser.add_argument("--l2", type=float, default=1000.0, help="ridge strength (chosen on dev seeds 0, 2, 3, 20 among 30-3000, before length balancing)")
    parser.add_argument("--check", default="", help="voice-set seeds to report AUC on (evalset.build; nothing is fitted on them)")
    parser.add_argument("--out", default=str(PATH))
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "robosoul" / "ending"), help="where each seed's examples are kept ('' for nowhere)")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    if any(s < 1000 for s in seeds):
        parser.error("training seeds start at 1000: lower seeds are the voice set's")
    asr, smart = Asr(ending=None, keep_ending_features=True), SmartTurn()
    t0 = time.time()
    parts = [cached_examples(s, asr, smart, Path(args.cache) if args.cache else None) for s in seeds]
    x, y, seconds = (np.concatenate([p[i] for p in parts]) for i in (0, 1, 3))
    # Ends and pauses weigh the same within each half second of speech length: length says nothing.
    model = EndingModel.fit(x, y, groups=np.minimum(seconds // 0.5, 8).astype(int), l2=args.l2, meta={
        "trained_by": "bench/voice_ending_fit.py", "seeds": seeds, "l2": args.l2, "examples": len(y), "finished": int(y.sum()),
        "features": "Whisper tiny.en encoder states: mean of the last 25 and last 8 frames of speech and of the 10 after it",
        "balanced": "ends and pauses weigh the same within each 0.5 s of speech length",
        "turns": "evalset.training: every second one written (a capital, a final ? or .); build's speakers and the default Piper voice",
    })
    train_auc = auc(np.array([model(v) for v in x]), y)
    print(f"trained on {len(y)} examples ({int(y.sum())} finished) in {time.time() - t0:.0f} s; training AUC {train_auc:.3f}")
    with open(args.out, "w") as f:
        f.write(model.to_json())
    print(f"wrote {args.out}")
    if args.check:
        check = [int(s) for s in args.check.split(",")]
        cx, cy, who, _ = examples([c for s in check for c in evalset.build(s, emotions=0, echoes=0)], asr, smart, "check")
        scores = np.array([model(v) for v in cx])
        piper = np.array([w.startswith("piper") for w in who])
        print(f"voice set seeds {check}: AUC {auc(scores, cy):.3f} (piper voice {auc(scores[piper], cy[piper]):.3f}, "
              f"espeak-ng voices {auc(scores[~piper], cy[~piper]):.3f}); pauses scored finished (> 0.5) {np.mean(scores[cy == 0] > 0.5):.1%}, "
              f"ends scored unfinished {np.mean(scores[cy == 1] < 0.5):.1%}")


if __name__ == "__main__":
    main()
