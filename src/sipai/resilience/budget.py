"""The provider's rate budget as Sip sees it: four token buckets per model.

Groq meters each model on requests and tokens per minute and per day (RPM, TPM, RPD, TPD),
and a call costs one request plus `prompt + max_completion_tokens` tokens when it is
admitted. Sip mirrors that with a continuously refilling token bucket per dimension (the
shape behind Groq's "try again in 7.66s"), so it can tell *before* sending whether a call
would meet a 429, and for how long to hold it instead.

A :class:`BudgetStore` keeps those buckets: :class:`MemoryBudgetStore` for one process,
`RedisBudgetStore` (resilience/redis_budget.py) for several workers sharing one budget.
Both answer the same three questions — may this call go now, or how long until it may
(:meth:`BudgetStore.try_acquire`); what did the provider say afterwards
(:meth:`BudgetStore.settle`); this worker stopped waiting (:meth:`BudgetStore.leave`) —
and the limiter (resilience/limiter.py) builds its fair queue on top.

Settling reconciles the buckets with the provider: reservations are trued up to what the
provider charged (all of it back for a call refused with an HTTP error; the difference
between the estimated and the reported prompt tokens; the unused part of
`max_completion_tokens` when the provider is known to release it), a 429 that the headers
do not explain blocks the model until its `retry-after`, and
the `x-ratelimit-remaining-*` headers cap each bucket at what the provider can still have:
`remaining + refill since the call was admitted` (an upper bound that holds whatever else
was in flight, so it only ever corrects Sip downwards, e.g. when another client shares the
key).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from sipai.resilience.clock import Clock, MonotonicClock

Dimension = Literal["RPM", "TPM", "RPD", "TPD"]
MINUTE = 60.0
DAY = 86_400.0
#: How long a 429 without `retry-after` blocks its model.
DEFAULT_BLOCK = 1.0
#: Shortfalls below this are rounding, not a reason to wait.
EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class LimitSpec:
    """One metered dimension: `limit` units per `period` real seconds."""

    name: Dimension
    limit: int
    period: float

    @property
    def counts_tokens(self) -> bool:
        """True for TPM/TPD (a call costs its tokens), False for RPM/RPD (it costs one)."""
        return self.name.startswith("T")

    @property
    def daily(self) -> bool:
        """True for the per-day dimensions."""
        return self.name.endswith("D")

    def cost(self, tokens: int) -> int:
        """What one call of `tokens` tokens takes from this dimension."""
        return tokens if self.counts_tokens else 1


@dataclass(frozen=True, slots=True)
class Limits:
    """A model's quotas (0 = not limited); `time_scale` shortens the periods, as the emulator
    does, so a compressed "minute" lasts `60 / time_scale` real seconds."""

    rpm: int = 30
    tpm: int = 8_000
    rpd: int = 1_000
    tpd: int = 200_000
    time_scale: float = 1.0
    #: Seconds between Sip admitting a call and the provider counting it (the request's
    #: way there). A full bucket at the provider cannot bank its refill meanwhile, so a
    #: call admitted on a (nearly) full bucket also pays for that lost refill.
    lag: float = 0.1

    def __post_init__(self) -> None:
        if self.time_scale <= 0:
            raise ValueError("time_scale must be positive")
        if self.lag < 0:
            raise ValueError("lag must not be negative")
        if min(self.rpm, self.tpm, self.rpd, self.tpd) < 0:
            raise ValueError("limits must not be negative")

    def specs(self) -> tuple[LimitSpec, ...]:
        """The limited dimensions, minute ones first."""
        minute, day = MINUTE / self.time_scale, DAY / self.time_scale
        pairs: tuple[tuple[Dimension, int, float], ...] = (
            ("RPM", self.rpm, minute), ("TPM", self.tpm, minute),
            ("RPD", self.rpd, day), ("TPD", self.tpd, day))
        return tuple(LimitSpec(name, limit, period) for name, limit, period in pairs if limit > 0)

    @property
    def minute(self) -> float:
        """How long a (possibly compressed) minute lasts, in real seconds."""
        return MINUTE / self.time_scale


@dataclass(frozen=True, slots=True)
class Decision:
    """The store's answer to "may this call go now?"."""

    admitted: bool
    #: Seconds until it may, when not admitted (0 when only the queue holds it back).
    wait: float = 0.0
    #: What holds it back: a dimension name, "blocked" (a 429's retry-after) or "queue".
    limit: str = ""
    #: The call alone exceeds a bucket's capacity: it can never go as it is (a local 413).
    too_large: bool = False
    #: The store's clock at admission (settling measures refill from here).
    stamp: float = 0.0


@dataclass(frozen=True, slots=True)
class Settlement:
    """What Sip learnt once an admitted call finished."""

    tokens: int
    stamp: float
    #: Tokens given back; negative when the call cost more than was reserved.
    refund_tokens: int = 0
    refund_request: bool = False
    #: `x-ratelimit-remaining-requests` (per day) and `-tokens` (per minute), when sent.
    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    #: A 429 asked to wait this long before calling the model again.
    block_for: float | None = None


