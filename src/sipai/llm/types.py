"""Plain values the LLM layer hands out: usage, completions, stream events, rate-limit headers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict


class ChatMessage(TypedDict):
    """One message of a chat request, as the OpenAI wire format has it."""

    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens a call consumed, as the provider reported them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: Groq's `x_groq.usage` timings, in seconds, when present.
    queue_time: float | None = None
    total_time: float | None = None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens,
                     self.completion_tokens + other.completion_tokens)


_GO_UNIT = r"(\d+(?:\.\d+)?)(ns|us|\u00b5s|\u03bcs|ms|h|m|s)"
_GO_PART = re.compile(_GO_UNIT)
_GO_DURATION = re.compile(f"(?:{_GO_UNIT})+")
_GO_SCALE = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "\u00b5s": 1e-6,
             "\u03bcs": 1e-6, "ns": 1e-9}


def parse_go_duration(text: str | None) -> float | None:
    """Seconds in a Go duration (`2m59.56s`, `7.66s`, `250ms`, `800µs`); None if unreadable."""
    if not text:
        return None
    text = text.strip()
    if not _GO_DURATION.fullmatch(text):
        try:
            return float(text)
        except ValueError:
            return None
    return sum(float(value) * _GO_SCALE[unit] for value, unit in _GO_PART.findall(text))


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """Groq's `x-ratelimit-*` headers: requests are per day, tokens per minute."""

    limit_requests: int | None = None
    remaining_requests: int | None = None
    reset_requests: float | None = None
    limit_tokens: int | None = None
    remaining_tokens: int | None = None
    reset_tokens: float | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitInfo | None:
        def integer(name: str) -> int | None:
            value = headers.get(name)
            try:
                return int(float(value)) if value is not None else None
            except ValueError:
                return None

        info = cls(
            limit_requests=integer("x-ratelimit-limit-requests"),
            remaining_requests=integer("x-ratelimit-remaining-requests"),
            reset_requests=parse_go_duration(headers.get("x-ratelimit-reset-requests")),
            limit_tokens=integer("x-ratelimit-limit-tokens"),
            remaining_tokens=integer("x-ratelimit-remaining-tokens"),
            reset_tokens=parse_go_duration(headers.get("x-ratelimit-reset-tokens")),
        )
        return None if info == cls() else info


@dataclass(frozen=True, slots=True)
class Completion:
    """A finished answer from one model call."""

    text: str
    model: str
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    finish_reason: str | None = None
    #: gpt-oss reasoning, kept for diagnostics only: never shown to users.
    reasoning: str | None = None
    latency_s: float = 0.0
    ratelimit: RateLimitInfo | None = None
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of answer text, as it streams."""

    text: str


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The last event of a stream: the whole answer with its usage and cost."""

    completion: Completion


StreamEvent = TextDelta | StreamEnd

#: Extra request parameters (temperature, max_completion_tokens, ...), checked by params.py.
Params = dict[str, Any]
