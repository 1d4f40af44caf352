"""The resilience parts a running Sip needs, built from settings in one call.

The composition root (`sipai.bootstrap.build_sip`) calls :func:`build_resilience` and wires
the parts in: the rate limiter is the LLM client's gate, the breaker board goes to the
router, the answer cache and the per-user limiter to the support service, and the update
de-duplicator is there for the Telegram webhook. Without `SIP_REDIS_URL` every part keeps
its state in this process; with it, every part shares its state through Redis, so several
workers respect one Groq budget, see the same open breakers, share cached answers and
handle each Telegram update once.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from sipai.config import Settings
from sipai.resilience.breaker import Breaker, BreakerBoard, BreakerConfig, CircuitBreaker
from sipai.resilience.budget import BudgetStore, Limits, MemoryBudgetStore
from sipai.resilience.cache import AnswerCache, MemoryCacheStore, RedisCacheStore
from sipai.resilience.dedup import UpdateDeduplicator
from sipai.resilience.limiter import RateLimiter
from sipai.resilience.redis_breaker import RedisCircuitBreaker
from sipai.resilience.redis_budget import RedisBudgetStore
from sipai.resilience.user_limits import MemoryUserLimiter, RedisUserLimiter


@dataclass(slots=True)
class Resilience:
    """The limiter, breakers, cache, per-user limits and update de-duplication of one Sip."""

    limiter: RateLimiter
    breakers: BreakerBoard
    cache: AnswerCache | None
    users: MemoryUserLimiter | RedisUserLimiter
    updates: UpdateDeduplicator
    redis: Redis | None = None

    async def aclose(self) -> None:
        """Stop the limiter's queues and close the Redis connections."""
        await self.limiter.aclose()
        if self.redis is not None:
            await self.redis.aclose()


def limits_from(settings: Settings, time_scale: float | None = None) -> Limits:
    """The per-model quotas from `GROQ_RPM`, `GROQ_TPM`, `GROQ_RPD` and `GROQ_TPD`.

    The periods are compressed by `time_scale` (default `SIP_LIMITS_TIME_SCALE`) and the
    admission lag is `SIP_LIMITS_LAG`.
    """
    scale = settings.sip_limits_time_scale if time_scale is None else time_scale
    return Limits(settings.groq_rpm, settings.groq_tpm, settings.groq_rpd, settings.groq_tpd,
                  time_scale=scale, lag=settings.sip_limits_lag)


def build_resilience(settings: Settings, *, redis: Redis | None = None, prefix: str | None = None,
                     time_scale: float | None = None, max_wait: float | None = None
                     ) -> Resilience:
    """Build the resilience parts: in memory, or in Redis when `SIP_REDIS_URL` is set.

    `redis` overrides the connection made from the URL; `prefix` (default
    `SIP_REDIS_PREFIX`) namespaces every Redis key; `time_scale` (default
    `SIP_LIMITS_TIME_SCALE`) compresses the limit periods as the Groq emulator does (load
    tests); `max_wait` is the longest a call waits for budget (default `GROQ_MAX_RETRY_WAIT`, the
    same bound the retry policy puts on a `retry-after`).
    """
    if redis is None and settings.sip_redis_url:
        redis = Redis.from_url(settings.sip_redis_url)
    limits = limits_from(settings, time_scale)
    prefix = settings.sip_redis_prefix if prefix is None else prefix
    breaker_config = BreakerConfig(probe_timeout=max(30.0, 2 * settings.groq_timeout))
    store: BudgetStore
    if redis is not None:
        shared = redis
        store = RedisBudgetStore(shared, {"*": limits}, prefix=prefix)

        def breaker(model: str) -> Breaker:
            return RedisCircuitBreaker(shared, model, breaker_config, prefix=prefix)

        users: MemoryUserLimiter | RedisUserLimiter = RedisUserLimiter(
            shared, settings.sip_user_rpm, prefix=prefix)
        cache_store: MemoryCacheStore | RedisCacheStore = RedisCacheStore(shared, prefix=prefix)
    else:
        store = MemoryBudgetStore({"*": limits})

        def breaker(model: str) -> Breaker:
            return CircuitBreaker(model, breaker_config)

        users = MemoryUserLimiter(settings.sip_user_rpm)
        cache_store = MemoryCacheStore()
    wait = settings.groq_max_retry_wait if max_wait is None else max_wait
    return Resilience(
        limiter=RateLimiter(store, max_wait=wait),
        breakers=BreakerBoard(breaker),
        cache=AnswerCache(cache_store, ttl=settings.sip_cache_ttl)
        if settings.sip_cache_ttl > 0 else None,
        users=users,
        updates=UpdateDeduplicator(redis=redis, prefix=prefix),
        redis=redis,
    )
