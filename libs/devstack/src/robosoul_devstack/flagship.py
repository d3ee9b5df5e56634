"""The flagship demo: "please pick up the red cube" — heard, seen, planned, done.

A virtual MuJoCo arm stands at a randomised table (cubes, balls and distractors in
front of it) with a camera, a microphone and a speaker, connected through the SDK
like hardware. A synthetic person asks it to pick up a cube; then, with no help
from this script:

    microphone audio -> gateway -> voice (end of turn, Whisper, emotion)
      -> language (intent, grounded in the scene perception built from the
         robot's camera frames) -> a checked plan, a reply and a motion goal
      -> motion (the generalist policy on Triton) drives the arm
      -> voice speaks the reply on the robot's speaker

An arm with a gripper grasps the cube and lifts it; an arm without one reaches it
(and says it cannot pick it up). This module watches from outside, as a person in
the room would: what the robot heard, saw, said and did, whether the cube really
was lifted or reached (simulator ground truth, not the robot's belief), and the
one trace that covers the whole story.

    python -m robosoul_devstack.flagship --policy build/policy/generalist/policy.onnx   (make demo)
    bench/flagship.py --scenes 20                                                   (make bench-flagship)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nats
import numpy as np
from google.protobuf.message import DecodeError
from opentelemetry import trace

from robosoul.v1 import dialogue_pb2, session_pb2
from robosoul_core import subjects
from robosoul_language.skills import APPROACH_M  # the reach goal: this far above the object's top
from robosoul_sdk import RoboSoulClient
from robosoul_simulation.bodies import known_tags, load_body
from robosoul_simulation.tabletop import Tabletop, random_tabletop
from robosoul_simulation.virtual_robot import VirtualRobot

tracer = trace.get_tracer("robosoul.flagship")

# How a person asks (the object's words go in {obj}).
PHRASES = (
    "please pick up the {obj}",
    "could you pick up the {obj}?",
    "pick up the {obj}, please",
    "can you grab the {obj} for me?",
    "please lift the {obj}",
    "hey robot, pick up the {obj}",
)
OBJECT_WORDS = ("cube", "block")
# The default bodies: one without a gripper (reaches) and one with (grasps and lifts).
REACH_BODY = "rs-arm4"
GRASP_BODY = "gen-s10-5dof-grip"
# Success: the tool tip within this of the point the arm should reach, for this long;
# or (a gripper) the cube this far above where it lay, for this long.
REACH_TOLERANCE_M = 0.02
LIFT_M = 0.05
HOLD_S = 0.5


@dataclass
class Scenario:
    """One randomised scene: a table, what is asked, who asks."""

    seed: int
    tag: str
    table: Tabletop
    phrase: str
    speaker: dict

    @property
    def target(self):
        return self.table.object(self.table.pick)

    @classmethod
    def draw(cls, seed: int, tag: str) -> Scenario:
        from robosoul_voice.evalset import speakers

        rng = np.random.default_rng(seed)
        table = random_tabletop(load_body(tag), seed, n_objects=int(rng.integers(2, 5)), n_distractors=int(rng.integers(0, 3)))
        target = table.object(table.pick)
        words = f"{target.colour} {OBJECT_WORDS[int(rng.integers(len(OBJECT_WORDS)))]}"
        phrase = PHRASES[int(rng.integers(len(PHRASES)))].format(obj=words)
        voices = speakers(rng, 6)
        return cls(seed, tag, table, phrase, voices[int(rng.integers(len(voices)))])


@dataclass
class Outcome:
    """What happened, from the room's point of view (times in seconds from the end of speech)."""

    scenario: Scenario
    success: bool = False
    why: str = ""
    heard: str = ""
    reply: str = ""
    plan: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)
    target_error_mm: float | None = None  # perception's 3-D error on the target
    heard_s: float | None = None
    reply_s: float | None = None
    speech_s: float | None = None
    moving_s: float | None = None
    done_s: float | None = None
    trace_id: str = ""
    picture: Path | None = None

    def stages(self) -> str:
        def t(v):
            return "-" if v is None else f"{v * 1000:.0f} ms"

        return (f"heard {t(self.heard_s)}, reply {t(self.reply_s)}, first speech {t(self.speech_s)}, "
                f"goal {t(self.moving_s)}, done {t(self.done_s)}")


