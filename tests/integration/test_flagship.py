"""The flagship story end to end: a person asks the virtual robot at its table to pick up a cube.

Everything is real: the microphone audio goes through the SDK and the gateway to the voice
service (Whisper), the language service grounds "the ... cube" in the scene the perception
service built from the robot's rendered camera frames, motion drives the arm with the
policy on Triton, and the reply comes back as speech. The verdict is the simulator's
ground truth, and one trace holds the whole story.
"""

import asyncio

from robosoul_devstack.flagship import REACH_BODY, Scenario, run_episode
from robosoul_sdk import RoboSoulClient

STORY = {"robosoul-gateway", "robosoul-voice", "robosoul-language", "robosoul-motion"}


async def test_asked_to_pick_up_a_cube_an_arm_without_a_gripper_reaches_it(stack, keys, trace_sink, tmp_path):
    scenario = Scenario.draw(3, REACH_BODY)
    target = scenario.target
    async with RoboSoulClient(stack.gateway_target, keys["alpha"]) as client:
        out = await run_episode(client, stack.nats_url, "alpha", scenario, robot_id="flagship-test", picture=tmp_path / "story.png",
                                patience_s=60.0)
    assert out.success, (out.why, out.heard, out.reply, out.plan)
    assert f"{target.colour} cube" in out.heard.lower() or f"{target.colour} block" in out.heard.lower(), out.heard
    assert out.plan == [f"reach({target.colour}-cube-1)"], out.plan  # the cube perception tracked, nothing else
    assert "no gripper" in out.reply, out.reply  # and it says why it only reaches
    assert out.target_error_mm is not None and out.target_error_mm < 15
    assert out.picture is not None and out.picture.stat().st_size > 10_000

    # One trace: the speech arriving at the gateway -> voice -> language -> the goal -> motion, and the robot's part.
    def roots():
        spans = trace_sink.spans(out.trace_id)
        ids = {s.span_id for s in spans}
        return [s.name for s in spans if s.parent_span_id not in ids]

    for _ in range(60):  # the exporters send in batches (a parent can end after its children): a hang guard
        if trace_sink.services(out.trace_id) >= STORY and "robot.carry_out" in _names(trace_sink, out.trace_id) and len(roots()) == 1:
            break
        await asyncio.sleep(0.5)
    names = _names(trace_sink, out.trace_id)
    assert trace_sink.services(out.trace_id) >= STORY, (trace_sink.services(out.trace_id), names)
    assert {"voice.turn", "voice.end_of_turn", "voice.speak", "gateway.command goal", "gateway.request_actions", "motion.chunk",
            "robot.carry_out"} <= names, names
    assert roots() == ["gateway.forward audio"]  # one tree, rooted where the person began to speak


def _names(sink, trace_id: str) -> set[str]:
    return {s.name for s in sink.spans(trace_id)}
