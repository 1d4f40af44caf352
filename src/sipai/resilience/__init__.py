"""Sip's resilience layer: living within Groq's limits, surviving its failures, scaling out.

- `limiter` — :class:`RateLimiter`, the LLM client's gate: requests and tokens per minute
  and per day, a fair (round-robin per user) queue instead of 429s; `budget` and
  `redis_budget` keep its buckets in memory or in Redis; `fairness` is the queue.
- `router` — :class:`ModelRouter`: primary, fallbacks, offline; deadlines and re-routing.
- `breaker` / `redis_breaker` — one circuit breaker per model.
- `cache` — :class:`AnswerCache` for context-free first questions.
- `user_limits` — per-user message limits against abuse.
- `dedup` — :class:`UpdateDeduplicator` for Telegram webhook updates across workers.
- `assembly` — :func:`build_resilience`, which the composition root calls.
- `clock` — real and manual time.
"""

from sipai.resilience.assembly import Resilience, build_resilience
from sipai.resilience.breaker import BreakerBoard, BreakerConfig, CircuitBreaker, counts_against
from sipai.resilience.budget import Limits, MemoryBudgetStore
from sipai.resilience.cache import AnswerCache, MemoryCacheStore, RedisCacheStore
from sipai.resilience.clock import Clock, ManualClock, MonotonicClock
from sipai.resilience.dedup import UpdateDeduplicator
from sipai.resilience.fairness import FairQueue, acting_for, current_caller, set_caller
from sipai.resilience.limiter import BudgetExhausted, RateLimiter
from sipai.resilience.redis_breaker import RedisCircuitBreaker
from sipai.resilience.redis_budget import RedisBudgetStore
from sipai.resilience.router import AllModelsFailed, ModelRouter, Routed
from sipai.resilience.user_limits import MemoryUserLimiter, RedisUserLimiter

__all__ = [
    "AllModelsFailed", "AnswerCache", "BreakerBoard", "BreakerConfig", "BudgetExhausted",
    "CircuitBreaker", "Clock", "FairQueue", "Limits", "ManualClock", "MemoryBudgetStore",
    "MemoryCacheStore", "MemoryUserLimiter", "ModelRouter", "MonotonicClock", "RateLimiter",
    "RedisBudgetStore", "RedisCacheStore", "RedisCircuitBreaker", "RedisUserLimiter",
    "Resilience", "Routed", "UpdateDeduplicator", "acting_for", "build_resilience",
    "counts_against", "current_caller", "set_caller",
]
