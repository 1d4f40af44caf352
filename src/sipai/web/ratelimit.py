"""Request rate limits at the edge: per API key, and per client address for the web chat.

These guard the server, not Groq: Groq's own limits are the resilience layer's business
(its limiter delays calls instead of meeting 429s), and the per-customer message limit is
the support service's (`SupportDeps.user_limiter`). A limiter here answers "how long must
this caller wait" — 0 means go — and the edge turns a wait into 429 with `Retry-After`.

:class:`SlidingWindowLimiter` keeps one deque of timestamps per caller in this process;
:class:`RedisRequestLimiter` keeps a token bucket per caller in Redis, so several workers
behind one load balancer enforce one limit (`create_app` picks it when `SIP_REDIS_URL` is
set). Any object with the same `check` method can be passed to `create_app` instead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from redis.asyncio import Redis

from sipai.resilience.user_limits import CHECK

log = logging.getLogger(__name__)


class RequestLimiter(Protocol):
    """Answers how many seconds a caller must wait before its next request (0: go now)."""

    async def check(self, caller: str) -> float:
        """Count one request for `caller` if allowed; otherwise return the wait in seconds."""
        ...


class SlidingWindowLimiter:
    """At most `limit` requests per caller in any `window` seconds, counted in memory."""

    def __init__(self, limit: int, window: float = 60.0, *, max_callers: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be ≥ 1 and window > 0")
        self.limit = limit
        self.window = window
        self.max_callers = max_callers
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = asyncio.Lock()

    async def check(self, caller: str) -> float:
        """Count one request for `caller` if allowed; otherwise return the wait in seconds."""
        async with self._lock:
            now = self._clock()
            hits = self._hits.get(caller)
            if hits is None:
                if len(self._hits) >= self.max_callers:
                    self._forget_idle(now)
                hits = self._hits[caller] = deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(0.001, hits[0] + self.window - now)
            hits.append(now)
            return 0.0

    def _forget_idle(self, now: float) -> None:
        """Drop callers with no request inside the window (bounded memory under many IPs)."""
        idle = [caller for caller, hits in self._hits.items()
                if not hits or hits[-1] <= now - self.window]
        for caller in idle:
            del self._hits[caller]
        if len(self._hits) >= self.max_callers:
            # Still full of active callers: forget the oldest half rather than grow.
            for caller in sorted(self._hits, key=lambda c: self._hits[c][-1])[
                    : self.max_callers // 2]:
                del self._hits[caller]


class RedisRequestLimiter:
    """`limit` requests per minute per caller, in bursts of up to `limit`, shared in Redis.

    Each caller's allowance is a token bucket under `{prefix}:http:{scope}:<caller>`
    (the per-user limiter's script). A Redis failure lets the request through: the edge
    limit protects the server, it must not take it down with Redis.
    """

    def __init__(self, redis: Redis, limit: int, *, scope: str, prefix: str = "sip") -> None:
        if limit < 1:
            raise ValueError("limit must be ≥ 1")
        self.redis = redis
        self.capacity = float(limit)
        self.rate = limit / 60.0
        self.key = f"{prefix}:http:{scope}:"
        self._check = redis.register_script(CHECK)

    async def check(self, caller: str) -> float:
        """Count one request for `caller` if allowed; otherwise return the wait in seconds."""
        try:
            raw: Any = await self._check(keys=[self.key + caller],
                                         args=["", repr(self.capacity), repr(self.rate)])
        except Exception as exc:
            log.warning("ratelimit.store_failed", extra={"error": type(exc).__name__})
            return 0.0
        return float(raw.decode() if isinstance(raw, bytes) else raw)


class Unlimited:
    """A limiter that never makes anyone wait (tests, trusted deployments)."""

    async def check(self, caller: str) -> float:
        """Always 0: go now."""
        return 0.0


def edge_limiter(limit: int, *, scope: str, redis: Redis | None = None,
                 prefix: str = "sip") -> RequestLimiter:
    """The limiter for `limit` requests per minute (0: none), in Redis when given one."""
    if limit <= 0:
        return Unlimited()
    if redis is not None:
        return RedisRequestLimiter(redis, limit, scope=scope, prefix=prefix)
    return SlidingWindowLimiter(limit)


__all__ = ["RedisRequestLimiter", "RequestLimiter", "SlidingWindowLimiter", "Unlimited",
           "edge_limiter"]
