"""Circuit breakers (memory and Redis): open, probe, close, and what counts as a failure."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from sipai.errors import (
    BadRequest,
    ModelDecommissioned,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    RequestTooLarge,
    StreamInterrupted,
)
from sipai.observability import metrics
from sipai.resilience.breaker import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    Breaker,
    BreakerBoard,
    BreakerConfig,
    CircuitBreaker,
    counts_against,
)
from sipai.resilience.clock import ManualClock
from sipai.resilience.limiter import BudgetExhausted
from sipai.resilience.redis_breaker import RedisCircuitBreaker

CONFIG = BreakerConfig(failure_threshold=3, failure_rate=0.5, window=60, min_calls=6,
                       open_for=10, max_open_for=35, probe_timeout=5)
BreakerFactory = Callable[[str], Breaker]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def make_breaker(request: pytest.FixtureRequest, clock: ManualClock,
                 prefix: str) -> BreakerFactory:
    """Builds a breaker of the parametrized kind on the test's manual clock."""
    if request.param == "memory":
        return lambda model: CircuitBreaker(model, CONFIG, clock=clock)
    redis: Redis = request.getfixturevalue("redis")
    return lambda model: RedisCircuitBreaker(redis, model, CONFIG, prefix=prefix, clock=clock)


def gauge(model: str) -> float:
    value = metrics.REGISTRY.get_sample_value("sip_breaker_state", {"model": model})
    assert value is not None
    return value


async def fail(breaker: Breaker, times: int) -> None:
    for _ in range(times):
        assert await breaker.allow()
        await breaker.record(False)


async def test_consecutive_failures_open_then_a_probe_closes(
        make_breaker: BreakerFactory, clock: ManualClock) -> None:
    breaker = make_breaker("m-consecutive")
    await fail(breaker, 2)
    await breaker.record(True)  # a success resets the streak
    await fail(breaker, 3)
    assert not await breaker.allow()
    assert gauge("m-consecutive") == OPEN
    await clock.advance(9.9)
    assert not await breaker.allow()
    await clock.advance(0.1)
    assert await breaker.allow()  # the probe
    assert gauge("m-consecutive") == HALF_OPEN
    assert not await breaker.allow()  # only one probe at a time
    await breaker.record(True)
    assert gauge("m-consecutive") == CLOSED
    assert await breaker.allow() and await breaker.allow()


async def test_a_failed_probe_reopens_for_longer_up_to_the_cap(
        make_breaker: BreakerFactory, clock: ManualClock) -> None:
    breaker = make_breaker("m-probe")
    await fail(breaker, 3)
    for cooldown in (10, 20, 35, 35):
        await clock.advance(cooldown - 0.01)
        assert not await breaker.allow()
        await clock.advance(0.01)
        assert await breaker.allow()
        await breaker.record(False)
    assert gauge("m-probe") == OPEN


async def test_a_probe_that_never_reports_frees_its_slot(
        make_breaker: BreakerFactory, clock: ManualClock) -> None:
    breaker = make_breaker("m-silent")
    await fail(breaker, 3)
    await clock.advance(10)
    assert await breaker.allow()
    assert not await breaker.allow()
    await clock.advance(5)
    assert await breaker.allow()


async def test_a_high_failure_rate_opens_without_a_streak(
        make_breaker: BreakerFactory, clock: ManualClock) -> None:
    breaker = make_breaker("m-rate")
    for ok in (True, False, True, False, True, False):  # 50% over 6 calls, never 3 in a row
        assert await breaker.allow()
        await breaker.record(ok)
        await clock.advance(1)
    assert not await breaker.allow()


async def test_old_outcomes_leave_the_window(
        make_breaker: BreakerFactory, clock: ManualClock) -> None:
    breaker = make_breaker("m-window")
    for ok in (False, True, False, True, False):
        await breaker.record(ok)
    await clock.advance(61)  # those five are out of the window now
    await breaker.record(False)
    assert await breaker.allow()


async def test_the_board_keeps_one_breaker_per_model(make_breaker: BreakerFactory) -> None:
    board = BreakerBoard(make_breaker)
    assert board("a") is board("a") and board("a") is not board("b")
    await fail(board("a"), 3)
    assert not await board("a").allow() and await board("b").allow()


@pytest.mark.redis
async def test_workers_sharing_redis_see_the_same_state_and_one_probe(
        redis: Redis, prefix: str, clock: ManualClock) -> None:
    one = RedisCircuitBreaker(redis, "shared", CONFIG, prefix=prefix, clock=clock)
    two = RedisCircuitBreaker(redis, "shared", CONFIG, prefix=prefix, clock=clock)
    await fail(one, 3)
    assert not await two.allow()
    assert await two.read_state() == OPEN
    await clock.advance(10)
    assert [await one.allow(), await two.allow()] == [True, False]
    await one.record(True)
    assert await two.allow() and await two.read_state() == CLOSED


async def test_a_breaker_in_an_unreachable_redis_lets_calls_through(
        clock: ManualClock) -> None:
    redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    breaker = RedisCircuitBreaker(redis, "nowhere", CONFIG, clock=clock)
    try:
        await breaker.record(False)
        assert await breaker.allow()
    finally:
        await redis.aclose()


def test_only_health_failures_count() -> None:
    healthy = [RateLimited("429", status=429), BudgetExhausted("queue"),
               RequestTooLarge("413", status=413), BadRequest("400", status=400)]
    unhealthy = [ProviderUnavailable("503", status=503), ProviderTimeout("slow"),
                 StreamInterrupted("drop"), ModelDecommissioned("gone", status=400)]
    assert not any(counts_against(e) for e in healthy)
    assert all(counts_against(e) for e in unhealthy)
