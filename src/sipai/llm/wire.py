"""Groq's wire format, read and written: raw-response options, usage, reasoning, limits.

The pieces of a chat call that deal with what travels on the wire rather than with the
call's life (the gate, retries, streaming): the options that let the client post a chat
request through the SDK without its parameter transform while still getting the raw
response, and the readers of usage (OpenAI's `usage` or Groq's `x_groq.usage`, with
timings), gpt-oss reasoning and the `x-ratelimit-*` headers of a failed call.
"""

from __future__ import annotations

import functools
from typing import Any

from sipai.llm.types import RateLimitInfo, Usage


@functools.cache
def raw_response_header() -> str | None:
    """The header that makes the SDK answer with its raw response, or None if it moved.

    SDK-private (`openai._constants`): tests/llm/test_wire.py fails if it changes, and
    without it chat calls go through the public `with_raw_response.create`.
    """
    try:
        from openai._constants import RAW_RESPONSE_HEADER
    except ImportError:
        return None
    return RAW_RESPONSE_HEADER if isinstance(RAW_RESPONSE_HEADER, str) else None


def raw_response_options() -> dict[str, Any] | None:
    """The request options `with_raw_response.create` passes to `post` (None: use create)."""
    header = raw_response_header()
    if header is None:
        return None
    return {"headers": {header: "true"}, "security": {"bearer_auth": True}}


def usage_from(usage: Any, x_groq: Any, current: Usage | None = None) -> Usage:
    """Usage from the OpenAI `usage` field, or Groq's `x_groq.usage` (which adds timings)."""
    groq_usage = x_groq.get("usage") if isinstance(x_groq, dict) else None
    prompt = completion = 0
    if usage is not None:
        prompt, completion = usage.prompt_tokens or 0, usage.completion_tokens or 0
    elif isinstance(groq_usage, dict):
        prompt = int(groq_usage.get("prompt_tokens") or 0)
        completion = int(groq_usage.get("completion_tokens") or 0)
    elif current is not None:
        prompt, completion = current.prompt_tokens, current.completion_tokens
    # Streams carry timings in `x_groq.usage`; a non-streamed answer in `usage` itself.
    timings = groq_usage if isinstance(groq_usage, dict) else \
        (getattr(usage, "model_extra", None) or {})
    queue = timings.get("queue_time", current.queue_time if current else None)
    total = timings.get("total_time", current.total_time if current else None)
    return Usage(prompt, completion, queue, total)


def reasoning_of(message: Any) -> str | None:
    """gpt-oss reasoning of a response message (kept apart, never shown), or None."""
    if message is None:
        return None
    value = getattr(message, "reasoning", None) or (message.model_extra or {}).get("reasoning")
    return str(value) if value else None


def ratelimit_of(exc: BaseException) -> RateLimitInfo | None:
    """The `x-ratelimit-*` headers of the response a provider error carries, if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    return RateLimitInfo.from_headers(headers) if headers is not None else None


__all__ = ["ratelimit_of", "raw_response_header", "raw_response_options", "reasoning_of",
           "usage_from"]
