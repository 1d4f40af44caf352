"""The budget stores (memory and Redis) meter calls as Groq does, on a manual clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from sipai.resilience.budget import BudgetStore, Limits, MemoryBudgetStore, Settlement
from sipai.resilience.clock import ManualClock
from sipai.resilience.redis_budget import RedisBudgetStore

MODEL = "openai/gpt-oss-120b"


def exact(**quotas: Any) -> Limits:
    """Quotas without the admission lag, so that levels are round figures."""
    return Limits(**{"lag": 0.0, **quotas})
StoreFactory = Callable[[Limits], BudgetStore]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def make_store(request: pytest.FixtureRequest, clock: ManualClock, prefix: str) -> StoreFactory:
    """Builds a budget store of the parametrized kind, on the test's manual clock."""
    if request.param == "memory":
        return lambda limits: MemoryBudgetStore(limits, clock=clock)
    redis: Redis = request.getfixturevalue("redis")
    return lambda limits: RedisBudgetStore(redis, limits, prefix=prefix, clock=clock)


async def test_calls_cost_one_request_and_their_tokens_until_the_minute_is_spent(
        make_store: StoreFactory, clock: ManualClock) -> None:
    store = make_store(exact(rpm=30, tpm=8000, rpd=0, tpd=0))
    for _ in range(3):
        assert (await store.try_acquire(MODEL, 2500)).admitted
    refused = await store.try_acquire(MODEL, 1000)
    assert not refused.admitted and refused.limit == "TPM"
    # 500 tokens left; 500 more come in 500 / (8000/60) = 3.75 s.
    assert refused.wait == pytest.approx(3.75, abs=1e-3)
    levels = await store.levels(MODEL)
    assert levels["TPM"] == pytest.approx(500, abs=0.01) and levels["RPM"] == pytest.approx(27)
    await clock.advance(3.75)
    assert (await store.try_acquire(MODEL, 1000)).admitted


async def test_requests_per_minute_bind_small_calls(make_store: StoreFactory) -> None:
    store = make_store(exact(rpm=2, tpm=8000, rpd=0, tpd=0))
    assert (await store.try_acquire(MODEL, 10)).admitted
    assert (await store.try_acquire(MODEL, 10)).admitted
    refused = await store.try_acquire(MODEL, 10)
    assert refused.limit == "RPM" and refused.wait == pytest.approx(30.0, abs=1e-3)


async def test_a_call_larger_than_a_bucket_can_never_go(make_store: StoreFactory) -> None:
    store = make_store(exact(tpm=8000))
    decision = await store.try_acquire(MODEL, 8001)
    assert decision.too_large and decision.limit == "TPM" and not decision.admitted


async def test_daily_limits_refill_over_a_day(make_store: StoreFactory) -> None:
    store = make_store(exact(rpm=0, tpm=0, rpd=2, tpd=0))
    assert (await store.try_acquire(MODEL, 1)).admitted
    assert (await store.try_acquire(MODEL, 1)).admitted
    refused = await store.try_acquire(MODEL, 1)
    assert refused.limit == "RPD" and refused.wait == pytest.approx(43_200, rel=1e-6)


async def test_time_scale_compresses_the_periods(make_store: StoreFactory) -> None:
    store = make_store(exact(rpm=0, tpm=6000, rpd=0, tpd=0, time_scale=60))
    assert (await store.try_acquire(MODEL, 6000)).admitted
    refused = await store.try_acquire(MODEL, 3000)
    assert refused.wait == pytest.approx(0.5, abs=1e-4)  # half a one-second "minute"


async def test_models_have_separate_budgets(make_store: StoreFactory) -> None:
    store = make_store(exact(rpm=1, tpm=0, rpd=0, tpd=0))
    assert (await store.try_acquire(MODEL, 1)).admitted
    assert (await store.try_acquire("openai/gpt-oss-20b", 1)).admitted
    assert not (await store.try_acquire(MODEL, 1)).admitted


async def test_refunds_give_back_requests_and_tokens(make_store: StoreFactory) -> None:
    store = make_store(exact(rpm=30, tpm=8000, rpd=0, tpd=0))
    admitted = await store.try_acquire(MODEL, 3000)
    await store.settle(MODEL, Settlement(3000, admitted.stamp, refund_tokens=3000,
                                         refund_request=True))
    levels = await store.levels(MODEL)
    assert levels["TPM"] == pytest.approx(8000) and levels["RPM"] == pytest.approx(30)


async def test_headers_only_lower_the_estimate_to_what_the_provider_can_have(
        make_store: StoreFactory, clock: ManualClock) -> None:
    store = make_store(exact(rpm=0, tpm=6000, rpd=1000, tpd=0))
    admitted = await store.try_acquire(MODEL, 1000)
    await clock.advance(3.0)  # 300 tokens flow back meanwhile
    # Someone else uses the key: the provider has only 2000 left when it answered.
    await store.settle(MODEL, Settlement(1000, admitted.stamp, remaining_tokens=2000,
                                         remaining_requests=10))
    levels = await store.levels(MODEL)
    assert levels["TPM"] == pytest.approx(2300, abs=0.01)
    assert levels["RPD"] == pytest.approx(10, abs=0.1)
    # A header showing more than Sip counted does not raise the estimate.
    admitted = await store.try_acquire(MODEL, 100)
    await store.settle(MODEL, Settlement(100, admitted.stamp, remaining_tokens=6000))
    assert (await store.levels(MODEL))["TPM"] == pytest.approx(2200, abs=0.01)


