"""Voice to voice through the platform: the end of a person's speech to the first reply audio at the SDK.

    python bench/voice_platform.py --policy build/policy/generalist/policy.onnx [--utterances 30]

The virtual robot's room streams a synthetic person (Piper) into the microphone
in real time through the SDK; the gateway forwards it to the voice service,
which decides the end of the turn, transcribes, asks the language service
(embedded backend) and speaks the reply; the first SpeechAudio chunk arriving
at the SDK ends the measurement. Stages: end-of-turn wait and recognition still
running after it (from the voice service's Heard), language (Heard -> first
Reply at the SDK), speech synthesis of the first piece (first Reply -> first audio).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from stats import pct

from robosoul_devstack.stack import LocalStack, StackConfig
from robosoul_devstack.virtual_audio import VirtualRoom
from robosoul_sdk import RoboSoulClient
from robosoul_simulation.virtual_robot import VirtualRobot
from robosoul_voice.evalset import PLATFORM_PROMPTS as PROMPTS
from robosoul_voice.evalset import trim
from robosoul_voice.models import Tts, resample


async def run(stack: LocalStack, key: str, n: int) -> dict[str, list[float]]:
    tts = Tts(deterministic=True)
    out = {k: [] for k in ("voice to voice", "end-of-turn wait", "recognition after it", "language", "speech synthesis, first piece",
                           "barge-in: person starts -> CancelSpeech at the SDK")}
    async with RoboSoulClient(stack.gateway_target, key) as client:
        robot = VirtualRobot(client, "bench-voice")
        await robot.register(replace=True, audio=True)
        room = VirtualRoom(echo_delay_s=0.1, echo_gain=0.3)
        replies: dict[str, float] = {}
        robot.session.on_reply = lambda r: replies.setdefault(r.utterance_id, time.monotonic())
        async with robot:
            room.start(robot.session)
            room.silence(0.5)
            for i in range(n):
                audio, rate = tts.synthesize(PROMPTS[i % len(PROMPTS)])
                heard_before = len(room.heard)
                room.say(trim(resample(audio, rate)))
                for _ in range(600):
                    if len(room.heard) > heard_before and room.heard[-1][1].utterance_id in room.first_speech:
                        break
                    await asyncio.sleep(0.05)
                else:
                    print(f"  no answer to {PROMPTS[i % len(PROMPTS)]!r}")
                    continue
                heard_at, heard = room.heard[-1]
                spoke_at = room.spoken[-1]
                first_audio = room.first_speech[heard.utterance_id]
                out["voice to voice"].append((first_audio - spoke_at) * 1000)
                out["end-of-turn wait"].append(heard.end_of_turn_s * 1000)
                out["recognition after it"].append(heard.asr_wait_s * 1000)
                out["language"].append((replies.get(heard.utterance_id, heard_at) - heard_at) * 1000)
                out["speech synthesis, first piece"].append((first_audio - replies.get(heard.utterance_id, heard_at)) * 1000)
                if i % 3 == 2 and room.speaking:  # talk over the robot every third reply
                    cancels = len(room.cancelled)
                    await asyncio.sleep(0.3)
                    room.say(trim(resample(*tts.synthesize("Wait, hold on."))))
                    for _ in range(200):
                        if len(room.cancelled) > cancels:
                            break
                        await asyncio.sleep(0.01)
                    if len(room.cancelled) > cancels:
                        out["barge-in: person starts -> CancelSpeech at the SDK"].append((room.cancelled[-1][0] - room.began[-1]) * 1000)
                    await asyncio.sleep(3.0)  # "wait" is also a turn: let it be heard and answered
                for _ in range(600):  # let the robot finish speaking before the next prompt
                    if not room.speaking:
                        break
                    await asyncio.sleep(0.05)
                await asyncio.sleep(1.0)
                print(f"  {i + 1}/{n} {heard.transcript!r}: {out['voice to voice'][-1]:.0f} ms", flush=True)
            await room.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policy", type=Path, required=True)
    parser.add_argument("--utterances", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        with LocalStack(StackConfig(work_dir=Path(tmp), policy=args.policy, language=True, voice=True)) as stack:
            results = asyncio.run(run(stack, stack.create_api_key("bench"), args.utterances))
    total = results["voice to voice"]
    print(f"\n| stage ({len(total)} utterances, 2 CPU cores) | p50 ms | p95 ms |")
    print("|---|---:|---:|")
    for name, values in results.items():
        print(f"| {name} | {pct(values, 50):.0f} | {pct(values, 95):.0f} |")


if __name__ == "__main__":
    main()
