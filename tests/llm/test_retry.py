"""The retry policy, with the clock controlled: counts, delays, and what is never retried.

The policy's `sleep` records delays instead of waiting and its rng is seeded, so every
delay is asserted exactly (replayed with a Random of the same seed) and within its bounds.
The emulator's request log proves the SDK itself never retries: requests == attempts.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from sipai.dev import FakeGroqConfig, FakeGroqHandle, RateLimits, run_fake_groq
from sipai.errors import (
    AuthenticationError,
    ProviderUnavailable,
    RateLimited,
    RequestTooLarge,
    StreamInterrupted,
)
from sipai.llm.client import LLMClient
from sipai.llm.retry import RetryPolicy
from sipai.llm.types import StreamEnd, TextDelta

from .conftest import FakeSleep, chat_requests, user


def exponential(seed: int, attempts: int, base: float = 0.5, cap: float = 8.0) -> list[float]:
    """The delays equal-jitter backoff must produce for retries 1..attempts with this seed."""
    rng = random.Random(seed)
    out = []
    for n in range(1, attempts + 1):
        ceiling = min(cap, base * 2 ** (n - 1))
        out.append(ceiling / 2 + rng.uniform(0, ceiling / 2))
    return out


async def test_429_retry_after_is_honoured(
    client: LLMClient, fake_groq: FakeGroqHandle, fake_sleep: FakeSleep,
) -> None:
    fake_groq.add_fault("429:times=2,retry_after=3")
    completion = await client.complete(user("hola"))
    assert completion.text == "Echo: hola"
    assert completion.attempts == 3
    assert [r["status"] for r in chat_requests(fake_groq)] == [429, 429, 200]
    assert len(fake_sleep.delays) == 2
    rng = random.Random(7)
    assert fake_sleep.delays == [3 + rng.uniform(0, 0.5), 3 + rng.uniform(0, 0.5)]
    assert all(3.0 <= d <= 3.5 for d in fake_sleep.delays)


async def test_503_backs_off_exponentially_with_jitter(
    make_client: Callable[..., LLMClient], policy: Callable[..., RetryPolicy],
    fake_groq: FakeGroqHandle, fake_sleep: FakeSleep,
) -> None:
    client = make_client(fake_groq.base_url, retry=policy(seed=11, max_retries=6))
    fake_groq.add_fault("503:times=6")
    completion = await client.complete(user("hola"))
    assert completion.attempts == 7
    assert len(chat_requests(fake_groq)) == 7
    assert fake_sleep.delays == pytest.approx(exponential(11, 6))
    for n, delay in enumerate(fake_sleep.delays, start=1):
        ceiling = min(8.0, 0.5 * 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert fake_sleep.delays[-1] <= 8.0  # 0.5·2^5 = 16 is capped at 8


async def test_backoff_is_capped_at_max_delay(
    make_client: Callable[..., LLMClient], policy: Callable[..., RetryPolicy],
    fake_groq: FakeGroqHandle, fake_sleep: FakeSleep,
) -> None:
    retry = policy(seed=3, max_retries=4, base_delay=2.0, max_delay=5.0)
    client = make_client(fake_groq.base_url, retry=retry)
    fake_groq.add_fault("500:times=4")
    await client.complete(user("hola"))
    assert fake_sleep.delays == pytest.approx(exponential(3, 4, base=2.0, cap=5.0))
    assert all(2.5 <= d <= 5.0 for d in fake_sleep.delays[2:])


async def test_gives_up_after_max_retries_with_the_last_error(
    client: LLMClient, fake_groq: FakeGroqHandle, fake_sleep: FakeSleep,
) -> None:
    fake_groq.add_fault("503:times=5")
    with pytest.raises(ProviderUnavailable):
        await client.complete(user("hola"))
    assert len(chat_requests(fake_groq)) == 3  # 1 + max_retries (2); the SDK adds none
    assert len(fake_sleep.delays) == 2
    assert len(fake_groq.pending_faults()) == 1


async def test_413_is_never_retried(
    make_client: Callable[..., LLMClient], fake_sleep: FakeSleep,
) -> None:
    async with run_fake_groq(FakeGroqConfig(limits=RateLimits(0, 500, 0, 0))) as groq:
        client = make_client(groq.base_url)
        with pytest.raises(RequestTooLarge):
            await client.complete(user("hola"), max_completion_tokens=1000)
        assert [r["status"] for r in chat_requests(groq)] == [413]
    assert fake_sleep.delays == []


async def test_401_is_never_retried(
    make_client: Callable[..., LLMClient], fake_sleep: FakeSleep,
) -> None:
    async with run_fake_groq(FakeGroqConfig(api_key="gsk_another0key0entirely")) as groq:
        client = make_client(groq.base_url)
        with pytest.raises(AuthenticationError):
            await client.complete(user("hola"))
        with pytest.raises(AuthenticationError):
            async for _ in client.stream(user("hola")):
                pass
        assert [r["status"] for r in chat_requests(groq)] == [401, 401]
    assert fake_sleep.delays == []


async def test_498_goes_to_the_fallback_not_a_retry(
    client: LLMClient, fake_groq: FakeGroqHandle, fake_sleep: FakeSleep,
) -> None:
    fake_groq.add_fault("498")
    with pytest.raises(Exception, match="flex"):
        await client.complete(user("hola"))
    assert len(chat_requests(fake_groq)) == 1
    assert fake_sleep.delays == []


async def test_retry_after_beyond_the_limit_gives_up_at_once(
    client: LLMClient, fake_groq: FakeGroqHandle, fake_sleep: FakeSleep,
) -> None:
    fake_groq.add_fault("429:retry_after=45")  # max_retry_after is 20 s
    with pytest.raises(RateLimited) as caught:
        await client.complete(user("hola"))
    assert caught.value.retry_after == 45
    assert len(chat_requests(fake_groq)) == 1
    assert fake_sleep.delays == []


async def test_daily_limit_gives_up_at_once(
    make_client: Callable[..., LLMClient], fake_sleep: FakeSleep,
) -> None:
    async with run_fake_groq(FakeGroqConfig(limits=RateLimits(0, 0, 1, 0))) as groq:
        client = make_client(groq.base_url)
        await client.complete(user("hola"))
        with pytest.raises(RateLimited) as caught:
            await client.complete(user("hola"))
        assert len(chat_requests(groq)) == 2
    assert caught.value.scope == "day"
    assert fake_sleep.delays == []


async def test_sdk_does_not_retry_on_its_own(
    client: LLMClient, fake_groq: FakeGroqHandle, policy: Callable[..., RetryPolicy],
) -> None:
    """With the policy's retries off, one failing call is exactly one request."""
    for fault in ("429", "503", "500"):
        fake_groq.reset()
        fake_groq.add_fault(fault + ":times=3")
        with pytest.raises(Exception):  # noqa: B017 - the class is tested elsewhere
            await client.complete(user("hola"), retry=policy(max_retries=0))
        assert len(chat_requests(fake_groq)) == 1, fault


