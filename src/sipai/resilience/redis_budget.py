"""The rate budget shared through Redis, so several Sip workers respect one Groq budget.

Same buckets and same answers as :class:`~sipai.resilience.budget.MemoryBudgetStore`, kept
in one Redis hash per model and changed only by Lua scripts (atomic: two workers can never
both take the last tokens). Time is Redis's own `TIME`, so workers need no shared clock;
tests may pass a :class:`~sipai.resilience.clock.Clock` instead.

Workers also queue fairly among themselves, per *customer*, not per worker. A call that
must wait gets its start tag from Redis (:meth:`RedisBudgetStore.tag`: the customer's
next round, shared by every worker, as :class:`~sipai.resilience.fairness.FairQueue`
computes it in one process), so a customer whose messages land on several workers still
gets one turn per round. Each worker registers its queue head in a sorted set (the
"waiting room") scored by that tag, with the tokens it needs; a head may take budget only
if what remains also covers every head with a lower tag (so the lowest goes first, and a
busy worker that is slow to poll holds back only its own share), and a newcomer on any
worker is turned away while anybody waits, so it queues in its round. A head that stops
polling (its worker died) is dropped once its announced wait plus `grace` passed.

Keys, under `prefix` (default `sip`): `{prefix}:budget:{model}` (hash: `<DIM>:level`,
`<DIM>:stamp`, `blocked_until`, `vtime` — the round being served), `…:room` (sorted
set), `…:room:exp` and `…:room:need` (hashes of expiries and needs), `…:tags` (hash:
customer → next start tag). Every
key expires after the longest period, so nothing lingers.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from sipai.resilience.budget import Decision, Limits, LimitSpec, Settlement
from sipai.resilience.clock import LUA_NOW, Clock

_NOW = LUA_NOW + """
local function fmt(x) return string.format('%.6f', x) end
local function bucket(key, name, cap, period)
  local level = tonumber(redis.call('HGET', key, name .. ':level') or cap)
  local stamp = tonumber(redis.call('HGET', key, name .. ':stamp') or now)
  return math.min(cap, level + math.max(0, now - stamp) * cap / period)
end
"""

#: KEYS: budget, room, room expiries, room needs. ARGV: now|"", tokens, member|"", grace,
#: poll, ttl, lag, order|"", then n and n triples (name, limit, period).
#: Returns {admitted, wait, limit, too_large, now}.
ACQUIRE = _NOW + """
local tokens, member = tonumber(ARGV[2]), ARGV[3]
local grace, poll, ttl = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local lag, order = tonumber(ARGV[7]), tonumber(ARGV[8])
local n = tonumber(ARGV[9])
local a = 10
local exp = redis.call('HGETALL', KEYS[3])
for i = 1, #exp, 2 do
  if tonumber(exp[i + 1]) < now then
    redis.call('ZREM', KEYS[2], exp[i])
    redis.call('HDEL', KEYS[3], exp[i])
    redis.call('HDEL', KEYS[4], exp[i])
  end
end
-- Who is ahead in the waiting room keeps their share: this call needs room for them too.
local ahead_tokens, ahead_calls = 0, 0
if member == '' then
  if redis.call('ZCARD', KEYS[2]) > 0 then ahead_calls = -1 end
else
  redis.call('ZADD', KEYS[2], order or now, member)  -- the head may have changed: re-file it
  redis.call('HSET', KEYS[4], member, tokens)
  for _, other in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    if other == member then break end
    ahead_tokens = ahead_tokens + tonumber(redis.call('HGET', KEYS[4], other) or '0')
    ahead_calls = ahead_calls + 1
  end
end
local wait, limit = 0, ''
local blocked = tonumber(redis.call('HGET', KEYS[1], 'blocked_until') or '0')
if blocked > now then wait, limit = blocked - now, 'blocked' end
local levels = {}
for i = 0, n - 1 do
  local name, cap, period = ARGV[a + i * 3], tonumber(ARGV[a + 1 + i * 3]),
                            tonumber(ARGV[a + 2 + i * 3])
  local need, reserved = 1, math.max(ahead_calls, 0)
  if string.sub(name, 1, 1) == 'T' then need, reserved = tokens, ahead_tokens end
  if need > cap then return {0, '0', name, 1, fmt(now)} end
  local level = bucket(KEYS[1], name, cap, period)
  levels[i + 1] = {name, level, need, cap, cap / period}
  if need + reserved - level > 1e-9 then
    local w = (need + reserved - level) * period / cap
    if w > wait then wait, limit = w, name end
  end
