"""Per-user message limits against abuse: each customer gets `per_minute` messages, in bursts.

A user's allowance is a token bucket of `burst` messages refilling at `per_minute` per
minute. :meth:`check` takes one message from it and returns 0, or, when the bucket is
empty, the seconds until the next message would be accepted — the service then answers
with a polite "you're writing very fast, wait N seconds" instead of calling a model (the
refused message is stored but takes nothing from the allowance).

`check` also tags the running task as acting for the user
(:func:`~sipai.resilience.fairness.set_caller`), so every provider call of this turn waits
in the rate limiter's fair queue under that user's name.

:class:`MemoryUserLimiter` keeps the buckets in this process (the least recently seen
users are forgotten past `max_users`); :class:`RedisUserLimiter` shares them between
workers with one Lua script. A Redis failure lets the message through.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from redis.asyncio import Redis

from sipai.resilience.clock import LUA_NOW, Clock, MonotonicClock
from sipai.resilience.fairness import set_caller

log = logging.getLogger(__name__)

#: KEYS: the user's bucket. ARGV: now|"", capacity, refill per second.
#: Returns "0" (accepted) or the seconds to wait.
CHECK = LUA_NOW + """
local cap, rate = tonumber(ARGV[2]), tonumber(ARGV[3])
local level = tonumber(redis.call('HGET', KEYS[1], 'level') or cap)
local stamp = tonumber(redis.call('HGET', KEYS[1], 'stamp') or now)
level = math.min(cap, level + math.max(0, now - stamp) * rate)
local wait = 0
if level >= 1 then level = level - 1 else wait = (1 - level) / rate end
redis.call('HSET', KEYS[1], 'level', string.format('%.6f', level),
           'stamp', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(cap / rate * 1000) + 1000)
return string.format('%.6f', wait)
"""


class MemoryUserLimiter:
    """Per-user buckets in this process."""

    def __init__(self, per_minute: int, *, burst: int | None = None,
                 clock: Clock | None = None, max_users: int = 100_000) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.capacity = float(burst or per_minute)
        self.rate = per_minute / 60.0
        self.clock: Clock = clock or MonotonicClock()
        self.max_users = max_users
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    async def check(self, user_id: str) -> float:
        """Take one message from `user_id`'s allowance: 0, or seconds to wait."""
        set_caller(user_id)
        now = self.clock.now()
        level, stamp = self._buckets.get(user_id, (self.capacity, now))
        level = min(self.capacity, level + max(0.0, now - stamp) * self.rate)
        wait = 0.0
        if level >= 1:
            level -= 1
        else:
            wait = (1 - level) / self.rate
        self._buckets[user_id] = (level, now)
        self._buckets.move_to_end(user_id)
        while len(self._buckets) > self.max_users:
            self._buckets.popitem(last=False)
        return wait


class RedisUserLimiter:
    """Per-user buckets in Redis under `{prefix}:user:<id>`, shared by every worker."""

    def __init__(self, redis: Redis, per_minute: int, *, burst: int | None = None,
                 prefix: str = "sip", clock: Clock | None = None) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.redis = redis
        self.capacity = float(burst or per_minute)
        self.rate = per_minute / 60.0
        self.prefix = prefix
        self.clock = clock
        self._check = redis.register_script(CHECK)

    async def check(self, user_id: str) -> float:
        """Take one message from `user_id`'s allowance: 0, or seconds to wait."""
        set_caller(user_id)
        now = repr(self.clock.now()) if self.clock is not None else ""
        try:
            raw: Any = await self._check(keys=[f"{self.prefix}:user:{user_id}"],
                                         args=[now, repr(self.capacity), repr(self.rate)])
        except Exception as exc:  # never refuse a customer because Redis is down
            log.warning("user_limits.store_failed", extra={"error": type(exc).__name__})
            return 0.0
        return float(raw.decode() if isinstance(raw, bytes) else raw)
