"""The language endpoint: an utterance in; a stop, a checked plan and a streamed reply out.

Order of work for one turn, fastest first:
1. the stop fast path (no model): a Stop goes to the robot before anything else;
2. the backend proposes skill calls; `skills.check` grounds them in the
   latest scene and this robot's abilities (refusals become words);
3. the first sentence goes out with the plan, then the goal of the plan's
   first motion step, then the remaining sentences.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from opentelemetry import trace

from robosoul.bus.v1 import control_pb2, language_pb2
from robosoul.v1 import dialogue_pb2, robot_pb2, session_pb2
from robosoul.v1.tensor_pb2 import Vec3
from robosoul_core.affect import is_set, word_emotion
from robosoul_core.clock import now_timestamp
from robosoul_core.errors import InvalidArgument
from robosoul_core.subjects import check_id, check_tenant
from robosoul_core.validation import validate_scene, validate_user_text
from robosoul_language import replies, skills
from robosoul_language.backends import Backend, TurnContext
from robosoul_language.empathy import EmotionHistory, choose_style
from robosoul_language.stop import is_stop

log = logging.getLogger(__name__)
tracer = trace.get_tracer("robosoul.language")

Publish = Callable[[str, str, control_pb2.RobotCommand], Awaitable[None]]
GetRobot = Callable[[str, str], Awaitable[robot_pb2.Robot]]


@dataclass
class Conversation:
    history: list[tuple[str, str]] = field(default_factory=list)
    emotions: EmotionHistory = field(default_factory=EmotionHistory)
    last_object: str = ""
    held: dict[str, Vec3] = field(default_factory=dict)


class LanguageService:
    def __init__(
        self,
        backend: Backend,
        *,
        get_robot: GetRobot,
        publish: Publish,
        scene_max_age_s: float = 30.0,
        max_conversations: int = 10_000,
        history_turns: int = 12,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._backend = backend
        self._get_robot = get_robot
        self._publish = publish
        self._scene_max_age = scene_max_age_s
        self._max_conversations = max_conversations
        self._history_turns = history_turns
        self._clock = clock
        self._scenes: dict[tuple[str, str], tuple[float, dialogue_pb2.Scene]] = {}
        self._conversations: OrderedDict[tuple[str, str, str], Conversation] = OrderedDict()

    # ------------------------------------------------------------------ scene

    def on_scene(self, tenant: str, robot_id: str, scene: dialogue_pb2.Scene) -> None:
        """The latest scene of a robot (from perception or the vendor); invalid ones are dropped."""
        try:
            check_tenant(tenant)
            check_id(robot_id, "robot_id")
            validate_scene(scene)
        except InvalidArgument as err:
            log.warning("dropped a scene for %s/%s: %s", tenant, robot_id, err.message)
            return
        self._scenes[(tenant, robot_id)] = (self._clock(), scene)

    def scene(self, tenant: str, robot_id: str) -> dialogue_pb2.Scene | None:
        seen = self._scenes.get((tenant, robot_id))
        if seen is None or self._clock() - seen[0] > self._scene_max_age:
            return None
        return seen[1]

    def _conversation(self, key: tuple[str, str, str]) -> Conversation:
        conv = self._conversations.pop(key, None) or Conversation()
        self._conversations[key] = conv  # most recently used last
        while len(self._conversations) > self._max_conversations:
            self._conversations.popitem(last=False)
        return conv

    # ------------------------------------------------------------------ turn

    async def turn(self, req: language_pb2.TurnRequest, headers: dict[str, str] | None = None) -> language_pb2.TurnResult:
        check_tenant(req.tenant)
        check_id(req.robot_id, "robot_id")
        if not req.session_id or len(req.session_id) > 64:
            raise InvalidArgument("session_id must be 1..64 characters")
        validate_user_text(req.utterance, "utterance")
        text, uid = req.utterance.text.strip(), req.utterance.utterance_id
        span = trace.get_current_span()
        span.set_attribute("robosoul.robot_id", req.robot_id)
        span.set_attribute("robosoul.utterance_id", uid)

        fast_stop = is_stop(text)
        if fast_stop:
            # Safety first: the stop leaves before the robot record is even read.
            await self._stop(req, text)
            span.add_event("fast stop")

        robot = await self._get_robot(req.tenant, req.robot_id)
        conv = self._conversation((req.tenant, req.robot_id, req.session_id))
        emotion = req.utterance.emotion if is_set(req.utterance.emotion) else word_emotion(text)
        trend = conv.emotions.add(emotion)
        scene = self.scene(req.tenant, req.robot_id)

        if fast_stop:
            intent, calls, decided_by, words = "stop", [skills.Call("stop")], "fast_stop", None
        else:
            with tracer.start_as_current_span(f"language.decide {self._backend.name}"):
                decision = await self._backend.decide(TurnContext(
                    text=text, emotion=emotion, robot=robot, scene=scene, history=conv.history, holding=sorted(conv.held),
                ))
            intent, calls, decided_by, words = decision.intent, decision.calls, decision.decided_by, decision.words
        unfaithful: list[str] = []
        if decided_by == "tools":  # a model named the objects: hold it to what was said
            reasons = [skills.unfaithful(c, text) for c in calls]
            unfaithful = [r for r in reasons if r]
            calls = [c for c, r in zip(calls, reasons, strict=True) if not r]
        if not fast_stop and (intent == "stop" or any(c.skill == "stop" for c in calls)):
            await self._stop(req, text)  # a paraphrase only the matcher or the model caught: stop now, then answer
        checked = skills.check(calls, robot, scene, last_object=conv.last_object, held=conv.held)
        checked.refused[:0] = unfaithful
        conv.last_object, conv.held = checked.last_object, checked.held
        style = choose_style(emotion, robot.persona, intent=intent)
        plan = session_pb2.Plan(plan_id=f"plan-{uuid.uuid4().hex[:12]}", steps=checked.steps)

        sentences: list[str] = []

        async def say(sentence: str, first: bool, final: bool) -> None:
            reply = session_pb2.Reply(utterance_id=uid, seq=len(sentences), text=sentence, style=style, final=final, transcript=text if first else "")
            if first:
                reply.plan.CopyFrom(plan)
                reply.intent = intent
                reply.emotion.CopyFrom(emotion)
                reply.trend.CopyFrom(trend)
                reply.refused.extend(checked.refused)
            sentences.append(sentence)
            await self._publish(req.tenant, req.robot_id, control_pb2.RobotCommand(reply=reply))

        template = replies.compose(intent=intent, steps=list(checked.steps), refused=checked.refused, emotion=emotion,
                                   history=conv.emotions, robot=robot, scene=scene)
        if words is None or checked.steps or checked.refused:
            for i, sentence in enumerate(template):
                await say(sentence, i == 0, i == len(template) - 1)
                if i == 0:
                    await self._start_motion(req, checked.steps)
        else:
            pending: str | None = None
            async for sentence in words:
                if pending is not None:
                    await say(pending, not sentences, False)
                pending = sentence
            await say(pending if pending is not None else template[0], not sentences, True)

        conv.history.append((text, " ".join(sentences)))
        del conv.history[: -self._history_turns]
        return language_pb2.TurnResult(
            intent=intent, plan=plan, style=style, refused=checked.refused, fast_stop=decided_by == "fast_stop",
            decided_by=decided_by, sentences=sentences,
        )

    async def _stop(self, req: language_pb2.TurnRequest, text: str) -> None:
        await self._publish(req.tenant, req.robot_id, control_pb2.RobotCommand(
            stop=session_pb2.Stop(reason=f"heard {text[:60]!r}", source="language", timestamp=now_timestamp())
        ))

    async def _start_motion(self, req: language_pb2.TurnRequest, steps) -> None:
        """The plan's first motion step becomes the robot's goal (the gateway validates it once more)."""
        first = next((s for s in steps if s.HasField("goal")), None)
        if first is not None and not any(s.skill == "stop" for s in steps):
            await self._publish(req.tenant, req.robot_id, control_pb2.RobotCommand(goal=first.goal))
