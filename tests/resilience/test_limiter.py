"""The rate limiter: instant under budget, a fair queue over it, never a pointless wait."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis

from sipai.errors import ProviderUnavailable, RateLimited, RequestTooLarge, StreamInterrupted
from sipai.llm.types import RateLimitInfo, Usage
from sipai.resilience.budget import Decision, Limits, MemoryBudgetStore, Settlement
from sipai.resilience.clock import ManualClock
from sipai.resilience.fairness import acting_for
from sipai.resilience.limiter import BudgetExhausted, LimiterPermit, RateLimiter
from sipai.resilience.redis_budget import RedisBudgetStore

MODEL = "openai/gpt-oss-120b"


def exact(**quotas: Any) -> Limits:
    """Quotas without the admission lag, so that levels are round figures."""
    return Limits(**{"lag": 0.0, **quotas})
#: 60 tokens per minute: one token a second, so waits are easy to read.
SLOW = exact(rpm=0, tpm=60, rpd=0, tpd=0)


def limiter_on(clock: ManualClock, limits: Limits = SLOW, **kw: Any) -> RateLimiter:
    """A limiter on the manual clock; without the pad unless asked, so figures stay round."""
    kw.setdefault("pad", 0.0)
    return RateLimiter(MemoryBudgetStore(limits, clock=clock), clock=clock, **kw)


async def test_under_budget_a_call_is_admitted_without_queueing(clock: ManualClock) -> None:
    limiter = limiter_on(clock, exact())
    permits = [await limiter.acquire(MODEL, 200) for _ in range(5)]
    assert all(isinstance(p, LimiterPermit) for p in permits)
    assert limiter.waiting() == 0 and clock.sleepers == 0
    levels = await limiter.store.levels(MODEL)
    assert levels["TPM"] == pytest.approx(7000) and levels["RPM"] == pytest.approx(25)


async def test_waiting_calls_are_served_round_robin_across_users(clock: ManualClock) -> None:
    limiter = limiter_on(clock, max_wait=1_000)
    await limiter.acquire(MODEL, 60)  # the minute's budget is gone
    served: list[str] = []

    async def call(user: str, tag: str) -> None:
        with acting_for(user):
            await limiter.acquire(MODEL, 10)
        served.append(tag)

    tasks = [asyncio.create_task(call("noisy", f"noisy{i}")) for i in range(4)]
    await clock.settle()
    tasks += [asyncio.create_task(call("ana", "ana")), asyncio.create_task(call("ben", "ben"))]
    await clock.settle()
    assert limiter.waiting(MODEL) == 6 and served == []
    await clock.advance(10)
    assert served == ["noisy0"]
    await clock.advance(20)
    assert served == ["noisy0", "ana", "ben"]
    await clock.advance(30)
    assert served == ["noisy0", "ana", "ben", "noisy1", "noisy2", "noisy3"]
    await asyncio.gather(*tasks)
    assert limiter.waiting() == 0


async def test_a_call_that_cannot_go_within_max_wait_fails_at_once(clock: ManualClock) -> None:
    limiter = limiter_on(clock, exact(rpm=0, tpm=0, rpd=1, tpd=0), max_wait=20)
    await limiter.acquire(MODEL, 10)
    with pytest.raises(BudgetExhausted) as caught:
        await limiter.acquire(MODEL, 10)
    error = caught.value
    assert error.scope == "day" and not error.retryable and error.fallback
    assert error.retry_after is not None and error.retry_after > 20
    assert clock.sleepers == 0


async def test_a_queued_call_gives_up_at_its_deadline(clock: ManualClock) -> None:
    limiter = limiter_on(clock, max_wait=25)
    await limiter.acquire(MODEL, 60)
    first = asyncio.create_task(limiter.acquire(MODEL, 20))  # needs 20 s: fine
    second = asyncio.create_task(limiter.acquire(MODEL, 20))  # would be served at 40 s
    await clock.settle()
    await clock.advance(20)
    assert isinstance(first.result(), LimiterPermit)
    await clock.advance(5)
    with pytest.raises(BudgetExhausted) as caught:
        second.result()
    assert caught.value.scope == "minute"
    assert limiter.waiting() == 0


async def test_a_call_larger_than_the_minute_budget_is_a_local_413(clock: ManualClock) -> None:
    limiter = limiter_on(clock, exact(tpm=8000))
    with pytest.raises(RequestTooLarge) as caught:
        await limiter.acquire(MODEL, 9000)
    assert caught.value.model == MODEL
    assert (await limiter.store.levels(MODEL))["TPM"] == pytest.approx(8000)


async def test_a_cancelled_waiter_leaves_the_queue(clock: ManualClock) -> None:
    limiter = limiter_on(clock, max_wait=1_000)
    await limiter.acquire(MODEL, 60)
    leaving = asyncio.create_task(limiter.acquire(MODEL, 30))
    staying = asyncio.create_task(limiter.acquire(MODEL, 30))
    await clock.settle()
    leaving.cancel()
    await clock.settle()
    assert limiter.waiting() == 1
    await clock.advance(30)
    assert isinstance(staying.result(), LimiterPermit)


async def test_a_429_blocks_the_model_and_later_calls_wait_it_out(clock: ManualClock) -> None:
    limiter = limiter_on(clock, exact(), max_wait=60)
    permit = await limiter.acquire(MODEL, 500)
    permit.settle(usage=None, ratelimit=None,
                  error=RateLimited("429", status=429, retry_after=7.0, model=MODEL))
    await limiter.drain()
    levels = await limiter.store.levels(MODEL)
    assert levels["TPM"] == pytest.approx(8000)  # refused calls cost nothing
    assert levels["blocked"] == pytest.approx(7.0)
    waiting = asyncio.create_task(limiter.acquire(MODEL, 500))
    await clock.advance(6.9)
    assert not waiting.done()
    await clock.advance(0.2)
    assert isinstance(waiting.result(), LimiterPermit)


async def test_a_long_retry_after_fails_later_calls_over_to_the_next_model(
        clock: ManualClock) -> None:
    limiter = limiter_on(clock, exact(), max_wait=20)
    permit = await limiter.acquire(MODEL, 500)
    permit.settle(usage=None, ratelimit=None, error=RateLimited(
        "429 per day", status=429, retry_after=3_600.0, scope="day", model=MODEL))
    await limiter.drain()
    with pytest.raises(BudgetExhausted):
        await limiter.acquire(MODEL, 500)
    assert isinstance(await limiter.acquire("openai/gpt-oss-20b", 500), LimiterPermit)


async def test_settling_reconciles_with_headers_and_usage(clock: ManualClock) -> None:
    plain = limiter_on(clock, exact(rpm=0, tpm=8000, rpd=1000, tpd=0))
    permit = await plain.acquire(MODEL, 1500)
    permit.settle(usage=Usage(300, 200), error=None,
                  ratelimit=RateLimitInfo(remaining_requests=500, remaining_tokens=4000))
    await plain.drain()
    levels = await plain.store.levels(MODEL)
    assert levels["TPM"] == pytest.approx(4000) and levels["RPD"] == pytest.approx(500)

    refunding = limiter_on(clock, exact(rpm=0, tpm=8000, rpd=0, tpd=0), refund_unused=True)
    permit = await refunding.acquire(MODEL, 1500)
    permit.settle(usage=Usage(300, 200), ratelimit=None, error=None)
    permit.settle(usage=Usage(300, 200), ratelimit=None, error=None)  # only once
    await refunding.drain()
    assert (await refunding.store.levels(MODEL))["TPM"] == pytest.approx(7500)


async def test_the_pad_is_reserved_and_trued_up_to_the_reported_prompt(
        clock: ManualClock) -> None:
    limiter = limiter_on(clock, exact(rpm=0, tpm=8000, rpd=0, tpd=0), pad=0.02)
    permit = await limiter.acquire(MODEL, 2000, prompt_tokens=1000)
    assert permit.tokens == 2040 and permit.room == 1000
    assert (await limiter.store.levels(MODEL))["TPM"] == pytest.approx(5960)
    # The provider counted 1100 prompt tokens (+ the 1000 of completion room): 2100.
    permit.settle(usage=Usage(1100, 50), ratelimit=None, error=None)
    await limiter.drain()
    assert (await limiter.store.levels(MODEL))["TPM"] == pytest.approx(5900)
    # Without a known split, the reservation stands as it was.
    unknown = await limiter.acquire(MODEL, 2000)
    unknown.settle(usage=Usage(1100, 50), ratelimit=None, error=None)
    await limiter.drain()
    assert (await limiter.store.levels(MODEL))["TPM"] == pytest.approx(3860)


async def test_a_429_the_headers_explain_sets_the_pace_without_a_block(
        clock: ManualClock) -> None:
    limiter = limiter_on(clock, exact(rpm=0, tpm=6000, rpd=0, tpd=0), max_wait=60)
    permit = await limiter.acquire(MODEL, 1000)
    permit.settle(usage=None, error=RateLimited("429 TPM", status=429, retry_after=9.0),
                  ratelimit=RateLimitInfo(remaining_tokens=400))
    await limiter.drain()
    levels = await limiter.store.levels(MODEL)
    assert levels["blocked"] == 0 and levels["TPM"] == pytest.approx(400)
    waiting = asyncio.create_task(limiter.acquire(MODEL, 1000))
    await clock.advance(5.9)  # 600 more tokens take 6 s at 100 a second
    assert not waiting.done()
    await clock.advance(0.2)
    assert isinstance(waiting.result(), LimiterPermit)


async def test_failures_after_admission_keep_their_cost(clock: ManualClock) -> None:
    limiter = limiter_on(clock, exact(rpm=0, tpm=8000, rpd=0, tpd=0))
    permit = await limiter.acquire(MODEL, 1000)
    permit.settle(usage=None, ratelimit=None,
                  error=StreamInterrupted("dropped", model=MODEL))
    second = await limiter.acquire(MODEL, 1000)
    second.settle(usage=None, ratelimit=None,
                  error=ProviderUnavailable("503", status=503, model=MODEL))
    await limiter.drain()
    # The dropped stream was generated (it counts); the 503 was refused (it does not).
    assert (await limiter.store.levels(MODEL))["TPM"] == pytest.approx(7000)


class BrokenStore(MemoryBudgetStore):
    async def try_acquire(self, model: str, tokens: int, *, member: str | None = None
                          ) -> Decision:
        raise ConnectionError("redis is down")

    async def settle(self, model: str, settlement: Settlement) -> None:
        raise ConnectionError("redis is down")


async def test_a_failing_store_lets_calls_through(clock: ManualClock) -> None:
    limiter = RateLimiter(BrokenStore(exact(), clock=clock), clock=clock)
    permits = [await limiter.acquire(MODEL, 5000) for _ in range(3)]  # over budget: unchecked
    assert all(isinstance(p, LimiterPermit) for p in permits)
    permits[0].settle(usage=Usage(1, 1), ratelimit=None, error=None)
    await limiter.drain()
    assert limiter.waiting() == 0


async def test_closing_fails_whoever_still_waits(clock: ManualClock) -> None:
    limiter = limiter_on(clock, max_wait=1_000)
    await limiter.acquire(MODEL, 60)
    waiting = asyncio.create_task(limiter.acquire(MODEL, 30))
    await clock.settle()
    await limiter.aclose()
    with pytest.raises(BudgetExhausted):
        await waiting


@pytest.mark.redis
async def test_two_workers_sharing_redis_never_admit_more_than_the_budget(
        redis: Redis, prefix: str, clock: ManualClock) -> None:
    workers = [RateLimiter(RedisBudgetStore(redis, SLOW, prefix=prefix, clock=clock),
                           clock=clock, max_wait=1_000, pad=0.0, name=f"w{i}")
               for i in range(2)]
    admitted: list[tuple[str, float]] = []

    async def call(worker: int, user: str) -> None:
        with acting_for(user):
            await workers[worker].acquire(MODEL, 15)
        admitted.append((user, clock.now()))

    start = clock.now()
    tasks = [asyncio.create_task(call(i % 2, f"u{i}")) for i in range(12)]
    await clock.settle()
    for _ in range(150):
        await clock.advance(1)
        await asyncio.sleep(0.002)  # real time for the Redis round trips
        if len(admitted) == 12:
            break
    await asyncio.gather(*tasks)
    # 60 tokens at once, then one a second: 12 calls of 15 tokens need 120 s in all.
    for seconds in (0, 30, 60, 90, 120):
        spent = 15 * sum(1 for _, at in admitted if at - start <= seconds)
        assert spent <= 60 + seconds
    assert max(at for _, at in admitted) - start == pytest.approx(120, abs=2)
    assert {user for user, _ in admitted} == {f"u{i}" for i in range(12)}
    assert await workers[0].store.waiting_room(MODEL) == []  # type: ignore[attr-defined]


@pytest.mark.redis
async def test_workers_sharing_redis_serve_customers_in_shared_rounds(
        redis: Redis, prefix: str, clock: ManualClock) -> None:
    """A customer whose messages land on two workers still gets one turn per round."""
    workers = [RateLimiter(RedisBudgetStore(redis, SLOW, prefix=prefix, clock=clock),
                           clock=clock, max_wait=1_000, pad=0.0, name=f"w{i}")
               for i in range(2)]
    await workers[0].acquire(MODEL, 60)  # the minute's budget is gone
    served: list[str] = []

    async def call(worker: int, user: str) -> None:
        with acting_for(user):
            await workers[worker].acquire(MODEL, 10)
        served.append(user)

    tasks = [asyncio.create_task(call(i % 2, "noisy")) for i in range(6)]
    await asyncio.sleep(0.05)  # real time for the tags' round trips
    tasks += [asyncio.create_task(call(0, "quiet1")), asyncio.create_task(call(1, "quiet2"))]
    await asyncio.sleep(0.05)
    for _ in range(100):
        await clock.advance(1)
        await asyncio.sleep(0.002)
        if len(served) == 8:
            break
    await asyncio.gather(*tasks)
    assert set(served[:3]) == {"noisy", "quiet1", "quiet2"}
    assert served[3:] == ["noisy"] * 5
