"""Voice service configuration (env prefix ROBOSOUL_VOICE_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from robosoul_core.config import EnvConfig
from robosoul_voice.models import ASR_HYPOTHESES


class VoiceConfig(EnvConfig):
    env_prefix: ClassVar[str] = "ROBOSOUL_VOICE_"

    # Deadline of one language turn (its reply streams meanwhile).
    language_timeout_s: float = Field(default=30.0, gt=0, le=300)
    # Threads for speech recognition (Whisper tiny.en, int8).
    asr_threads: int = Field(default=2, ge=1, le=16)
    # Whisper's hypotheses (beam search, 5): how finished a turn reads is expected over them;
    # 1: greedy decoding, cheaper, with its last word's confidence instead (see turn.TurnPolicy).
    asr_hypotheses: int = Field(default=ASR_HYPOTHESES, ge=1, le=5)
    # Text Whisper is given as what came before a turn while the robot sees objects,
    # biasing it towards these words; unset: robosoul_voice.models.DOMAIN_PROMPT; empty: never.
    asr_prompt: str | None = Field(default=None, max_length=500)
    # Threads for the completeness judge (Gemma 3 270M); it runs right after recognition.
    judge_threads: int = Field(default=2, ge=1, le=16)
    # A robot session's voice state is dropped after this long without audio.
    idle_s: float = Field(default=120.0, gt=0)
    max_in_flight: int = Field(default=64, ge=1)