end
if ahead_calls ~= 0 and limit ~= '' then limit = 'queue' end
if ahead_calls == -1 then return {0, fmt(wait), 'queue', 0, fmt(now)} end
if wait > 0 then
  if member ~= '' then
    wait = math.max(wait, poll)
    redis.call('HSET', KEYS[3], member, fmt(now + wait + grace))
    redis.call('EXPIRE', KEYS[2], ttl)
    redis.call('EXPIRE', KEYS[3], ttl)
    redis.call('EXPIRE', KEYS[4], ttl)
  end
  return {0, fmt(wait), limit, 0, fmt(now)}
end
-- A full bucket at the provider cannot bank the refill of the call's way there (lag).
for _, d in ipairs(levels) do
  local lost = math.max(0, d[2] + d[5] * lag - d[4])
  redis.call('HSET', KEYS[1], d[1] .. ':level', fmt(d[2] - d[3] - lost), d[1] .. ':stamp', fmt(now))
end
if order then
  local vtime = tonumber(redis.call('HGET', KEYS[1], 'vtime') or '0')
  redis.call('HSET', KEYS[1], 'vtime', math.max(vtime, order))
end
redis.call('EXPIRE', KEYS[1], ttl)
if member ~= '' then
  redis.call('ZREM', KEYS[2], member)
  redis.call('HDEL', KEYS[3], member)
  redis.call('HDEL', KEYS[4], member)
end
return {1, '0', '', 0, fmt(now)}
"""

#: KEYS: budget, tags. ARGV: caller, ttl, prune above this many customers.
#: Returns the caller's start tag: max(the round being served, their next round).
TAG = """
local vtime = tonumber(redis.call('HGET', KEYS[1], 'vtime') or '0')
local start = math.max(vtime, tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0'))
redis.call('HSET', KEYS[2], ARGV[1], start + 1)
if redis.call('HLEN', KEYS[2]) > tonumber(ARGV[3]) then
  local all = redis.call('HGETALL', KEYS[2])
  for i = 1, #all, 2 do
    if tonumber(all[i + 1]) <= vtime then redis.call('HDEL', KEYS[2], all[i]) end
  end
end
redis.call('EXPIRE', KEYS[2], ARGV[2])
return start
"""

#: KEYS: budget. ARGV: now|"", ttl, refund tokens, refund request (0/1), remaining requests|"",
#: remaining tokens|"", stamp, block seconds|"", then n and n triples.
SETTLE = _NOW + """
local ttl, refund, refund_req = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local rem_req, rem_tok = tonumber(ARGV[5]), tonumber(ARGV[6])
local stamp, block, n = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
for i = 0, n - 1 do
  local name, cap, period = ARGV[10 + i * 3], tonumber(ARGV[11 + i * 3]), tonumber(ARGV[12 + i * 3])
  local level = bucket(KEYS[1], name, cap, period)
  if string.sub(name, 1, 1) == 'T' then
    level = math.min(cap, level + refund)
  elseif refund_req == 1 then
    level = math.min(cap, level + 1)
  end
  local remaining = nil
  if name == 'RPD' then remaining = rem_req elseif name == 'TPM' then remaining = rem_tok end
  if remaining then
    level = math.min(level, remaining + math.max(0, now - stamp) * cap / period)
  end
  redis.call('HSET', KEYS[1], name .. ':level', fmt(level), name .. ':stamp', fmt(now))
end
if block then
  local blocked = tonumber(redis.call('HGET', KEYS[1], 'blocked_until') or '0')
  redis.call('HSET', KEYS[1], 'blocked_until', fmt(math.max(blocked, now + block)))
end
redis.call('EXPIRE', KEYS[1], ttl)
return fmt(now)
"""

#: KEYS: budget. ARGV: now|"", then n and n triples. Returns {now, blocked_until, levels...}.
LEVELS = _NOW + """
local n = tonumber(ARGV[2])
local out = {fmt(now), redis.call('HGET', KEYS[1], 'blocked_until') or '0'}
for i = 0, n - 1 do
  out[#out + 1] = fmt(bucket(KEYS[1], ARGV[3 + i * 3], tonumber(ARGV[4 + i * 3]),
                             tonumber(ARGV[5 + i * 3])))
end
return out
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _opt(value: float | int | None) -> str:
    return "" if value is None else repr(value)


