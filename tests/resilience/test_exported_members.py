"""The resilience package's public names are pinned: changing them is a deliberate act."""

from __future__ import annotations

import inspect

import sipai.resilience
from sipai.llm.client import Gate
from sipai.resilience import (
    AnswerCache,
    CircuitBreaker,
    MemoryBudgetStore,
    MemoryUserLimiter,
    RateLimiter,
    RedisBudgetStore,
    RedisCircuitBreaker,
    RedisUserLimiter,
)
from sipai.resilience.budget import BudgetStore
from sipai.support.service import AnswerCacheLike, UserLimiterLike


def test_exported_members() -> None:
    assert sorted(sipai.resilience.__all__) == sorted([
        "AllModelsFailed", "AnswerCache", "BreakerBoard", "BreakerConfig", "BudgetExhausted",
        "CircuitBreaker", "Clock", "FairQueue", "Limits", "ManualClock", "MemoryBudgetStore",
        "MemoryCacheStore", "MemoryUserLimiter", "ModelRouter", "MonotonicClock",
        "RateLimiter", "RedisBudgetStore", "RedisCacheStore", "RedisCircuitBreaker",
        "RedisUserLimiter", "Resilience", "Routed", "UpdateDeduplicator", "acting_for",
        "build_resilience", "counts_against", "current_caller", "set_caller",
    ])
    for name in sipai.resilience.__all__:
        assert getattr(sipai.resilience, name) is not None


def public_methods(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, inspect.isfunction)
            if not name.startswith("_")}


def test_memory_and_redis_variants_share_their_interfaces() -> None:
    store_api = public_methods(BudgetStore)
    assert store_api == {"try_acquire", "settle", "leave", "levels", "tag"}
    for store in (MemoryBudgetStore, RedisBudgetStore):
        assert store_api <= public_methods(store)
    assert {"allow", "record"} <= public_methods(CircuitBreaker)
    assert {"allow", "record"} <= public_methods(RedisCircuitBreaker)
    assert public_methods(MemoryUserLimiter) == public_methods(RedisUserLimiter) == {"check"}


def test_the_parts_fit_the_protocols_their_callers_declare() -> None:
    assert public_methods(Gate) <= public_methods(RateLimiter)
    assert public_methods(AnswerCacheLike) <= public_methods(AnswerCache)
    assert public_methods(UserLimiterLike) <= public_methods(MemoryUserLimiter)