async def test_a_429_blocks_the_model_for_its_retry_after(
        make_store: StoreFactory, clock: ManualClock) -> None:
    store = make_store(exact())
    admitted = await store.try_acquire(MODEL, 100)
    await store.settle(MODEL, Settlement(100, admitted.stamp, refund_tokens=100,
                                         refund_request=True, block_for=5.0))
    blocked = await store.try_acquire(MODEL, 100)
    assert blocked.limit == "blocked" and blocked.wait == pytest.approx(5.0, abs=1e-3)
    assert (await store.levels(MODEL))["blocked"] == pytest.approx(5.0, abs=1e-3)
    await clock.advance(5.0)
    assert (await store.try_acquire(MODEL, 100)).admitted


@pytest.mark.redis
async def test_redis_workers_queue_first_come_first_served(
        redis: Redis, prefix: str, clock: ManualClock) -> None:
    store = RedisBudgetStore(redis, exact(rpm=0, tpm=600, rpd=0, tpd=0), prefix=prefix,
                             clock=clock, grace=1.0)
    assert (await store.try_acquire(MODEL, 600)).admitted
    first = await store.try_acquire(MODEL, 300, member="w1:m")
    assert first.limit == "TPM" and first.wait == pytest.approx(30.0)
    second = await store.try_acquire(MODEL, 10, member="w2:m")
    assert second.limit == "queue"  # w1 waits longer; w2 may not overtake it
    newcomer = await store.try_acquire(MODEL, 1)
    assert newcomer.limit == "queue" and not newcomer.admitted
    assert await store.waiting_room(MODEL) == ["w1:m", "w2:m"]
    await clock.advance(30.0)
    assert not (await store.try_acquire(MODEL, 10, member="w2:m")).admitted
    assert (await store.try_acquire(MODEL, 300, member="w1:m")).admitted
    assert await store.waiting_room(MODEL) == ["w2:m"]
    await store.leave(MODEL, "w2:m")
    assert await store.waiting_room(MODEL) == []


@pytest.mark.redis
async def test_redis_forgets_a_worker_that_stopped_polling(
        redis: Redis, prefix: str, clock: ManualClock) -> None:
    store = RedisBudgetStore(redis, exact(rpm=0, tpm=600, rpd=0, tpd=0), prefix=prefix,
                             clock=clock, grace=1.0)
    assert (await store.try_acquire(MODEL, 600)).admitted
    assert (await store.try_acquire(MODEL, 60, member="dead:m")).wait == pytest.approx(6.0)
    await clock.advance(7.5)  # its announced wait plus the grace have passed
    assert (await store.try_acquire(MODEL, 60, member="alive:m")).admitted
    assert await store.waiting_room(MODEL) == []


@pytest.mark.redis
async def test_redis_keys_expire_on_their_own(redis: Redis, prefix: str) -> None:
    store = RedisBudgetStore(redis, exact(time_scale=60), prefix=prefix)
    assert (await store.try_acquire(MODEL, 10)).admitted
    ttl = await redis.ttl(f"{prefix}:budget:{MODEL}")
    assert 0 < ttl <= 1440 + 60  # the compressed day, plus a minute


async def test_a_call_on_a_full_bucket_also_pays_for_the_refill_lost_on_its_way(
        make_store: StoreFactory, clock: ManualClock) -> None:
    # 6000 TPM is 100 tokens a second; the provider counts a call 0.5 s after Sip does.
    store = make_store(Limits(rpm=0, tpm=6000, rpd=0, tpd=0, lag=0.5))
    assert (await store.try_acquire(MODEL, 1000)).admitted
    # The provider's full bucket could not bank those 50 tokens while the call travelled.
    assert (await store.levels(MODEL))["TPM"] == pytest.approx(4950, abs=0.01)
    assert (await store.try_acquire(MODEL, 1000)).admitted  # far from full: no loss
    assert (await store.levels(MODEL))["TPM"] == pytest.approx(3950, abs=0.01)


@pytest.mark.redis
async def test_redis_a_slow_head_keeps_its_share_but_not_more(
        redis: Redis, prefix: str, clock: ManualClock) -> None:
    store = RedisBudgetStore(redis, exact(rpm=0, tpm=600, rpd=0, tpd=0), prefix=prefix,
                             clock=clock, grace=100.0)
    assert (await store.try_acquire(MODEL, 600)).admitted
    assert (await store.try_acquire(MODEL, 100, member="slow:m", order=1)).limit == "TPM"
    await clock.advance(15)  # 150 tokens: "slow" could go but its worker has not looked yet
    behind = await store.try_acquire(MODEL, 100, member="busy:m", order=2)
    assert behind.limit == "queue" and behind.wait == pytest.approx(5.0)
    await clock.advance(5)  # 200 tokens: enough for both
    assert (await store.try_acquire(MODEL, 100, member="busy:m", order=2)).admitted
    assert (await store.try_acquire(MODEL, 100, member="slow:m", order=1)).admitted