class SceneWatch:
    """The scenes perception publishes for one robot, read from NATS (the room's view, not the robot's)."""

    def __init__(self):
        self.latest: dialogue_pb2.Scene | None = None
        self._sub = None

    async def start(self, nc, tenant: str, robot_id: str) -> None:
        async def on_scene(msg):
            try:
                self.latest = dialogue_pb2.Scene.FromString(msg.data)
            except DecodeError:
                pass  # not the demo's to judge: the service refuses bad scenes

        self._sub = await nc.subscribe(subjects.robot_subject(tenant, robot_id, subjects.SCENE_STREAM), cb=on_scene)

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()

    def sees(self, colour: str, shape: str) -> dialogue_pb2.SceneObject | None:
        objects = self.latest.objects if self.latest is not None else []
        return next((o for o in objects if o.color == colour and o.label == shape and o.HasField("position")), None)


async def _until(condition: Callable[[], bool], guard_s: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + guard_s
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(step)
    return condition()


def _vec(p) -> np.ndarray:
    return np.array([p.x, p.y, p.z])


async def run_episode(
    client: RoboSoulClient,
    nats_url: str,
    tenant: str,
    scenario: Scenario,
    *,
    robot_id: str = "flagship",
    picture: Path | None = None,
    say: Callable[[str], None] = lambda _msg: None,
    patience_s: float = 30.0,
) -> Outcome:
    """Put the robot at the scenario's table, let the person ask, and judge what the robot does."""
    episode = _Episode(client, scenario, robot_id, say)
    await episode.robot.register(replace=True, audio=True)
    nc = await nats.connect(nats_url)
    try:
        await episode.watch.start(nc, tenant, robot_id)
        async with episode.robot:
            episode.room.start(episode.robot.session)
            try:
                await episode.run(picture, patience_s)
            finally:
                await episode.room.stop()
    finally:
        await episode.watch.stop()
        await nc.close()
    return episode.out


class _Episode:
    """One scene: the robot, the room it listens in, what it was told and what it did."""

    def __init__(self, client: RoboSoulClient, scenario: Scenario, robot_id: str, say: Callable[[str], None]):
        from robosoul_devstack.virtual_audio import VirtualRoom
        from robosoul_voice.evalset import Synth

        self.out = Outcome(scenario)
        self.say = say
        self.robot = VirtualRobot(client, robot_id, tag=scenario.tag, table=scenario.table, camera_fps=5)
        self.robot.session.on_reply, self.robot.session.on_event = self._on_reply, self._on_event
        self.room = VirtualRoom(seed=scenario.seed)
        self.watch = SceneWatch()
        self.audio = Synth().say(scenario.phrase, scenario.speaker)
        self.replies: list[tuple[float, session_pb2.Reply]] = []
        self.goals: list[tuple[float, int]] = []  # (monotonic, wall-clock ns) of each goal the brain set
        self.story: trace.SpanContext | None = None

    def _on_reply(self, reply: session_pb2.Reply) -> None:
        self.replies.append((time.monotonic(), reply))
        if reply.seq == 0:  # the SDK runs this inside the reply's trace: the story's trace
            self.story = trace.get_current_span().get_span_context()

    def _on_event(self, event: session_pb2.Event) -> None:
        if event.kind == "goal":
            self.goals.append((time.monotonic(), time.time_ns()))

    async def run(self, picture: Path | None, patience_s: float) -> None:
        out, robot, room, say = self.out, self.robot, self.room, self.say
        scenario = out.scenario
        table, target = scenario.table, scenario.target
        # The robot looks at its table until perception has the cube (ids come on the second sighting).
        if not await _until(lambda: self.watch.sees(target.colour, target.shape) is not None, 60.0, 0.1):
            out.why = f"perception never reported the {target.colour} {target.shape}"
            return
        truth = table.positions(robot.sim.data)
        scene = self.watch.latest
        out.seen = [f"{o.object_id} at ({o.position.x:+.3f}, {o.position.y:+.3f}, {o.position.z:+.3f})" for o in scene.objects]
        seen = self.watch.sees(target.colour, target.shape)
        out.target_error_mm = float(np.linalg.norm(_vec(seen.position) - truth[target.name]) * 1000)
        say(f"perception sees {len(scene.objects)} objects: " + "; ".join(out.seen))
        say(f"the {target.colour} {target.shape} is {out.target_error_mm:.1f} mm from where it really is")
        before = await robot.render_camera()

        room.say(self.audio)
        say(f"the person says {scenario.phrase!r} ({scenario.speaker['name']}, {len(self.audio) / 16000:.1f} s)")
        await _until(lambda: len(room.spoken) > 0, 30.0)
        spoken = room.spoken[0] if room.spoken else time.monotonic()
        # Heard, answered, moving, done: each within the patience.
        if not await _until(lambda: room.heard, patience_s):
            out.why = "the robot never heard the request"
            return
        out.heard, out.heard_s = room.heard[0][1].transcript, room.heard[0][0] - spoken
        say(f"the robot heard {out.heard!r}")
        if not await _until(lambda: any(r.final for _, r in self.replies), patience_s):
            out.why = "no reply"
            return
        first = self.replies[0][1]
        out.reply_s = self.replies[0][0] - spoken
        out.reply = " ".join(r.text for _, r in self.replies)
        out.plan = [f"{s.skill}({s.object_id})" for s in first.plan.steps]
        out.refused = list(first.refused)
        say(f"language planned {out.plan or 'nothing'} and replies {out.reply!r}" + (f" (refused: {out.refused})" if out.refused else ""))
        await _until(lambda: first.utterance_id in room.first_speech, 10.0)
        if first.utterance_id in room.first_speech:
            out.speech_s = room.first_speech[first.utterance_id] - spoken
        if not first.plan.steps:
            out.why = "the plan is empty"
            return
        await _until(lambda: bool(self.goals), 10.0)
        if self.goals:
            out.moving_s = self.goals[0][0] - spoken
        started = self.goals[0][1] if self.goals else time.time_ns()
        done_at = await self._judge(truth[target.name].copy(), patience_s)
        if done_at is not None:
            out.success, out.done_s = True, done_at - spoken
        if self.story is not None and self.story.is_valid:
            out.trace_id = format(self.story.trace_id, "032x")
            # The robot's part of the story, in the same trace as what it heard and planned.
            parent = trace.set_span_in_context(trace.NonRecordingSpan(self.story))
            tracer.start_span("robot.carry_out", context=parent, start_time=started,
                              attributes={"robosoul.plan": ", ".join(out.plan), "robosoul.success": out.success}).end()
        if picture is not None:
            out.picture = _save_picture(picture, before, await robot.render_camera(), scenario, out)

    async def _judge(self, rest: np.ndarray, patience_s: float) -> float | None:
        """When the cube was first lifted (a gripper) or reached (none) and stayed so for HOLD_S; None if never."""
        robot, target, table = self.robot, self.out.scenario.target, self.out.scenario.table
        gripper = robot.arm.gripper is not None
        top = rest + np.array([0.0, 0.0, target.height / 2 + APPROACH_M])

        def done() -> bool:
            if gripper:
                return table.positions(robot.sim.data)[target.name][2] - rest[2] >= LIFT_M
            return float(np.linalg.norm(robot.driver.ee_position() - top)) <= REACH_TOLERANCE_M

        since: float | None = None
        deadline = time.monotonic() + patience_s
        while time.monotonic() < deadline:
            now = time.monotonic()
            if not done():
                since = None
            elif since is None:
                since = now
            elif now - since >= HOLD_S:
                return since
            await asyncio.sleep(0.02)
        lifted = round(float(table.positions(robot.sim.data)[target.name][2] - rest[2]), 3) + 0.0  # no "-0.0"
        self.out.why = (f"the {target.colour} cube is {lifted * 100:.1f} cm above where it lay" if gripper else
                        f"the tool tip ended {np.linalg.norm(robot.driver.ee_position() - top) * 100:.1f} cm from the cube's top")
        return None


def _save_picture(path: Path, before: np.ndarray, after: np.ndarray, scenario: Scenario, out: Outcome) -> Path:
    """Before and after, side by side, with what was said and what happened written on it."""
    import textwrap

    import cv2

    def label(img: np.ndarray, texts: list[str]) -> np.ndarray:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
        lines = [line for text in texts for line in textwrap.wrap(text, 52)][:6]
        for i, line in enumerate(lines):
            y = 28 + 26 * i
            cv2.putText(img, line, (12, y), cv2.FONT_HERSHEY_SIMPLEX, 0.62, (0, 0, 0), 4, cv2.LINE_AA)
            cv2.putText(img, line, (12, y), cv2.FONT_HERSHEY_SIMPLEX, 0.62, (255, 255, 255), 1, cv2.LINE_AA)
        return img

    verdict = ("done" if out.success else f"failed: {out.why}") + f" ({scenario.tag}, scene {scenario.seed})"
    left = label(before, [f"person: \"{scenario.phrase}\"", f"heard: \"{out.heard}\"", f"plan: {', '.join(out.plan)}"])
    right = label(after, [f"robot: \"{out.reply}\"", verdict])
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.concatenate([left, right], axis=1))
    return path


