"""A person talks to the virtual robot through its microphone: voice -> language -> speech back,
through the SDK, the gateway, NATS and the real models; the robot's own voice never triggers
it, and talking over the robot stops its reply."""

import asyncio

import numpy as np

from robosoul_devstack.virtual_audio import VirtualRoom
from robosoul_sdk import RoboSoulClient
from robosoul_simulation.virtual_robot import VirtualRobot
from robosoul_voice.evalset import trim
from robosoul_voice.models import Tts, resample


def speech(tts: Tts, text: str) -> np.ndarray:
    audio, rate = tts.synthesize(text)
    return trim(resample(audio, rate))


async def wait_for(condition, *, guard_s: float = 60.0):
    """Poll until `condition()` holds (a hang guard, not a speed limit)."""
    for _ in range(int(guard_s / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition never held")


async def test_talk_to_the_robot_echo_and_barge_in(stack, keys):
    tts = Tts(deterministic=True)
    async with RoboSoulClient(stack.gateway_target, keys["alpha"]) as client:
        robot = VirtualRobot(client, "listener")
        await robot.register(replace=True, audio=True)
        room = VirtualRoom(echo_delay_s=0.12, echo_gain=0.35)
        replies, stops = [], []
        robot.session.on_stop = stops.append
        async with robot:
            room.start(robot.session)
            robot.session.on_reply = replies.append
            room.silence(0.5)
            room.say(speech(tts, "Hello robot, what can you do?"))
            await wait_for(lambda: room.heard)
            assert "what can you do" in room.heard[0][1].transcript.lower()
            first = room.heard[0][1].utterance_id
            await wait_for(lambda: any(r.utterance_id == first and r.final for r in replies) and first in room.first_speech)
            # The robot answers aloud; its own voice comes back through the microphone.
            await wait_for(lambda: not room.speaking)
            await asyncio.sleep(1.5)
            assert len(room.heard) == 1 and not room.cancelled  # its own voice was neither heard nor a barge-in

            room.say(speech(tts, "Tell me what you can do for me."))
            await wait_for(lambda: len(room.heard) == 2)
            second = room.heard[1][1].utterance_id
            await wait_for(lambda: second in room.first_speech)
            await asyncio.sleep(0.4)  # the robot is mid-sentence
            assert room.speaking
            room.say(speech(tts, "Wait, stop!"))
            await wait_for(lambda: room.cancelled)
            assert room.cancelled[0][1] == second and not room.speaking
            await wait_for(lambda: stops)  # "stop" also stops the arm, through the language fast path
            await room.stop()
