"""Streaming: deltas add up to the emulator's deterministic reply, the end carries usage
and cost, and gpt-oss reasoning never leaks into the answer text."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

import pytest

from sipai.dev import FakeGroqHandle
from sipai.dev.replies import REASONING_TEXT
from sipai.llm.catalog import PriceTable
from sipai.llm.client import LLMClient
from sipai.llm.types import StreamEnd, TextDelta

from .conftest import chat_requests, user


async def run_stream(client: LLMClient, text: str, **params: Any
                     ) -> tuple[list[str], StreamEnd]:
    deltas: list[str] = []
    ends: list[StreamEnd] = []
    async for event in client.stream(user(text), **params):
        if isinstance(event, TextDelta):
            assert not ends, "no delta may follow the StreamEnd"
            deltas.append(event.text)
        else:
            ends.append(event)
    assert len(ends) == 1
    return deltas, ends[0]


def tokens(text: str) -> int:
    """The emulator's documented estimate: one token per 4 characters, rounded up."""
    return math.ceil(len(text) / 4)


async def test_deltas_concatenate_to_the_deterministic_reply(client: LLMClient) -> None:
    text = "¿Por qué WireGuard conecta pero no navega? <b>&</b>"
    deltas, end = await run_stream(client, text)
    assert "".join(deltas) == f"Echo: {text}"
    assert end.completion.text == f"Echo: {text}"
    assert end.completion.finish_reason == "stop"
    assert end.completion.model == "openai/gpt-oss-120b"


async def test_long_reply_arrives_in_many_deltas(
    client: LLMClient, fake_groq: FakeGroqHandle,
) -> None:
    deltas, end = await run_stream(client, "[[len=1000]]")
    assert len(deltas) > 10
    assert len("".join(deltas)) == 1000 == len(end.completion.text)


async def test_stream_end_has_usage_and_cost(
    client: LLMClient, fake_groq: FakeGroqHandle,
) -> None:
    text = "hola, mi VPN no conecta"
    _, end = await run_stream(client, text)
    usage = end.completion.usage
    assert usage.prompt_tokens == tokens(text) + 4
    assert usage.completion_tokens == tokens(REASONING_TEXT) + tokens(f"Echo: {text}")
    # Timings only exist in Groq's `x_groq.usage` of the last chunk.
    assert usage.queue_time == pytest.approx(0.0001)
    assert usage.total_time is not None and usage.total_time > 0
    expected = (usage.prompt_tokens * 0.15 + usage.completion_tokens * 0.60) / 1e6
    assert end.completion.cost_usd == pytest.approx(expected)
    body = chat_requests(fake_groq)[-1]["body"]
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


async def test_stream_and_complete_agree_on_usage(client: LLMClient) -> None:
    _, end = await run_stream(client, "same question")
    completion = await client.complete(user("same question"))
    assert end.completion.usage.prompt_tokens == completion.usage.prompt_tokens
    assert end.completion.usage.completion_tokens == completion.usage.completion_tokens
    assert end.completion.cost_usd == pytest.approx(completion.cost_usd)
    assert end.completion.text == completion.text


async def test_cost_follows_the_configured_price_table(
    make_client: Callable[..., LLMClient], fake_groq: FakeGroqHandle,
) -> None:
    client = make_client(fake_groq.base_url,
                         prices=PriceTable({"openai/gpt-oss-20b": (1.0, 2.0)}))
    _, end = await run_stream(client, "hola", model="openai/gpt-oss-20b")
    usage = end.completion.usage
    assert end.completion.cost_usd == pytest.approx(
        (usage.prompt_tokens * 1.0 + usage.completion_tokens * 2.0) / 1e6)


async def test_reasoning_is_kept_apart_from_the_text(client: LLMClient) -> None:
    deltas, end = await run_stream(client, "hola", reasoning_effort="high")
    assert end.completion.reasoning == " ".join([REASONING_TEXT] * 4)
    assert end.completion.text == "Echo: hola"
    assert all("customer asked" not in d for d in deltas)
    completion = await client.complete(user("hola"))
    assert completion.reasoning == REASONING_TEXT
    assert "customer asked" not in completion.text


async def test_non_streamed_usage_and_cost(client: LLMClient) -> None:
    completion = await client.complete(user("hola"))
    assert completion.usage.prompt_tokens == tokens("hola") + 4
    assert completion.usage.completion_tokens == tokens(REASONING_TEXT) + tokens("Echo: hola")
    assert completion.usage.total_time is not None
    assert completion.cost_usd == pytest.approx(
        (completion.usage.prompt_tokens * 0.15 + completion.usage.completion_tokens * 0.6) / 1e6)
    assert completion.latency_s > 0


async def test_caller_stream_options_do_not_break_the_stream(client: LLMClient) -> None:
    _, end = await run_stream(client, "hola", stream_options={"include_usage": True})
    assert end.completion.usage.prompt_tokens > 0


async def wait_idle(groq: FakeGroqHandle, seconds: float = 2.0) -> float:
    """Seconds until the emulator has no response in flight (fails after `seconds`)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while groq.stats()["in_flight"]:
        assert loop.time() - started < seconds, "the abandoned stream is still open"
        await asyncio.sleep(0.02)
    return loop.time() - started


async def test_a_caller_stopping_early_frees_the_connection_at_once(
    client: LLMClient, fake_groq: FakeGroqHandle,
) -> None:
    fake_groq.configure(tps=50)  # 500 tokens: ten seconds if nobody hangs up
    stream = client.stream(user("[[reasoning=0]] [[len=2000]]"))
    async for event in stream:
        assert isinstance(event, TextDelta)
        break
    await stream.aclose()  # type: ignore[attr-defined]
    await wait_idle(fake_groq)
    fake_groq.configure(tps=0)
    _, end = await run_stream(client, "again")
    assert end.completion.text == "Echo: again"


async def test_a_cancelled_stream_frees_the_connection(
    client: LLMClient, fake_groq: FakeGroqHandle,
) -> None:
    fake_groq.configure(tps=50)

    async def consume() -> None:
        async for _ in client.stream(user("[[reasoning=0]] [[len=2000]]")):
            pass

    task = asyncio.get_running_loop().create_task(consume())
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_idle(fake_groq)
