"""The official `openai` and `groq` SDKs, unmodified and async, against the emulator."""

from __future__ import annotations

import inspect
import time
from typing import Any

import groq
import openai
import pytest

from sipai.dev import FakeGroqHandle
from sipai.dev.replies import REASONING_TEXT

KEY = "gsk_conformance_0123456789"
MODEL = "openai/gpt-oss-120b"
MESSAGES: Any = [{"role": "system", "content": "Eres Sip."},
                 {"role": "user", "content": "Mi VPN <b>no</b> conecta & ¿qué hago?"}]
SDKS = ["openai", "groq"]


def _client(sdk: str, handle: FakeGroqHandle, key: str = KEY, retries: int = 0) -> Any:
    if sdk == "openai":
        return openai.AsyncOpenAI(base_url=handle.base_url, api_key=key, max_retries=retries)
    return groq.AsyncGroq(base_url=handle.root_url, api_key=key, max_retries=retries)


def _errors(sdk: str) -> Any:
    return openai if sdk == "openai" else groq


def _usage_option(sdk: str) -> dict[str, Any]:
    """`stream_options`: a parameter of the openai SDK, an extra body field for groq's."""
    option = {"stream_options": {"include_usage": True}}
    return option if sdk == "openai" else {"extra_body": option}


def _code(error: Any) -> str:
    """Groq's error code: the openai SDK keeps the inner object, groq's the whole body."""
    body = error.body
    return str(body.get("error", body)["code"])


@pytest.mark.parametrize("sdk", SDKS)
async def test_models_list_and_retrieve(sdk: str, fake_groq: FakeGroqHandle) -> None:
    async with _client(sdk, fake_groq) as client:
        models = await client.models.list()
        ids = [model.id for model in models.data]
        assert ids[:2] == [MODEL, "openai/gpt-oss-20b"]
        model = await client.models.retrieve(MODEL)
        assert model.id == MODEL and model.owned_by == "OpenAI"
        extra = model.model_extra or {}
        assert (extra["context_window"], extra["max_completion_tokens"]) == (131_072, 65_536)
        assert fake_groq.last_request()["path"] == "/openai/v1/models/openai/gpt-oss-120b"


@pytest.mark.parametrize("sdk", SDKS)
async def test_chat_completion_parses_with_reasoning_and_usage(
    sdk: str, fake_groq: FakeGroqHandle
) -> None:
    async with _client(sdk, fake_groq) as client:
        raw = await client.chat.completions.with_raw_response.create(
            model=MODEL, messages=MESSAGES, max_completion_tokens=1000, temperature=0.7,
            top_p=0.95, reasoning_effort="low",
        )
        completion = raw.parse()
        if inspect.isawaitable(completion):  # groq's raw response parses asynchronously
            completion = await completion
    assert raw.headers["x-ratelimit-limit-tokens"] == "8000"
    choice = completion.choices[0]
    assert choice.message.content == "Echo: Mi VPN <b>no</b> conecta & ¿qué hago?"
    reasoning = (choice.message.reasoning if sdk == "groq"
                 else choice.message.model_extra["reasoning"])
    assert reasoning == REASONING_TEXT
    assert choice.finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens > 0
    assert completion.usage.completion_tokens_details is not None
    assert completion.usage.completion_tokens_details.reasoning_tokens > 0
    body = fake_groq.last_request()["body"]
    assert body["messages"] == MESSAGES and body["max_completion_tokens"] == 1000


@pytest.mark.parametrize("sdk", SDKS)
async def test_stream_with_include_usage(sdk: str, fake_groq: FakeGroqHandle) -> None:
    async with _client(sdk, fake_groq) as client:
        stream = await client.chat.completions.create(
            model=MODEL, messages=MESSAGES, stream=True, **_usage_option(sdk),
        )
        content, reasoning, finish, usage, x_groq_usage = "", "", None, None, None
        async for chunk in stream:
            if chunk.usage is not None:
                usage = chunk.usage
            extra = chunk.x_groq if sdk == "groq" else (chunk.model_extra or {}).get("x_groq")
            if extra is not None and (extra.usage if sdk == "groq" else extra.get("usage")):
                x_groq_usage = extra.usage if sdk == "groq" else extra["usage"]
            for choice in chunk.choices:
                delta = choice.delta
                content += delta.content or ""
                piece = (delta.reasoning if sdk == "groq"
                         else (delta.model_extra or {}).get("reasoning"))
                reasoning += piece or ""
                finish = choice.finish_reason or finish
    assert content == "Echo: Mi VPN <b>no</b> conecta & ¿qué hago?"
    assert reasoning == REASONING_TEXT
    assert finish == "stop"
    assert usage is not None and usage.completion_tokens > 0
    assert x_groq_usage is not None


