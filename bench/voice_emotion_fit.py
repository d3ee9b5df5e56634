"""Fit the prosody prototypes of `robosoul_voice.emotion` on the dev split (seed 0) of the voice set.

    python bench/voice_emotion_fit.py [--seed 0]

For every emotion case the speaker is first heard neutral (the baseline), then
with the emotion's prosody; the z-scores of the second utterance against the
first are averaged per emotion. Prints PROTOTYPES to paste into emotion.py; the
benchmark (bench/voice.py) reports the test split (seed 1).
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from robosoul_voice import evalset
from robosoul_voice.models import FRAME, Asr, SmartTurn, Vad
from robosoul_voice.prosody import FEATURES
from robosoul_voice.stream import Transcriber, TurnEnded, VoiceStream


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--emotions", type=int, default=60)
    args = parser.parse_args()
    cases = [c for c in evalset.build(args.seed, turns=0, emotions=args.emotions, echoes=0)]
    smart, asr = SmartTurn(), Asr()
    zs = defaultdict(list)
    for case in cases:
        stream = VoiceStream(vad=Vad(), smart_turn=smart, transcriber=Transcriber(asr, live=False))
        turns = []
        for i in range(0, len(case.audio) - FRAME + 1, FRAME):
            for e in stream.feed(case.audio[i: i + FRAME]):
                if isinstance(e, TurnEnded):
                    # The z-scores as the emotion model saw them (before this turn updated the baseline).
                    turns.append(e)
        if len(turns) >= 2:
            zs[case.emotion].append(turns[-1].z)
    print("PROTOTYPES = {")
    for label in evalset.EMOTION_PROSODY:
        if zs[label]:
            mean = np.mean([[z[k] for k in FEATURES] for z in zs[label]], axis=0)
            print(f'    "{label}": ({", ".join(f"{v:.2f}" for v in mean)}),  # {len(zs[label])} cases')
    print("}")


if __name__ == "__main__":
    main()
