"""Chat calls skip the SDK's params transform yet put the same bytes on the wire as `create`.

The client posts its already wire-ready messages through `AsyncOpenAI.post` with the
options `with_raw_response.create` would pass; these tests compare the requests of both
paths byte for byte on the real emulator, pin the SDK-private header name the fast path
needs, and check the fallback to `create` still answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest
from openai.resources.chat.completions import AsyncCompletions

import sipai.llm.client as client_module
import sipai.llm.wire as wire_module
from sipai.dev import FakeGroqConfig, FakeGroqHandle, RateLimits, run_fake_groq
from sipai.errors import ModelNotFound, ProviderError, RateLimited
from sipai.llm.client import LLMClient
from sipai.llm.retry import RetryPolicy
from sipai.llm.types import Completion, StreamEnd, TextDelta

from .conftest import chat_requests, user

# Every parameter Sip lets through to the wire, so the key order is exercised in full.
PARAMS: dict[str, Any] = {
    "temperature": 0.3, "top_p": 0.9, "presence_penalty": 0.1, "frequency_penalty": 0.2,
    "max_completion_tokens": 300, "stop": ["FIN"], "reasoning_effort": "low", "seed": 42,
    "user": "tg:6101", "response_format": {"type": "text"},
    "stream_options": {"include_usage": True},
}
MESSAGES = [{"role": "system", "content": "Eres Sip. Responde breve."},
            {"role": "user", "content": "¿Cuánto cuesta el envío a Quito? \"urgente\" 🚚"}]

Sent = list[tuple[list[tuple[bytes, bytes]], bytes]]


def recording_client(make_client: Callable[..., LLMClient], base_url: str
                     ) -> tuple[LLMClient, Sent]:
    """A client whose HTTP layer records each request's headers and body bytes."""
    sent: Sent = []

    async def record(request: httpx.Request) -> None:
        sent.append((list(request.headers.raw), request.content))

    http = httpx.AsyncClient(timeout=10.0, event_hooks={"request": [record]})
    client = make_client(base_url, http_client=http)
    client._owns_http = True  # closed with the client at the end of the test
    return client, sent


async def one_call(client: LLMClient, *, stream: bool, **params: Any) -> Completion:
    """One complete() or stream() call, reduced to its final Completion."""
    if not stream:
        return await client.complete(MESSAGES, **params)  # type: ignore[arg-type]
    end: Completion | None = None
    async for event in client.stream(MESSAGES, **params):  # type: ignore[arg-type]
        if isinstance(event, StreamEnd):
            end = event.completion
    assert end is not None
    return end


def without_create(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the SDK's `create` fail, so a passing call proves the fast path was taken."""

    async def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("chat.completions.create was called")

    monkeypatch.setattr(AsyncCompletions, "create", refuse)


def test_the_sdk_still_has_the_raw_response_header() -> None:
    # If this fails the SDK moved a private name: chat calls fell back to `create` (slower
    # but correct); update `raw_response_header` in sipai/llm/wire.py.
    from openai._constants import RAW_RESPONSE_HEADER

    assert wire_module.raw_response_header() == RAW_RESPONSE_HEADER
    assert wire_module.raw_response_options() == {
        "headers": {RAW_RESPONSE_HEADER: "true"}, "security": {"bearer_auth": True}}


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
async def test_fast_path_sends_the_same_bytes_as_create(
    make_client: Callable[..., LLMClient], fake_groq: FakeGroqHandle,
    monkeypatch: pytest.MonkeyPatch, stream: bool,
) -> None:
    client, sent = recording_client(make_client, fake_groq.base_url)
    fast = await one_call(client, stream=stream, **PARAMS)
    with monkeypatch.context() as patch:
        patch.setattr(client_module, "raw_response_options", lambda: None)
        slow = await one_call(client, stream=stream, **PARAMS)

    assert len(sent) == 2
    (fast_headers, fast_body), (slow_headers, slow_body) = sent
    assert fast_body == slow_body
    assert fast_headers == slow_headers
    body = json.loads(fast_body)
    assert list(body)[:2] == ["messages", "model"]
    assert body["messages"] == MESSAGES
    assert ("stream" in body) is stream
    # The emulator refuses unknown properties (strict_params) and logged the same bodies.
    first, second = chat_requests(fake_groq)
    assert first["status"] == second["status"] == 200
    assert json.dumps(first["body"]) == json.dumps(second["body"])
    assert (fast.text, fast.usage.prompt_tokens, fast.usage.completion_tokens,
            fast.finish_reason) == (slow.text, slow.usage.prompt_tokens,
                                    slow.usage.completion_tokens, slow.finish_reason)


async def test_the_fast_path_answers_without_create(
    make_client: Callable[..., LLMClient], monkeypatch: pytest.MonkeyPatch,
) -> None:
    without_create(monkeypatch)
    async with run_fake_groq(FakeGroqConfig(limits=RateLimits(30, 8000, 1000, 200_000))) as groq:
        client = make_client(groq.base_url)
        done = await client.complete(user("hola"))
        assert done.text == "Echo: hola" and done.usage.prompt_tokens > 0
        assert done.usage.total_time is not None  # Groq's timings, extra fields of `usage`
        assert done.ratelimit is not None and done.ratelimit.remaining_requests == 999
        events = [event async for event in client.stream(user("hola"))]
    assert isinstance(events[0], TextDelta)
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert end.completion.text == "".join(e.text for e in events if isinstance(e, TextDelta))
    assert end.completion.usage.completion_tokens > 0
    assert end.completion.usage.total_time is not None  # Groq's x_groq.usage
    assert end.completion.ratelimit is not None
    assert end.completion.ratelimit.remaining_requests == 998


async def test_the_fast_path_keeps_typed_errors(
    client: LLMClient, fake_groq: FakeGroqHandle, monkeypatch: pytest.MonkeyPatch,
) -> None:
    without_create(monkeypatch)
    with pytest.raises(ModelNotFound):
        await client.complete(user("hola"), model="no-such-model")
    fake_groq.add_fault("429:times=1")
    with pytest.raises(RateLimited) as caught:
        async for _ in client.stream(user("hola"), retry=RetryPolicy(max_retries=0)):
            pass
    assert caught.value.retry_after is not None


async def test_a_pydantic_response_format_goes_through_create(
    client: LLMClient, fake_groq: FakeGroqHandle,
) -> None:
    class Answer(openai.BaseModel):
        text: str

    # `create` refuses a class outright (use `parse`); the fast path must not send it.
    with pytest.raises(ProviderError) as caught:
        await client.complete(user("hola"), response_format=Answer)
    assert isinstance(caught.value.__cause__, TypeError)
    assert "chat.completions.parse()" in str(caught.value.__cause__)
    assert chat_requests(fake_groq) == []
