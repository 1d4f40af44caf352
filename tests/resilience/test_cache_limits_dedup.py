"""The answer cache, per-user limits and update de-duplication, in memory and in Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from sipai.resilience.cache import (
    AnswerCache,
    CacheStore,
    MemoryCacheStore,
    RedisCacheStore,
    is_personal,
    normalise_question,
)
from sipai.resilience.clock import ManualClock
from sipai.resilience.dedup import UpdateDeduplicator
from sipai.resilience.fairness import current_caller
from sipai.resilience.user_limits import MemoryUserLimiter, RedisUserLimiter

MODEL = "openai/gpt-oss-120b"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def cache_store(request: pytest.FixtureRequest, clock: ManualClock, prefix: str) -> CacheStore:
    """A cache store of the parametrized kind."""
    if request.param == "memory":
        return MemoryCacheStore(clock=clock)
    return RedisCacheStore(request.getfixturevalue("redis"), prefix=prefix)


def test_questions_are_compared_without_case_accents_punctuation_or_spacing() -> None:
    assert normalise_question("¿Cómo   instalo WireGuard?") == "como instalo wireguard"
    assert normalise_question("COMO INSTALO wireguard") == "como instalo wireguard"
    assert normalise_question("Ｗｉｒｅｇｕａｒｄ!!") == "wireguard"


@pytest.mark.parametrize("text", [
    "mi correo es ana@example.com", "mi pedido 123456 no llega", "llámame al 612 345 678",
    "mi IP es 10.0.0.7", "vless://abc@host:443", "https://example.com/mi-factura",
    "mi clave es yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=",
])
def test_personal_data_is_recognised(text: str) -> None:
    assert is_personal(text)


@pytest.mark.parametrize("text", ["¿Cómo instalo WireGuard en Android?",
                                  "WireGuard connects but no internet", "plan de 3 meses"])
def test_ordinary_questions_are_not_personal(text: str) -> None:
    assert not is_personal(text)


async def test_a_cached_answer_is_shared_for_the_same_question_kb_and_model(
        cache_store: CacheStore) -> None:
    cache = AnswerCache(cache_store, ttl=60)
    key = cache.key("¿Cómo instalo WireGuard?", "es", MODEL, "kb1")
    assert key is not None
    assert key == cache.key("como instalo wireguard", "es", MODEL, "kb1")
    others = {cache.key("como instalo wireguard", "en", MODEL, "kb1"),
              cache.key("como instalo wireguard", "es", "openai/gpt-oss-20b", "kb1"),
              cache.key("como instalo wireguard", "es", MODEL, "kb2")}
    assert key not in others and len(others) == 3
    assert await cache.get(key) is None
    await cache.put(key, {"answer": "Descarga la app…", "model": MODEL})
    assert await cache.get(key) == {"answer": "Descarga la app…", "model": MODEL}


def test_personal_or_long_questions_get_no_key() -> None:
    cache = AnswerCache(MemoryCacheStore(), ttl=60)
    assert cache.key("mi pedido 99812 no llega", "es", MODEL, "kb") is None
    assert cache.key("a" * 301, "es", MODEL, "kb") is None
    assert cache.key("¿?", "es", MODEL, "kb") is None


async def test_memory_entries_expire_and_the_oldest_go_first(clock: ManualClock) -> None:
    store = MemoryCacheStore(max_entries=2, clock=clock)
    await store.set("a", "1", 10)
    await store.set("b", "2", 10)
    assert await store.get("a") == "1"  # "a" is now the most recently used
    await store.set("c", "3", 10)
    assert await store.get("b") is None and await store.get("a") == "1"
    await clock.advance(10)
    assert await store.get("a") is None and len(store) == 1


@pytest.mark.redis
async def test_redis_entries_carry_their_ttl(redis: Redis, prefix: str) -> None:
    cache = AnswerCache(RedisCacheStore(redis, prefix=prefix), ttl=30)
    await cache.put("k", {"answer": "hola"})
    assert 0 < await redis.pttl(f"{prefix}:answer:k") <= 30_000


async def test_an_unreachable_cache_is_a_miss() -> None:
    redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    cache = AnswerCache(RedisCacheStore(redis), ttl=30)
    try:
        await cache.put("k", {"answer": "hola"})
        assert await cache.get("k") is None
    finally:
        await redis.aclose()


UserLimiterFactory = Callable[[int], MemoryUserLimiter | RedisUserLimiter]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def make_user_limiter(request: pytest.FixtureRequest, clock: ManualClock,
                      prefix: str) -> UserLimiterFactory:
    """Builds a per-user limiter of the parametrized kind."""
    if request.param == "memory":
        return lambda per_minute: MemoryUserLimiter(per_minute, clock=clock)
    redis: Redis = request.getfixturevalue("redis")
    return lambda per_minute: RedisUserLimiter(redis, per_minute, prefix=prefix, clock=clock)


async def test_each_user_gets_a_burst_then_one_message_per_interval(
        make_user_limiter: UserLimiterFactory, clock: ManualClock) -> None:
    limiter = make_user_limiter(3)  # 3 a minute: one every 20 s
    assert [await limiter.check("ana") for _ in range(3)] == [0, 0, 0]
    wait = await limiter.check("ana")
    assert wait == pytest.approx(20, abs=0.01)
    assert await limiter.check("ben") == 0  # users do not share an allowance
    assert await limiter.check("ana") == pytest.approx(20, abs=0.01)  # refusals are free
    await clock.advance(20)
    assert await limiter.check("ana") == 0


async def test_checking_a_user_tags_the_turn_for_the_fair_queue(
        make_user_limiter: UserLimiterFactory) -> None:
    limiter = make_user_limiter(10)

    async def turn(user: str) -> str:
        await limiter.check(user)
        await asyncio.sleep(0)
        return current_caller()

    assert await asyncio.gather(turn("ana"), turn("ben")) == ["ana", "ben"]


async def test_memory_user_limits_forget_the_least_recent_users(clock: ManualClock) -> None:
    limiter = MemoryUserLimiter(1, clock=clock, max_users=2)
    await limiter.check("a")
    await limiter.check("b")
    await limiter.check("c")  # "a" is forgotten: a fresh allowance
    assert await limiter.check("a") == 0


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def make_dedup(request: pytest.FixtureRequest, clock: ManualClock,
               prefix: str) -> Callable[[], UpdateDeduplicator]:
    """Builds update de-duplicators (several "workers") of the parametrized kind."""
    if request.param == "memory":
        shared = UpdateDeduplicator(clock=clock, lease=5, ttl=100)
        return lambda: shared
    redis: Redis = request.getfixturevalue("redis")
    return lambda: UpdateDeduplicator(redis=redis, prefix=prefix, lease=5, ttl=100)


async def test_an_update_is_claimed_once_and_released_on_failure(
        make_dedup: Callable[[], UpdateDeduplicator]) -> None:
    one, two = make_dedup(), make_dedup()
    assert await one.claim(1001)
    assert not await two.claim(1001)
    await one.release(1001)
    assert await two.claim(1001)
    await two.done(1001)
    assert not await one.claim(1001)
    assert await one.claim(1002)


async def test_concurrent_deliveries_of_one_update_have_one_winner(
        make_dedup: Callable[[], UpdateDeduplicator]) -> None:
    workers = [make_dedup() for _ in range(8)]
    results = await asyncio.gather(*(w.claim(77) for w in workers))
    assert sorted(results) == [False] * 7 + [True]


async def test_a_lease_runs_out_when_the_worker_dies(clock: ManualClock) -> None:
    dedup = UpdateDeduplicator(clock=clock, lease=5, ttl=100)
    assert await dedup.claim(5)
    await clock.advance(5)
    assert await dedup.claim(5)  # the first worker never finished
    await dedup.done(5)
    await clock.advance(99)
    assert not await dedup.claim(5)
    await clock.advance(1)
    assert await dedup.claim(5)


@pytest.mark.redis
async def test_redis_claims_expire_with_the_lease_then_the_ttl(redis: Redis,
                                                                prefix: str) -> None:
    dedup = UpdateDeduplicator(redis=redis, prefix=prefix, lease=5, ttl=100)
    assert await dedup.claim(9)
    key = f"{prefix}:update:telegram:9"
    assert 0 < await redis.pttl(key) <= 5_000
    await dedup.done(9)
    assert 5_000 < await redis.pttl(key) <= 100_000