def describe_story(sink, trace_id: str) -> str:
    """The story's trace: every span, in time order, with its service."""
    spans = sorted(sink.spans(trace_id), key=lambda s: s.start_ns)
    if not spans:
        return f"trace {trace_id}: no spans arrived"
    t0 = spans[0].start_ns
    services = sorted({s.service for s in spans})
    lines = [f"trace {trace_id}: {len(spans)} spans across {', '.join(services)}"]
    lines += [f"  {(s.start_ns - t0) / 1e6:8.1f} ms  {s.duration_ms:8.1f} ms  {s.service:<17} {s.name}" for s in spans]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from robosoul_core.config import TelemetryConfig
    from robosoul_core.telemetry import setup_tracing
    from robosoul_devstack.stack import LocalStack, StackConfig
    from robosoul_devstack.trace_sink import TraceSink

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--policy", type=Path, default=Path("build/policy/generalist/policy.onnx"))
    p.add_argument("--work-dir", type=Path, default=Path("build/demo"))
    p.add_argument("--seed", type=int, default=int(time.time()) % 1000)
    p.add_argument("--embodiment", default=REACH_BODY, choices=known_tags(), help=f"the arm (default {REACH_BODY}, no gripper: it reaches; "
                                                          f"{GRASP_BODY} has a gripper and grasps)")
    args = p.parse_args(argv)
    if not args.policy.exists():
        print(f"demo: no policy at {args.policy}; run `make policy` first", file=sys.stderr)
        return 2

    def say(msg: str) -> None:
        print(f"==> {msg}", flush=True)

    sink = TraceSink().start()
    tracing = setup_tracing("virtual-robot", TelemetryConfig(exporter_otlp_endpoint=sink.endpoint, bsp_schedule_delay_s=0.2))
    config = StackConfig(
        work_dir=args.work_dir, policy=args.policy, nats_url=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"),
        otlp_endpoint=sink.endpoint, trace_triton=True, language=True, voice=True, perception=True,
    )
    scenario = Scenario.draw(args.seed, args.embodiment)
    out = None
    started = time.monotonic()
    say("starting RoboSoul: NATS, Triton (policy), motion, gateway, language, voice, perception")
    try:
        with LocalStack(config) as stack:
            say(f"up in {time.monotonic() - started:.1f} s; logs in {stack.logs}")
            key = stack.create_api_key("demo")
            t = scenario.table
            say(f"scene {args.seed}: {scenario.tag} at a table with " + ", ".join(
                f"{o.colour} {o.shape}" for o in t.objects) + f"; the person will ask for the {scenario.target.colour} cube")

            async def go():
                async with RoboSoulClient(stack.gateway_target, key) as client:
                    return await run_episode(client, stack.nats_url, "demo", scenario, picture=args.work_dir / "flagship.png", say=say)

            out = asyncio.run(go())
            tracing.force_flush()
            time.sleep(1.5)  # the services' exporters send their last batch
            verdict = "grasped and lifted" if load_body(scenario.tag).gripper is not None else "reached"
            if out.success:
                say(f"the {scenario.target.colour} cube was {verdict}: {out.stages()} (from the end of speech)")
            else:
                say(f"not done: {out.why} ({out.stages()})")
            if out.picture is not None:
                say(f"picture: {out.picture}")
            if out.trace_id:
                say("the whole story, one trace:")
                print(describe_story(sink, out.trace_id), flush=True)
            say("stopping everything this demo started")
    finally:
        tracing.shutdown()
        sink.stop()
    return 0 if out is not None and out.success else 1


if __name__ == "__main__":
    sys.exit(main())
