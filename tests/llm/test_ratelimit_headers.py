"""Groq's `x-ratelimit-*` headers parsed into `last_ratelimit`: requests per day, tokens
per minute, resets as Go durations."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from sipai.dev import FakeGroqConfig, RateLimits, run_fake_groq
from sipai.llm.client import LLMClient
from sipai.llm.types import RateLimitInfo, StreamEnd, parse_go_duration

from .conftest import KEY, MODEL, user


@pytest.mark.parametrize(("text", "seconds"), [
    ("2m59.56s", 179.56),
    ("7.66s", 7.66),
    ("1m26.4s", 86.4),
    ("250ms", 0.25),
    ("1h2m3s", 3723.0),
    ("23h59m59.9s", 86_399.9),
    ("0s", 0.0),
    ("12", 12.0),
    ("1.5", 1.5),
    ("800µs", 0.0008),
    ("800us", 0.0008),
    ("500ns", 0.0000005),
])
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", [None, "", "soon", "5 minutes", "m5s", "1.2.3s"])
def test_unreadable_durations_are_none(text: str | None) -> None:
    assert parse_go_duration(text) is None


def test_headers_to_info() -> None:
    info = RateLimitInfo.from_headers(httpx.Headers({
        "x-ratelimit-limit-requests": "1000", "x-ratelimit-remaining-requests": "998",
        "x-ratelimit-reset-requests": "2m52.8s", "x-ratelimit-limit-tokens": "8000",
        "x-ratelimit-remaining-tokens": "7412", "x-ratelimit-reset-tokens": "4.41s",
    }))
    assert info == RateLimitInfo(1000, 998, 172.8, 8000, 7412, 4.41)
    assert RateLimitInfo.from_headers(httpx.Headers({})) is None


async def test_last_ratelimit_after_a_call_matches_the_emulator(
    make_client: Callable[..., LLMClient],
) -> None:
    async with run_fake_groq(FakeGroqConfig(limits=RateLimits(30, 8000, 1000, 200_000))) as groq:
        client = make_client(groq.base_url)
        assert client.last_ratelimit is None
        completion = await client.complete(user("hola"), max_completion_tokens=1000)
        info = client.last_ratelimit
        assert info is not None and completion.ratelimit == info
        # Requests are per day (RPD), tokens per minute (TPM).
        assert (info.limit_requests, info.remaining_requests) == (1000, 999)
        prompt = completion.usage.prompt_tokens
        assert info.limit_tokens == 8000
        assert info.remaining_tokens is not None
        assert 8000 - prompt - 1000 <= info.remaining_tokens <= 8000 - prompt - 1000 + 5
        # A day's worth of 1000 requests refills one every 86.4 s ("1m26.4s").
        assert info.reset_requests == pytest.approx(86.4, abs=0.1)
        used = 8000 - info.remaining_tokens
        assert info.reset_tokens == pytest.approx(used / 8000 * 60, abs=0.1)

        # The client's view agrees with what a plain HTTP client reads from the same server.
        async with httpx.AsyncClient() as http:
            response = await http.get(f"{groq.base_url}/models",
                                      headers={"authorization": f"Bearer {KEY}"})
        raw = RateLimitInfo.from_headers(response.headers)
        assert raw is not None and raw.limit_tokens == 8000
        assert raw.reset_tokens is not None
        assert response.headers["x-ratelimit-reset-tokens"].endswith("s")

        async for event in client.stream(user("otra vez"), max_completion_tokens=500):
            if isinstance(event, StreamEnd):
                assert event.completion.ratelimit == client.last_ratelimit
        after = client.last_ratelimit
        assert after is not None and after.remaining_requests == 998
        assert after.remaining_tokens is not None
        assert after.remaining_tokens < info.remaining_tokens  # the stream spent 500+


async def test_no_headers_keeps_last_ratelimit_empty(client: LLMClient) -> None:
    """The unlimited emulator sends no rate-limit headers (like a provider without them)."""
    completion = await client.complete(user("hola"))
    assert completion.ratelimit is None and client.last_ratelimit is None


async def test_minute_reset_is_parsed_from_minutes_and_seconds(
    make_client: Callable[..., LLMClient],
) -> None:
    """With 100 requests a day one request refills in 14m24s: minutes and seconds."""
    async with run_fake_groq(FakeGroqConfig(limits=RateLimits(0, 0, 100, 0))) as groq:
        client = make_client(groq.base_url)
        await client.complete(user("hola"), model=MODEL)
        info = client.last_ratelimit
    assert info is not None
    assert info.limit_requests == 100 and info.remaining_requests == 99
    assert info.reset_requests == pytest.approx(864.0, abs=0.5)  # "14m24s"
