"""Parameters are checked against the guide's table before anything is sent, and go on the
wire the way Groq wants them (`max_completion_tokens`, never `max_tokens`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sipai.bootstrap import llm_client
from sipai.config import Settings
from sipai.dev import FakeGroqHandle
from sipai.errors import InvalidParameter
from sipai.llm.client import LLMClient
from sipai.llm.params import check_params

from .conftest import MODEL, chat_requests, user

BAD: list[tuple[dict[str, Any], str]] = [
    ({"temperature": 2.1}, "temperature"),
    ({"temperature": -0.1}, "temperature"),
    ({"temperature": "hot"}, "temperature"),
    ({"temperature": float("nan")}, "temperature"),
    ({"top_p": 1.01}, "top_p"),
    ({"top_p": -0.5}, "top_p"),
    ({"presence_penalty": 2.5}, "presence_penalty"),
    ({"frequency_penalty": -2.01}, "frequency_penalty"),
    ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ({"stop": ["ok", ""]}, "stop"),
    ({"n": 2}, "n"),
    ({"n": 0}, "n"),
    ({"logprobs": True}, "logprobs"),
    ({"top_logprobs": 3}, "top_logprobs"),
    ({"logit_bias": {"50256": -100}}, "logit_bias"),
    ({"max_completion_tokens": 0}, "max_completion_tokens"),
    ({"max_completion_tokens": 65_537}, "max_completion_tokens"),
    ({"max_completion_tokens": 10.5}, "max_completion_tokens"),
    ({"max_tokens": -1}, "max_completion_tokens"),
    ({"reasoning_effort": "extreme"}, "reasoning_effort"),
    ({"frobnicate": 1}, "frobnicate"),
]


@pytest.mark.parametrize(("params", "name"), BAD, ids=[str(p) for p, _ in BAD])
async def test_bad_parameter_is_refused_before_sending(
    client: LLMClient, fake_groq: FakeGroqHandle, params: dict[str, Any], name: str,
) -> None:
    with pytest.raises(InvalidParameter) as caught:
        await client.complete(user("hola"), **params)
    assert name in str(caught.value)
    with pytest.raises(InvalidParameter):
        async for _ in client.stream(user("hola"), **params):
            pass
    assert fake_groq.requests() == []


@pytest.mark.parametrize("params", [
    {"temperature": 0.0}, {"temperature": 2.0}, {"top_p": 0.0}, {"top_p": 1},
    {"presence_penalty": -2.0}, {"frequency_penalty": 2.0}, {"stop": "END"},
    {"stop": ["a", "b", "c", "d"]}, {"n": 1}, {"logprobs": False},
    {"max_completion_tokens": 1}, {"max_completion_tokens": 65_536}, {"seed": 42},
])
async def test_edges_of_the_ranges_are_accepted_by_client_and_emulator(
    client: LLMClient, fake_groq: FakeGroqHandle, params: dict[str, Any],
) -> None:
    try:
        await client.complete(user("hola"), **params)
    except Exception as error:  # a 1-token budget is legitimately empty; it was still sent
        assert type(error).__name__ == "EmptyCompletion", error
    statuses = [r["status"] for r in chat_requests(fake_groq)]
    assert statuses and set(statuses) == {200}


async def test_max_completion_tokens_on_the_wire_never_max_tokens(
    client: LLMClient, fake_groq: FakeGroqHandle,
) -> None:
    await client.complete(user("hola"), max_tokens=300)
    async for _ in client.stream(user("hola"), max_completion_tokens=400):
        pass
    first, second = (r["body"] for r in chat_requests(fake_groq))
    assert first["max_completion_tokens"] == 300 and "max_tokens" not in first
    assert second["max_completion_tokens"] == 400 and "max_tokens" not in second


async def test_reasoning_effort_is_passed_through(
    client: LLMClient, fake_groq: FakeGroqHandle,
) -> None:
    thoughts = []
    for effort in ("low", "medium", "high"):
        completion = await client.complete(user("hola"), reasoning_effort=effort)
        assert chat_requests(fake_groq)[-1]["body"]["reasoning_effort"] == effort
        assert completion.reasoning is not None and completion.text == "Echo: hola"
        thoughts.append(len(completion.reasoning))
    # The emulator thinks longer with more effort: the effort really reached it.
    assert thoughts[0] < thoughts[1] < thoughts[2]


async def test_reasoning_effort_is_dropped_for_models_without_reasoning(
    client: LLMClient, fake_groq: FakeGroqHandle,
) -> None:
    model = "meta-llama/llama-4-scout-17b-16e-instruct"
    completion = await client.complete(user("hola"), model=model, reasoning_effort="low")
    assert completion.text == "Echo: hola"
    assert "reasoning_effort" not in chat_requests(fake_groq)[-1]["body"]


async def test_settings_defaults_reach_the_wire(
    groq_settings: Callable[..., Settings], fake_groq: FakeGroqHandle,
) -> None:
    settings = groq_settings(groq_temperature=0.3, groq_top_p=0.9, groq_max_tokens=777,
                             groq_reasoning_effort="medium")
    client = llm_client(settings)
    try:
        await client.complete(user("hola"))
        await client.complete(user("hola"), temperature=1.5)  # a call may override
    finally:
        await client.aclose()
    first, second = (r["body"] for r in chat_requests(fake_groq))
    assert first["model"] == MODEL
    assert (first["temperature"], first["top_p"]) == (0.3, 0.9)
    assert first["max_completion_tokens"] == 777 and "max_tokens" not in first
    assert first["reasoning_effort"] == "medium"
    assert second["temperature"] == 1.5


def test_stop_string_becomes_a_list_and_numbers_become_floats() -> None:
    wire = check_params(MODEL, {"stop": "END", "temperature": 1, "max_tokens": 50})
    assert wire == {"stop": ["END"], "temperature": 1.0, "max_completion_tokens": 50}


async def test_legacy_completions_and_embeddings_pass_through(
    client: LLMClient, fake_groq: FakeGroqHandle,
) -> None:
    text = await client.completions("hola", model="openai/gpt-oss-20b",
                                    max_completion_tokens=50)
    assert text.text == "Echo: hola"
    assert text.usage.prompt_tokens > 0 and text.cost_usd > 0
    legacy = fake_groq.requests(path="/openai/v1/completions")[-1]["body"]
    assert legacy["max_tokens"] == 50  # the legacy endpoint only knows max_tokens
    vectors = await client.embeddings(["wireguard vpn", "wireguard tunnel"],
                                      model="nomic-embed-text-v1_5")
    assert len(vectors) == 2 and len(vectors[0]) == len(vectors[1]) > 0
    cosine = sum(a * b for a, b in zip(vectors[0], vectors[1], strict=True))
    assert cosine > 0  # they share a word
