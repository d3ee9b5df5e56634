"""Language service configuration (env prefix ROBOSOUL_LANGUAGE_)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr, model_validator

from robosoul_core.config import EnvConfig


class LanguageConfig(EnvConfig):
    env_prefix: ClassVar[str] = "ROBOSOUL_LANGUAGE_"

    # "embedded": intent matching + the small model for near ties + templates;
    # "tools": an OpenAI-compatible endpoint with tool calling decides and words the reply.
    backend: Literal["embedded", "tools"] = "embedded"
    # OpenAI-compatible base URL (".../v1"). Embedded: the llama.cpp server of
    # robosoul_language.llm_server; empty runs intent matching alone.
    llm_url: str = ""
    llm_model: str = "gemma-3-270m"
    llm_api_key: SecretStr = SecretStr("")
    # Deadline of one model call.
    llm_timeout_s: float = Field(default=10.0, gt=0, le=120)
    # Tools backend: stream the completion (off for servers that only call tools unstreamed).
    llm_stream: bool = True
    # Embedded: a clause whose two best intents are closer than this asks the small model.
    llm_margin: float = Field(default=0.0, ge=0, le=1)
    # A scene older than this is not used for grounding.
    scene_max_age_s: float = Field(default=30.0, gt=0)
    max_conversations: int = Field(default=10_000, ge=1)
    max_in_flight: int = Field(default=64, ge=1)

    @model_validator(mode="after")
    def _url_for_tools(self):
        if self.backend == "tools" and not self.llm_url:
            raise ValueError("the tools backend needs ROBOSOUL_LANGUAGE_LLM_URL (an OpenAI-compatible endpoint)")
        if self.llm_url and not self.llm_url.startswith(("http://", "https://")):
            raise ValueError("llm_url must start with http:// or https://")
        return self
