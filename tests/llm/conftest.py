"""Fixtures for the LLM layer's tests: the Groq emulator, clients for it, a controlled clock."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from sipai.dev import FakeGroqHandle
from sipai.llm.client import LLMClient
from sipai.llm.retry import RetryPolicy
from sipai.llm.types import ChatMessage
from tests.conftest import CANARY_KEY

MODEL = "openai/gpt-oss-120b"
KEY = CANARY_KEY


def user(text: str) -> list[ChatMessage]:
    """A one-message chat."""
    return [{"role": "user", "content": text}]


class FakeSleep:
    """An injectable `sleep` that records the delays it was asked for and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def fake_sleep() -> FakeSleep:
    """A fresh recording sleep."""
    return FakeSleep()


@pytest.fixture
def policy(fake_sleep: FakeSleep) -> Callable[..., RetryPolicy]:
    """A retry policy on the recording clock with a seeded rng (seed 7 unless told)."""

    def build(seed: int = 7, **overrides: Any) -> RetryPolicy:
        return RetryPolicy(sleep=fake_sleep, rng=random.Random(seed), **overrides)

    return build


@pytest.fixture
async def make_client(policy: Callable[..., RetryPolicy]
                      ) -> AsyncIterator[Callable[..., LLMClient]]:
    """Build LLMClients for a base URL (closed after the test); retries on the fake clock."""
    clients: list[LLMClient] = []

    def build(base_url: str, **overrides: Any) -> LLMClient:
        values: dict[str, Any] = {"api_key": KEY, "base_url": base_url, "model": MODEL,
                                  "timeout": 10.0, "retry": policy()}
        values.update(overrides)
        client = LLMClient(**values)
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
def client(make_client: Callable[..., LLMClient], fake_groq: FakeGroqHandle) -> LLMClient:
    """A client for the unlimited emulator, retrying on the fake clock."""
    return make_client(fake_groq.base_url)


def chat_requests(groq: FakeGroqHandle) -> list[dict[str, Any]]:
    """The chat-completion requests the emulator received, oldest first."""
    return groq.requests(path="/chat/completions")
