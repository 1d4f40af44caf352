"""gpt-oss answers whose content came back empty because reasoning ate the budget.

The client retries once with more room and low effort and returns the text; if that is
still empty it raises EmptyCompletion. A blank answer is never returned.
"""

from __future__ import annotations

from typing import Any

import pytest

from sipai.dev import FakeGroqHandle
from sipai.errors import EmptyCompletion
from sipai.llm.client import LLMClient
from sipai.llm.types import StreamEnd, TextDelta

from .conftest import FakeSleep, chat_requests, user


async def stream_text(client: LLMClient, text: str, **params: Any) -> tuple[str, StreamEnd]:
    parts: list[str] = []
    end: StreamEnd | None = None
    async for event in client.stream(user(text), **params):
        if isinstance(event, TextDelta):
            parts.append(event.text)
        else:
            end = event
    assert end is not None
    return "".join(parts), end


def budgets(groq: FakeGroqHandle) -> list[tuple[object, object]]:
    return [(r["body"].get("max_completion_tokens"), r["body"].get("reasoning_effort"))
            for r in chat_requests(groq)]


async def test_reasoning_only_reply_is_retried_with_more_room_and_low_effort(
    client: LLMClient, fake_groq: FakeGroqHandle, fake_sleep: FakeSleep,
) -> None:
    fake_groq.add_fault("reasoning_only:stream=false")
    completion = await client.complete(user("hola"), max_completion_tokens=200,
                                       reasoning_effort="high")
    assert completion.text == "Echo: hola"
    first, second = budgets(fake_groq)
    assert first == (200, "high")
    assert second[1] == "low"
    assert isinstance(second[0], int) and second[0] > 200
    assert fake_sleep.delays == []  # not a failure to back off from


async def test_still_empty_after_the_retry_is_empty_completion(
    client: LLMClient, fake_groq: FakeGroqHandle,
) -> None:
    fake_groq.add_fault("reasoning_only:times=2,stream=false")
    with pytest.raises(EmptyCompletion) as caught:
        await client.complete(user("hola"), max_completion_tokens=100)
    assert caught.value.model == "openai/gpt-oss-120b"
    assert len(chat_requests(fake_groq)) == 2


async def test_a_budget_too_small_for_the_reasoning_is_widened(
    client: LLMClient, fake_groq: FakeGroqHandle,
) -> None:
    """No fault: the emulator's own reasoning (about 38 tokens) does not fit in 20."""
    completion = await client.complete(user("hola"), max_completion_tokens=20)
    assert completion.text == "Echo: hola"
    assert completion.finish_reason == "stop"
    assert [b for b, _ in budgets(fake_groq)] == [20, 532]


async def test_retry_without_an_effort_asks_for_low_effort(
    client: LLMClient, fake_groq: FakeGroqHandle,
) -> None:
    fake_groq.add_fault("reasoning_only:stream=false")
    await client.complete(user("hola"))
    assert [e for _, e in budgets(fake_groq)] == [None, "low"]


async def test_the_wider_budget_never_exceeds_the_model_limit(
    client: LLMClient, fake_groq: FakeGroqHandle,
) -> None:
    fake_groq.add_fault("reasoning_only:stream=false")
    await client.complete(user("hola"), max_completion_tokens=60_000)
    assert [b for b, _ in budgets(fake_groq)] == [60_000, 65_536]


async def test_streamed_reasoning_only_reply_is_retried(
    client: LLMClient, fake_groq: FakeGroqHandle,
) -> None:
    fake_groq.add_fault("reasoning_only:stream=true")
    text, end = await stream_text(client, "hola", max_completion_tokens=200,
                                  reasoning_effort="medium")
    assert text == end.completion.text == "Echo: hola"
    first, second = budgets(fake_groq)
    assert first == (200, "medium")
    assert second[1] == "low" and isinstance(second[0], int) and second[0] > 200


async def test_streamed_still_empty_is_empty_completion_and_no_text(
    client: LLMClient, fake_groq: FakeGroqHandle,
) -> None:
    fake_groq.add_fault("reasoning_only:times=2,stream=true")
    seen: list[str] = []
    with pytest.raises(EmptyCompletion):
        async for event in client.stream(user("hola"), max_completion_tokens=100):
            if isinstance(event, TextDelta):
                seen.append(event.text)
    assert seen == []
    assert len(chat_requests(fake_groq)) == 2


@pytest.mark.parametrize("stream", [False, True])
async def test_empty_content_for_any_reason_is_never_a_blank_answer(
    client: LLMClient, fake_groq: FakeGroqHandle, stream: bool,
) -> None:
    """A stop string that matches at once leaves the content empty with finish `stop`."""
    with pytest.raises(EmptyCompletion):
        if stream:
            await stream_text(client, "hola", stop=["Echo"])
        else:
            await client.complete(user("hola"), stop=["Echo"])
