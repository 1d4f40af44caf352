"""A circuit breaker whose state lives in Redis, so every worker sees a model as down at once.

Same states, thresholds and cool-downs as :class:`~sipai.resilience.breaker.CircuitBreaker`
(see that module for the rules). The state is one hash per model,
`{prefix}:breaker:{model}`: `state`, `consecutive`, `trips`, `open_until`, `probe_until`
and one `w:<slot>:ok|fail` pair per slot of the failure-rate window. `allow` and `record`
are Lua scripts, so with several workers exactly one of them gets the half-open probe.
Time is Redis's `TIME` unless a clock is given (tests). If Redis fails, the breaker lets
calls through: the retry policy and the router still handle the model's errors.
"""

from __future__ import annotations

import logging
from typing import Any

from redis.asyncio import Redis

from sipai.resilience.breaker import CLOSED, HALF_OPEN, OPEN, SLOTS, BreakerConfig, publish
from sipai.resilience.clock import LUA_NOW, Clock

log = logging.getLogger(__name__)

_NOW = LUA_NOW + """
local function num(field, default)
  return tonumber(redis.call('HGET', KEYS[1], field) or default)
end
"""

#: ARGV: now|"", probe_timeout, ttl. Returns {allowed, state before, state after}.
ALLOW = _NOW + """
local probe_timeout, ttl = tonumber(ARGV[2]), tonumber(ARGV[3])
local state = num('state', 0)
if state == 0 then return {1, 0, 0} end
if state == 2 then
  if now < num('open_until', 0) then return {0, 2, 2} end
  redis.call('HSET', KEYS[1], 'state', 1, 'probe_until', now + probe_timeout)
  redis.call('EXPIRE', KEYS[1], ttl)
  return {1, 2, 1}
end
if now >= num('probe_until', 0) then
  redis.call('HSET', KEYS[1], 'probe_until', now + probe_timeout)
  return {1, 1, 1}
end
return {0, 1, 1}
"""

#: ARGV: now|"", ok (0/1), threshold, rate, min_calls, slot length, slots, open_for,
#: max_open_for, ttl. Returns {state before, state after}.
RECORD = _NOW + """
local ok = tonumber(ARGV[2]) == 1
local threshold, rate, min_calls = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local slot_len, slots = tonumber(ARGV[6]), tonumber(ARGV[7])
local open_for, max_open_for, ttl = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local state = num('state', 0)
local function open()
  local trips = num('trips', 0) + 1
  local cooldown = math.min(max_open_for, open_for * 2 ^ (trips - 1))
  redis.call('HSET', KEYS[1], 'state', 2, 'trips', trips, 'open_until', now + cooldown)
  redis.call('EXPIRE', KEYS[1], ttl)
  return {state, 2}
end
if state == 1 then
  if ok then
    redis.call('DEL', KEYS[1])
    return {1, 0}
  end
  return open()
end
if state == 2 then return {2, 2} end
local current = math.floor(now / slot_len)
local field = 'w:' .. current .. (ok and ':ok' or ':fail')
redis.call('HINCRBY', KEYS[1], field, 1)
local good, bad = 0, 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local slot, kind = string.match(all[i], '^w:(%-?%d+):(%a+)$')
  if slot then
    if tonumber(slot) <= current - slots then
      redis.call('HDEL', KEYS[1], all[i])
    elseif kind == 'ok' then
      good = good + tonumber(all[i + 1])
    else
      bad = bad + tonumber(all[i + 1])
    end
  end
end
local consecutive = 0
if not ok then consecutive = num('consecutive', 0) + 1 end
redis.call('HSET', KEYS[1], 'consecutive', consecutive)
redis.call('EXPIRE', KEYS[1], ttl)
if not ok and (consecutive >= threshold or
               (good + bad >= min_calls and bad / (good + bad) >= rate)) then
  return open()
end
return {0, 0}
"""


def _int(value: Any) -> int:
    return int(value.decode() if isinstance(value, bytes) else value)


class RedisCircuitBreaker:
    """A breaker for one model, shared by every worker using the same Redis `prefix`."""

    def __init__(self, redis: Redis, model: str, config: BreakerConfig | None = None, *,
                 prefix: str = "sip", clock: Clock | None = None) -> None:
        self.redis = redis
        self.model = model
        self.config = config or BreakerConfig()
        self.clock = clock
        self.key = f"{prefix}:breaker:{model}"
        self._allow = redis.register_script(ALLOW)
        self._record = redis.register_script(RECORD)
        self._ttl = str(int(max(self.config.window, self.config.max_open_for) * 2) + 60)

    def _now(self) -> str:
        return repr(self.clock.now()) if self.clock is not None else ""

    async def allow(self) -> bool:
        """See :meth:`~sipai.resilience.breaker.Breaker.allow`."""
        try:
            allowed, before, after = await self._allow(
                keys=[self.key], args=[self._now(), repr(self.config.probe_timeout), self._ttl])
        except Exception as exc:  # best effort: see the module docstring
            log.warning("breaker.store_failed", extra={"op": "allow", "model": self.model,
                                                       "error": type(exc).__name__})
            return True
        publish(self.model, _int(before), _int(after))
        return bool(_int(allowed))

    async def record(self, ok: bool) -> None:
        """See :meth:`~sipai.resilience.breaker.Breaker.record`."""
        c = self.config
        args = [self._now(), "1" if ok else "0", str(c.failure_threshold), repr(c.failure_rate),
                str(c.min_calls), repr(c.window / SLOTS), str(SLOTS), repr(c.open_for),
                repr(c.max_open_for), self._ttl]
        try:
            before, after = await self._record(keys=[self.key], args=args)
        except Exception as exc:
            log.warning("breaker.store_failed", extra={"op": "record", "model": self.model,
                                                       "error": type(exc).__name__})
            return
        publish(self.model, _int(before), _int(after))

    async def read_state(self) -> int:
        """The shared state: CLOSED, HALF_OPEN or OPEN."""
        raw = await self.redis.hget(self.key, "state")
        value = _int(raw) if raw is not None else CLOSED
        return value if value in (CLOSED, HALF_OPEN, OPEN) else CLOSED