@pytest.mark.parametrize("sdk", SDKS)
async def test_typed_exceptions_for_401_404_400_429_413_503_498(
    sdk: str, fake_groq: FakeGroqHandle
) -> None:
    errors = _errors(sdk)
    async with _client(sdk, fake_groq, key="gsk_x") as client:
        async with _client(sdk, fake_groq, key="not-a-groq-key") as bad_key:
            with pytest.raises(errors.AuthenticationError) as auth:
                await bad_key.chat.completions.create(model=MODEL, messages=MESSAGES)
        assert auth.value.status_code == 401
        assert _code(auth.value) == "invalid_api_key"
        with pytest.raises(errors.NotFoundError) as missing:
            await client.chat.completions.create(model="gpt-oss-120b", messages=MESSAGES)
        assert _code(missing.value) == "model_not_found"
        with pytest.raises(errors.BadRequestError) as retired:
            await client.chat.completions.create(model="llama-3.1-8b-instant",
                                                 messages=MESSAGES)
        assert _code(retired.value) == "model_decommissioned"
        fake_groq.add_fault("429:retry_after=7")
        with pytest.raises(errors.RateLimitError) as limited:
            await client.chat.completions.create(model=MODEL, messages=MESSAGES)
        assert limited.value.response.headers["retry-after"] == "7"
        with pytest.raises(errors.APIStatusError) as too_large:
            await client.chat.completions.create(model=MODEL, messages=MESSAGES,
                                                 max_completion_tokens=9000)
        assert too_large.value.status_code == 413
        fake_groq.add_fault("503")
        with pytest.raises(errors.InternalServerError) as busy:
            await client.chat.completions.create(model=MODEL, messages=MESSAGES)
        assert busy.value.status_code == 503
        fake_groq.add_fault("498")
        with pytest.raises(errors.APIStatusError) as flex:
            await client.chat.completions.create(model=MODEL, messages=MESSAGES,
                                                 service_tier="flex")
        assert flex.value.status_code == 498


@pytest.mark.parametrize("sdk", SDKS)
async def test_mid_stream_error_event_raises_api_error(
    sdk: str, fake_groq: FakeGroqHandle
) -> None:
    errors = _errors(sdk)
    fake_groq.add_fault("error:after=2,message=Service Unavailable")
    async with _client(sdk, fake_groq) as client:
        stream = await client.chat.completions.create(model=MODEL, messages=MESSAGES,
                                                      stream=True)
        seen = 0
        with pytest.raises(errors.APIError) as raised:
            async for _chunk in stream:
                seen += 1
    assert seen == 2
    assert raised.value.message == "Service Unavailable"
    assert raised.value.body == {"message": "Service Unavailable",
                                 "type": "internal_server_error",
                                 "code": "internal_server_error"}


@pytest.mark.parametrize("sdk", SDKS)
async def test_dropped_stream_raises(sdk: str, fake_groq: FakeGroqHandle) -> None:
    fake_groq.add_fault("drop:after=2")
    async with _client(sdk, fake_groq) as client:
        stream = await client.chat.completions.create(model=MODEL, messages=MESSAGES,
                                                      stream=True)
        with pytest.raises(Exception) as raised:  # each SDK has its own type
            async for _chunk in stream:
                pass
    assert "connection" in type(raised.value).__name__.lower() or "protocol" in (
        type(raised.value).__name__.lower())


@pytest.mark.parametrize("sdk", SDKS)
async def test_sdk_retries_honour_retry_after(sdk: str, fake_groq: FakeGroqHandle) -> None:
    fake_groq.add_fault("429:retry_after=1")
    async with _client(sdk, fake_groq, retries=1) as client:
        started = time.perf_counter()
        completion = await client.chat.completions.create(model=MODEL, messages=MESSAGES)
        elapsed = time.perf_counter() - started
    assert completion.choices[0].message.content.startswith("Echo:")
    assert 0.9 <= elapsed < 3
    assert [e["status"] for e in fake_groq.requests()] == [429, 200]


@pytest.mark.parametrize("sdk", SDKS)
async def test_legacy_completion_and_embeddings(sdk: str, fake_groq: FakeGroqHandle) -> None:
    async with _client(sdk, fake_groq) as client:
        if sdk == "openai":
            text = await client.completions.create(model=MODEL, prompt="ping", max_tokens=20)
            assert text.choices[0].text == "Echo: ping"
        vectors = await client.embeddings.create(model="nomic-embed-text-v1_5",
                                                 input=["uno", "dos"])
    assert [len(item.embedding) for item in vectors.data] == [768, 768]
    assert vectors.usage.prompt_tokens == 2