async def test_timeouts_and_dropped_connections_are_retried(
    make_client: Callable[..., LLMClient], fake_groq: FakeGroqHandle, fake_sleep: FakeSleep,
) -> None:
    client = make_client(fake_groq.base_url, timeout=0.3)
    fake_groq.add_fault("timeout:seconds=1")
    fake_groq.add_fault("drop:stream=false")
    completion = await client.complete(user("hola"))
    assert completion.attempts == 3
    # The held request is logged only when the emulator finishes holding it.
    assert fake_groq.stats()["faults_injected"] == {"timeout": 1, "drop": 1}
    assert fake_sleep.delays == pytest.approx(exponential(7, 2))


# -- streams ---------------------------------------------------------------------------

LONG = "[[reasoning=0]] [[len=300]]"


async def collect(client: LLMClient, text: str) -> tuple[list[str], StreamEnd | None]:
    deltas: list[str] = []
    end: StreamEnd | None = None
    async for event in client.stream(user(text)):
        if isinstance(event, TextDelta):
            deltas.append(event.text)
        else:
            end = event
    return deltas, end


async def test_stream_failing_before_its_first_delta_is_retried(
    client: LLMClient, fake_groq: FakeGroqHandle, fake_sleep: FakeSleep,
) -> None:
    fake_groq.add_fault("503:stream=true")
    fake_groq.add_fault("drop:after=1,stream=true")  # only the role chunk got through
    deltas, end = await collect(client, LONG)
    assert end is not None and end.completion.attempts == 3
    assert "".join(deltas) == end.completion.text
    assert len(end.completion.text) == 300
    assert [r["fault"] for r in chat_requests(fake_groq)] == ["over_capacity", "drop", None]
    assert fake_sleep.delays == pytest.approx(exponential(7, 2))