class RedisBudgetStore:
    """The buckets of every model in Redis, shared by every worker that uses `prefix`."""

    def __init__(self, redis: Redis, limits: Limits | dict[str, Limits], *,
                 prefix: str = "sip", clock: Clock | None = None, grace: float = 2.0,
                 poll: float = 0.002) -> None:
        self.redis = redis
        self._limits = limits
        self.prefix = prefix
        self.clock = clock
        #: How long past its announced wait a silent worker's queue head is kept.
        self.grace = grace
        #: Pause of a head that is behind another worker's, when its own budget is there.
        self.poll = poll
        self._acquire = redis.register_script(ACQUIRE)
        self._tag = redis.register_script(TAG)
        self._settle = redis.register_script(SETTLE)
        self._levels = redis.register_script(LEVELS)

    def limits_for(self, model: str) -> Limits:
        """The quotas configured for `model` (a dict may hold "*" as the default)."""
        if isinstance(self._limits, Limits):
            return self._limits
        return self._limits.get(model) or self._limits.get("*") or Limits()

    def _keys(self, model: str) -> list[str]:
        """Budget hash, waiting room, room expiries, room needs, customers' tags."""
        base = f"{self.prefix}:budget:{model}"
        return [base, f"{base}:room", f"{base}:room:exp", f"{base}:room:need", f"{base}:tags"]

    def _specs(self, model: str) -> tuple[tuple[LimitSpec, ...], list[str]]:
        specs = self.limits_for(model).specs()
        args = [str(len(specs))]
        for spec in specs:
            args += [spec.name, str(spec.limit), repr(spec.period)]
        return specs, args

    def _now(self) -> str:
        return repr(self.clock.now()) if self.clock is not None else ""

    def _ttl(self, specs: tuple[LimitSpec, ...]) -> str:
        return str(int(max((s.period for s in specs), default=60.0)) + 60)

    async def try_acquire(self, model: str, tokens: int, *, member: str | None = None,
                          order: int | None = None) -> Decision:
        """See :meth:`~sipai.resilience.budget.BudgetStore.try_acquire`."""
        specs, dims = self._specs(model)
        args = [self._now(), str(tokens), member or "", repr(self.grace), repr(self.poll),
                self._ttl(specs), repr(self.limits_for(model).lag), _opt(order), *dims]
        admitted, wait, limit, too_large, now = await self._acquire(
            keys=self._keys(model)[:4], args=args)
        return Decision(bool(int(admitted)), float(_text(wait)), _text(limit),
                        too_large=bool(int(too_large)), stamp=float(_text(now)))

    async def settle(self, model: str, settlement: Settlement) -> None:
        """See :meth:`~sipai.resilience.budget.BudgetStore.settle`."""
        specs, dims = self._specs(model)
        args = [self._now(), self._ttl(specs), str(settlement.refund_tokens),
                "1" if settlement.refund_request else "0",
                _opt(settlement.remaining_requests), _opt(settlement.remaining_tokens),
                repr(settlement.stamp), _opt(settlement.block_for), *dims]
        await self._settle(keys=self._keys(model)[:1], args=args)

    async def tag(self, model: str, caller: str) -> int | None:
        """See :meth:`~sipai.resilience.budget.BudgetStore.tag`."""
        budget, *_, tags = self._keys(model)
        specs = self.limits_for(model).specs()
        raw = await self._tag(keys=[budget, tags], args=[caller, self._ttl(specs), "10000"])
        return int(raw)

    async def leave(self, model: str, member: str) -> None:
        """Take `member` out of the waiting room."""
        _, room, expiries, needs, _ = self._keys(model)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(room, member)
            pipe.hdel(expiries, member)
            pipe.hdel(needs, member)
            await pipe.execute()

    async def levels(self, model: str) -> dict[str, float]:
        """See :meth:`~sipai.resilience.budget.BudgetStore.levels`."""
        specs, dims = self._specs(model)
        raw = await self._levels(keys=self._keys(model)[:1], args=[self._now(), *dims])
        now, blocked, *values = (float(_text(v)) for v in raw)
        out: dict[str, float] = {spec.name: value
                                 for spec, value in zip(specs, values, strict=True)}
        out["blocked"] = max(0.0, blocked - now)
        return out

    async def waiting_room(self, model: str) -> list[str]:
        """The worker heads waiting, oldest first (diagnostics and tests)."""
        return [_text(m) for m in await self.redis.zrange(self._keys(model)[1], 0, -1)]
