"""Circuit breakers, one per model: stop calling a model that keeps failing, probe it later.

    closed ──(N failures in a row, or failure rate ≥ R over the window)──> open
    open ──(cool-down over: the next call is let through as a probe)──> half-open
    half-open ──probe succeeds──> closed        half-open ──probe fails──> open (longer)

While a breaker is open the router skips its model at once (no timeout to sit through) and
the next model, or the offline brain, answers. The cool-down doubles each time a probe
fails, up to `max_open_for`; one success closes the breaker and forgets the history. Only
one probe is in flight at a time; a probe that never reports frees its slot after
`probe_timeout`. Only failures that say something about the model's health count (see
:func:`counts_against`): a 429, a 413 or a bad request is not the model being down.

:class:`CircuitBreaker` keeps its state in this process; `RedisCircuitBreaker`
(resilience/redis_breaker.py) shares it between workers. :class:`BreakerBoard` hands the
router one breaker per model.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sipai.errors import (
    AuthenticationError,
    CapacityExceeded,
    ModelDecommissioned,
    ModelNotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    RetryableError,
)
from sipai.observability import metrics
from sipai.resilience.clock import Clock, MonotonicClock

log = logging.getLogger(__name__)

CLOSED, HALF_OPEN, OPEN = 0, 1, 2
STATE_NAMES = {CLOSED: "closed", HALF_OPEN: "half_open", OPEN: "open"}
#: The failure-rate window is kept as this many slots.
SLOTS = 10


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """When a breaker opens and for how long."""

    failure_threshold: int = 5
    failure_rate: float = 0.5
    window: float = 60.0
    min_calls: int = 10
    open_for: float = 30.0
    max_open_for: float = 300.0
    probe_timeout: float = 30.0

    def cooldown(self, trips: int) -> float:
        """Seconds open after the `trips`-th consecutive opening (doubling, capped)."""
        return min(self.max_open_for, self.open_for * 2.0 ** max(0, trips - 1))

    def trips_open(self, consecutive: int, ok: int, failed: int) -> bool:
        """Whether these counts open a closed breaker."""
        total = ok + failed
        return consecutive >= self.failure_threshold or (
            total >= self.min_calls and failed / total >= self.failure_rate)


def counts_against(error: ProviderError) -> bool:
    """Whether `error` says the model is unhealthy (and so counts towards opening)."""
    if isinstance(error, RateLimited):
        return False  # the limiter's business, not the model's health
    return isinstance(error, RetryableError | CapacityExceeded | ModelNotFound |
                      ModelDecommissioned | AuthenticationError | PermissionDenied)


class Breaker(Protocol):
    """What the router needs from a breaker."""

    async def allow(self) -> bool:
        """Whether to call the model now (in half-open, True means "you are the probe")."""
        ...

    async def record(self, ok: bool) -> None:
        """The outcome of a call that `allow` let through."""
        ...


def publish(model: str, old: int, new: int) -> None:
    """Update the gauge and log a transition."""
    metrics.breaker_state.labels(model).set(new)
    if new != old:
        level = logging.WARNING if new == OPEN else logging.INFO
        log.log(level, "breaker.state", extra={"model": model, "from": STATE_NAMES[old],
                                               "to": STATE_NAMES[new]})


class CircuitBreaker:
    """A breaker for one model, in this process."""

    def __init__(self, model: str, config: BreakerConfig | None = None, *,
                 clock: Clock | None = None) -> None:
        self.model = model
        self.config = config or BreakerConfig()
        self.clock: Clock = clock or MonotonicClock()
        self.state = CLOSED
        self._consecutive = 0
        self._trips = 0
        self._open_until = 0.0
        self._probe_until = 0.0
        self._slots: dict[int, list[int]] = {}
        metrics.breaker_state.labels(model).set(CLOSED)

    def _slot_length(self) -> float:
        return self.config.window / SLOTS

    def _counts(self, now: float) -> tuple[int, int]:
        current = math.floor(now / self._slot_length())
        for slot in [s for s in self._slots if s <= current - SLOTS]:
            del self._slots[slot]
        ok = sum(counts[0] for counts in self._slots.values())
        failed = sum(counts[1] for counts in self._slots.values())
        return ok, failed

    def _move(self, new: int) -> None:
        old, self.state = self.state, new
        publish(self.model, old, new)

    async def allow(self) -> bool:
        """See :meth:`Breaker.allow`."""
        now = self.clock.now()
        if self.state == CLOSED:
            return True
        if self.state == OPEN:
            if now < self._open_until:
                return False
            self._move(HALF_OPEN)
            self._probe_until = now + self.config.probe_timeout
            return True
        if now >= self._probe_until:  # the last probe never reported
            self._probe_until = now + self.config.probe_timeout
            return True
        return False

    async def record(self, ok: bool) -> None:
        """See :meth:`Breaker.record`."""
        now = self.clock.now()
        if self.state == HALF_OPEN:
            if ok:
                self._consecutive, self._trips = 0, 0
                self._slots.clear()
                self._move(CLOSED)
            else:
                self._open(now)
            return
        if self.state == OPEN:
            return  # a late answer from before the breaker opened
        slot = math.floor(now / self._slot_length())
        self._slots.setdefault(slot, [0, 0])[0 if ok else 1] += 1
        self._consecutive = 0 if ok else self._consecutive + 1
        if not ok and self.config.trips_open(self._consecutive, *self._counts(now)):
            self._open(now)

    def _open(self, now: float) -> None:
        self._trips += 1
        self._open_until = now + self.config.cooldown(self._trips)
        self._move(OPEN)


class BreakerBoard:
    """One breaker per model, built on first use (the router's `breakers` callable)."""

    def __init__(self, factory: Callable[[str], Breaker]) -> None:
        self._factory = factory
        self._breakers: dict[str, Breaker] = {}

    def __call__(self, model: str) -> Breaker:
        breaker = self._breakers.get(model)
        if breaker is None:
            breaker = self._breakers[model] = self._factory(model)
        return breaker
