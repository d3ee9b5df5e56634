"""One client for every language-model backend: the OpenAI chat-completions protocol.

vLLM, llama.cpp's server, Ollama and hosted APIs all speak it, and so does the
embedded default (Gemma 3 270M behind llama.cpp's server in its own process),
so both backends go through this one path. Every call has a deadline; transport
failures and error statuses become Unavailable / DeadlineExceeded with the
endpoint's own message.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from robosoul_core.errors import DeadlineExceeded, InvalidArgument, Unavailable


class ChatClient:
    def __init__(self, base_url: str, model: str, *, api_key: str = "", timeout_s: float = 10.0, transport: httpx.AsyncBaseTransport | None = None):
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.model = model
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=httpx.Timeout(timeout_s), transport=transport)

    async def close(self) -> None:
        await self._http.aclose()

    async def complete(self, messages: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
        """One chat completion (not streamed); returns the first choice's message."""
        body = {"model": self.model, "messages": messages, **params}
        try:
            resp = await self._http.post("/chat/completions", json=body)
        except httpx.TimeoutException:
            raise DeadlineExceeded(f"language model at {self.base_url} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise Unavailable(f"language model at {self.base_url} unreachable: {exc}") from None
        self._raise_for(resp.status_code, resp.text)
        try:
            return resp.json()["choices"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise Unavailable(f"language model at {self.base_url} sent a malformed completion: {resp.text[:200]!r}") from None

    async def stream(self, messages: list[dict[str, Any]], **params: Any) -> AsyncIterator[dict[str, Any]]:
        """A streamed chat completion: the first choice's `delta` of every server-sent event."""
        body = {"model": self.model, "messages": messages, "stream": True, **params}
        try:
            async with self._http.stream("POST", "/chat/completions", json=body) as resp:
                if resp.status_code >= 400:
                    self._raise_for(resp.status_code, (await resp.aread()).decode(errors="replace"))
                async for line in resp.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    try:
                        event = json.loads(data)
                        choices = event.get("choices") or []
                    except (ValueError, AttributeError):
                        raise Unavailable(f"language model at {self.base_url} sent a malformed event: {data[:200]!r}") from None
                    if choices and isinstance(choices[0], dict):
                        yield choices[0].get("delta") or {}
        except httpx.TimeoutException:
            raise DeadlineExceeded(f"language model at {self.base_url} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise Unavailable(f"language model at {self.base_url} unreachable: {exc}") from None

    def _raise_for(self, status: int, text: str) -> None:
        if status < 400:
            return
        detail = text[:300]
        if status in (400, 422):
            raise InvalidArgument(f"language model at {self.base_url} refused the request ({status}): {detail}")
        raise Unavailable(f"language model at {self.base_url} answered {status}: {detail}")
