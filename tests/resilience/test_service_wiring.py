"""The composition root wires the resilience parts into the real service path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from sipai.bootstrap import Sip, build_sip
from sipai.config import Settings
from sipai.dev import FakeGroqConfig, FakeGroqHandle, RateLimits, run_fake_groq
from sipai.knowledge.base import KnowledgeBase
from sipai.resilience.assembly import limits_from
from sipai.resilience.breaker import CircuitBreaker
from sipai.resilience.budget import MemoryBudgetStore
from sipai.resilience.cache import AnswerCache, MemoryCacheStore, RedisCacheStore
from sipai.resilience.limiter import RateLimiter
from sipai.resilience.redis_breaker import RedisCircuitBreaker
from sipai.resilience.redis_budget import RedisBudgetStore
from sipai.resilience.user_limits import MemoryUserLimiter, RedisUserLimiter
from sipai.support.service import ask
from sipai.support.texts import text

from .helpers import PRIMARY, QUICK, UNLIMITED, assert_kept, calls, take_turn


@pytest.fixture(scope="session")
async def kb() -> KnowledgeBase:
    """The bundled knowledge base, indexed once."""
    return await KnowledgeBase.open(None)  # type: ignore[arg-type]


@pytest.fixture
async def sip(groq_settings: Callable[..., Settings], kb: KnowledgeBase) -> AsyncIterator[Sip]:
    built = await build_sip(groq_settings(**UNLIMITED, **QUICK), kb=kb)
    try:
        yield built
    finally:
        await built.aclose()


async def test_without_redis_every_part_lives_in_the_process(sip: Sip) -> None:
    parts = sip.resilience
    assert parts is not None and parts.redis is None
    assert sip.client is not None and sip.client.gate is parts.limiter
    assert isinstance(parts.limiter.store, MemoryBudgetStore)
    assert isinstance(parts.breakers(PRIMARY), CircuitBreaker)
    assert isinstance(parts.users, MemoryUserLimiter)
    assert sip.deps.user_limiter is parts.users
    assert isinstance(sip.deps.cache, AnswerCache)
    assert isinstance(sip.deps.cache.store, MemoryCacheStore)


@pytest.mark.redis
async def test_with_a_redis_url_every_part_is_shared(
        groq_settings: Callable[..., Settings], kb: KnowledgeBase) -> None:
    url = "redis://127.0.0.1:6379/14"  # a database of its own: this Sip uses the "sip" prefix
    sip = await build_sip(groq_settings(**UNLIMITED, **QUICK, sip_redis_url=url), kb=kb)
    try:
        parts = sip.resilience
        assert parts is not None and parts.redis is not None
        assert isinstance(parts.limiter.store, RedisBudgetStore)
        assert isinstance(parts.breakers(PRIMARY), RedisCircuitBreaker)
        assert isinstance(parts.users, RedisUserLimiter)
        assert isinstance(sip.deps.cache, AnswerCache)
        assert isinstance(sip.deps.cache.store, RedisCacheStore)
        turn = await take_turn(sip, "redis-user", "¿cómo instalo WireGuard?", streaming=False)
        assert turn.reply.route == "primary"
        assert await parts.redis.exists(f"sip:budget:{PRIMARY}")
    finally:
        await sip.aclose()
        cleanup = Redis.from_url(url)
        keys = [k async for k in cleanup.scan_iter(match="sip:*")]
        if keys:
            await cleanup.delete(*keys)
        await cleanup.aclose()


async def test_a_first_question_is_answered_once_then_from_the_cache(
        sip: Sip, fake_groq: FakeGroqHandle) -> None:
    first = await take_turn(sip, "ana", "¿Cómo instalo WireGuard en Android?", streaming=False)
    again = await take_turn(sip, "ben", "como instalo wireguard en android", streaming=True)
    assert first.reply.route == "primary" and again.reply.route == "cache"
    assert again.reply.answer == first.reply.answer
    assert_kept(again, "como instalo wireguard en android")
    assert calls(fake_groq.requests(), PRIMARY) == 1
    # Ana's next message has her conversation behind it: never from the shared cache.
    follow = await take_turn(sip, "ana", "como instalo wireguard en android", streaming=False)
    assert follow.reply.route == "primary"
    assert calls(fake_groq.requests(), PRIMARY) == 2


async def test_personal_first_questions_are_never_cached(
        sip: Sip, fake_groq: FakeGroqHandle) -> None:
    for user in ("carla", "dani"):
        turn = await take_turn(sip, user, "mi pedido 558812 no llega", streaming=False)
        assert turn.reply.route == "primary"
    assert calls(fake_groq.requests(), PRIMARY) == 2


async def test_a_user_writing_too_fast_gets_a_polite_wait_without_a_model_call(
        groq_settings: Callable[..., Settings], kb: KnowledgeBase,
        fake_groq: FakeGroqHandle) -> None:
    settings = groq_settings(**{**UNLIMITED, "sip_user_rpm": 2}, **QUICK)
    sip = await build_sip(settings, kb=kb)
    try:
        routes = [(await take_turn(sip, "eve", f"pregunta {i} sobre la vpn",
                                   streaming=False)).reply for i in range(3)]
        other = await ask(sip.deps, "fred", "pregunta sobre la vpn")
    finally:
        await sip.aclose()
    assert [r.route for r in routes] == ["primary", "primary", "refusal"]
    assert routes[2].answer == text("rate_limited", "es", seconds=30)
    assert other.route == "primary"
    assert calls(fake_groq.requests(), PRIMARY) == 3


def compress(sip: Sip, time_scale: float, *, store: Any = None,
             max_wait: float = 120.0) -> RateLimiter:
    """Point the client's limiter at the emulator's compressed clock (benchmark mode)."""
    assert sip.client is not None
    limiter = RateLimiter(store or MemoryBudgetStore(limits_from(sip.settings, time_scale)),
                          max_wait=max_wait)
    sip.client.gate = limiter
    return limiter


LIMITED = RateLimits(rpm=30, tpm=8000, rpd=0, tpd=0)
SCALE = 300.0


async def crowd(sips: list[Sip], users: int, messages: int) -> list[Any]:
    async def user(index: int) -> list[Any]:
        sip = sips[index % len(sips)]
        return [await take_turn(sip, f"crowd{index}", f"mensaje {m} del usuario {index} "
                                "sobre wireguard y la conexion", streaming=bool(m % 2))
                for m in range(messages)]

    return [turn for turns in await asyncio.gather(*(user(i) for i in range(users)))
            for turn in turns]


async def test_a_crowd_over_the_budget_meets_no_429(
        groq_settings: Callable[..., Settings], kb: KnowledgeBase) -> None:
    async with run_fake_groq(FakeGroqConfig(limits=LIMITED, time_scale=SCALE)) as groq:
        settings = groq_settings(**{**UNLIMITED, "groq_rpm": 30, "groq_tpm": 8000},
                                 **QUICK, groq_base_url=groq.base_url, sip_cache_ttl=0)
        sip = await build_sip(settings, kb=kb)
        try:
            compress(sip, SCALE)
            turns = await crowd([sip], users=12, messages=2)
        finally:
            await sip.aclose()
        stats = groq.stats()
    assert all(t.reply.route == "primary" for t in turns)
    assert stats["by_status"] == {"200": 24}  # not a single 429 on the wire
    for turn in turns:
        assert_kept(turn, turn.stored[-2].text)


@pytest.mark.redis
async def test_two_workers_sharing_redis_keep_within_one_budget(
        groq_settings: Callable[..., Settings], kb: KnowledgeBase, redis: Redis,
        prefix: str, tmp_path: Any) -> None:
    async with run_fake_groq(FakeGroqConfig(limits=LIMITED, time_scale=SCALE)) as groq:
        workers = []
        for name in ("w1", "w2"):
            settings = groq_settings(**{**UNLIMITED, "groq_rpm": 30, "groq_tpm": 8000},
                                     **QUICK, groq_base_url=groq.base_url, sip_cache_ttl=0,
                                     sip_data_dir=tmp_path / name)
            worker = await build_sip(settings, kb=kb)
            store = RedisBudgetStore(redis, limits_from(settings, SCALE), prefix=prefix)
            compress(worker, SCALE, store=store)
            workers.append(worker)
        try:
            turns = await crowd(workers, users=12, messages=2)
        finally:
            for worker in workers:
                await worker.aclose()
        stats = groq.stats()
    assert all(t.reply.route == "primary" for t in turns)
    assert stats["by_status"] == {"200": 24}
    per_window = stats["tokens_per_window"][PRIMARY]
    assert per_window and len(per_window) >= 3  # the crowd needed several minutes' budget