class BudgetStore(Protocol):
    """Where the buckets live (this process, or Redis for several workers)."""

    async def try_acquire(self, model: str, tokens: int, *, member: str | None = None,
                          order: int | None = None) -> Decision:
        """Take one request and `tokens` tokens now, or say how long until possible.

        `member` names this worker's queue head when it is waiting, `order` its start tag;
        stores shared by several workers admit waiting heads lowest tag first and turn away
        newcomers while anybody waits. None means "not waiting yet" (the fast path).
        """
        ...

    async def tag(self, model: str, caller: str) -> int | None:
        """A start tag for `caller`'s next waiting call, shared by every worker.

        None when the store is not shared: the worker's own queue stamps its calls.
        """
        ...

    async def settle(self, model: str, settlement: Settlement) -> None:
        """Reconcile the buckets with what the provider said about an admitted call."""
        ...

    async def leave(self, model: str, member: str) -> None:
        """`member` no longer waits (its queue emptied or its call gave up)."""
        ...

    async def levels(self, model: str) -> dict[str, float]:
        """Current bucket levels by dimension, plus "blocked" seconds (diagnostics)."""
        ...


class TokenBucket:
    """`capacity` units refilling continuously over `period` seconds; starts full."""

    __slots__ = ("capacity", "level", "rate", "stamp")

    def __init__(self, capacity: float, period: float, now: float) -> None:
        self.capacity = float(capacity)
        self.rate = self.capacity / period
        self.level = self.capacity
        self.stamp = now

    def refill(self, now: float) -> None:
        """Add what flowed in since the last look."""
        if now > self.stamp:
            self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` units are there (0 when they already are)."""
        missing = amount - self.level
        return missing / self.rate if missing > EPSILON else 0.0

    def take(self, amount: float, lag: float) -> None:
        """Debit `amount`, plus the refill a full provider bucket loses in `lag` seconds."""
        self.level -= amount + max(0.0, self.level + self.rate * lag - self.capacity)

    def give(self, amount: float) -> None:
        """Return units (never above capacity); a negative amount takes more."""
        self.level = min(self.capacity, self.level + amount)

    def cap(self, remaining: float, since: float, now: float) -> None:
        """Lower the level to what the provider can have: `remaining` then refill since."""
        self.level = min(self.level, remaining + max(0.0, now - since) * self.rate)


@dataclass(slots=True)
class _ModelBudget:
    specs: tuple[LimitSpec, ...]
    buckets: dict[str, TokenBucket]
    blocked_until: float = 0.0


class MemoryBudgetStore:
    """The buckets of every model, in this process."""

    def __init__(self, limits: Limits | dict[str, Limits], *, clock: Clock | None = None
                 ) -> None:
        self._limits = limits
        self.clock: Clock = clock or MonotonicClock()
        self._models: dict[str, _ModelBudget] = {}

    def limits_for(self, model: str) -> Limits:
        """The quotas configured for `model` (a dict may hold "*" as the default)."""
        if isinstance(self._limits, Limits):
            return self._limits
        return self._limits.get(model) or self._limits.get("*") or Limits()

    def _budget(self, model: str) -> _ModelBudget:
        budget = self._models.get(model)
        if budget is None:
            specs = self.limits_for(model).specs()
            now = self.clock.now()
            budget = self._models[model] = _ModelBudget(
                specs, {s.name: TokenBucket(s.limit, s.period, now) for s in specs})
        return budget

    async def try_acquire(self, model: str, tokens: int, *, member: str | None = None,
                          order: int | None = None) -> Decision:
        """See :meth:`BudgetStore.try_acquire` (one process: no cross-worker queue)."""
        budget = self._budget(model)
        now = self.clock.now()
        wait, limit = 0.0, ""
        if budget.blocked_until > now:
            wait, limit = budget.blocked_until - now, "blocked"
        for spec in budget.specs:
            bucket = budget.buckets[spec.name]
            need = spec.cost(tokens)
            if need > bucket.capacity:
                return Decision(False, 0.0, spec.name, too_large=True, stamp=now)
            bucket.refill(now)
            needed = bucket.wait_for(need)
            if needed > wait:
                wait, limit = needed, spec.name
        if wait > 0:
            return Decision(False, wait, limit, stamp=now)
        lag = self.limits_for(model).lag
        for spec in budget.specs:
            budget.buckets[spec.name].take(spec.cost(tokens), lag)
        return Decision(True, stamp=now)

    async def settle(self, model: str, settlement: Settlement) -> None:
        """See :meth:`BudgetStore.settle`."""
        budget = self._budget(model)
        now = self.clock.now()
        for spec in budget.specs:
            bucket = budget.buckets[spec.name]
            bucket.refill(now)
            if spec.counts_tokens and settlement.refund_tokens:  # may be negative
                bucket.give(settlement.refund_tokens)
            elif not spec.counts_tokens and settlement.refund_request:
                bucket.give(1)
        rpd, tpm = budget.buckets.get("RPD"), budget.buckets.get("TPM")
        if rpd is not None and settlement.remaining_requests is not None:
            rpd.cap(settlement.remaining_requests, settlement.stamp, now)
        if tpm is not None and settlement.remaining_tokens is not None:
            tpm.cap(settlement.remaining_tokens, settlement.stamp, now)
        if settlement.block_for is not None:
            budget.blocked_until = max(budget.blocked_until, now + settlement.block_for)

    async def tag(self, model: str, caller: str) -> int | None:
        """None: one process stamps its own queue."""
        return None

    async def leave(self, model: str, member: str) -> None:
        """Nothing to do: one process has no cross-worker queue."""
        return None

    async def levels(self, model: str) -> dict[str, float]:
        """See :meth:`BudgetStore.levels`."""
        budget = self._budget(model)
        now = self.clock.now()
        out: dict[str, float] = {}
        for name, bucket in budget.buckets.items():
            bucket.refill(now)
            out[name] = bucket.level
        out["blocked"] = max(0.0, budget.blocked_until - now)
        return out