async def test_stream_is_never_retried_after_its_first_delta(
    client: LLMClient, fake_groq: FakeGroqHandle, fake_sleep: FakeSleep,
) -> None:
    fake_groq.add_fault("drop:after=3,stream=true")
    deltas: list[str] = []
    with pytest.raises(StreamInterrupted):
        async for event in client.stream(user(LONG)):
            if isinstance(event, TextDelta):
                deltas.append(event.text)
    assert deltas  # the user saw part of the answer, so it must not be sent again
    assert len(chat_requests(fake_groq)) == 1
    assert fake_sleep.delays == []


async def test_stream_429_before_start_honours_retry_after(
    client: LLMClient, fake_groq: FakeGroqHandle, fake_sleep: FakeSleep,
) -> None:
    fake_groq.add_fault("429:retry_after=2,stream=true")
    _, end = await collect(client, "hola")
    assert end is not None and end.completion.text == "Echo: hola"
    assert len(fake_sleep.delays) == 1 and 2.0 <= fake_sleep.delays[0] <= 2.5


class RecordingGate:
    """A gate that admits everything and records every acquire and settle."""

    def __init__(self) -> None:
        self.acquired: list[tuple[str, int]] = []
        self.settled: list[tuple[str, object]] = []

    async def acquire(self, model: str, tokens: int) -> RecordingGate.Permit:
        self.acquired.append((model, tokens))
        return RecordingGate.Permit(self)

    class Permit:
        def __init__(self, gate: RecordingGate) -> None:
            self.gate = gate

        def settle(self, *, usage: object, ratelimit: object, error: object) -> None:
            self.gate.settled.append(("error", error) if error else ("ok", usage))


async def test_every_attempt_passes_through_the_gate(
    make_client: Callable[..., LLMClient], fake_groq: FakeGroqHandle,
) -> None:
    gate = RecordingGate()
    client = make_client(fake_groq.base_url, gate=gate)
    fake_groq.add_fault("429:times=2,retry_after=1")
    completion = await client.complete(user("hola"), max_completion_tokens=100)
    assert len(gate.acquired) == 3
    model, tokens = gate.acquired[0]
    assert model == "openai/gpt-oss-120b" and tokens > 100  # prompt estimate + max tokens
    assert [kind for kind, _ in gate.settled] == ["error", "error", "ok"]
    assert isinstance(gate.settled[0][1], RateLimited)
    assert gate.settled[2][1] == completion.usage


def test_policy_delays_without_a_server() -> None:
    policy = RetryPolicy(rng=random.Random(5))
    replay = random.Random(5)
    assert policy.delay(RateLimited("x"), 1) == 0.25 + replay.uniform(0, 0.25)  # no header
    assert policy.delay(RateLimited("x", retry_after=20.0), 1) == 20 + replay.uniform(0, 0.5)
    assert policy.delay(RateLimited("x", retry_after=20.01), 1) is None
    assert policy.delay(ProviderUnavailable("x"), 3) is None  # beyond max_retries (2)
    assert policy.delay(RequestTooLarge("x"), 1) is None
    assert policy.delay(AuthenticationError("x"), 1) is None
