"""The client-side rate limiter: every provider attempt waits for budget instead of a 429.

:class:`RateLimiter` is the LLM client's :class:`~sipai.llm.client.Gate`. The client calls
`acquire(model, tokens)` before every attempt, with `tokens` = estimated prompt +
`max_completion_tokens` (what Groq counts against TPM), and settles the permit with the
attempt's usage, `x-ratelimit-*` headers or error.

Under budget, `acquire` is one bucket check and returns at once (no lock, no task, no
sleep). Over budget, the call joins a per-model :class:`~sipai.resilience.fairness.FairQueue`
and one dispatcher task per model admits waiting calls round-robin across users as the
buckets refill (with a shared store, every worker serves the same rounds). A call is never
held longer than `max_wait`: when the buckets alone need longer (a spent daily quota, a
long `retry-after`) or the deadline passes in the queue, it fails at once with
:class:`BudgetExhausted`, which the retry policy does not retry and the router answers by
moving to the next model. A call larger than a bucket's capacity fails with
:class:`~sipai.errors.RequestTooLarge`, so the router shrinks the context without a round
trip.

Reservations are estimates (Sip counts prompt tokens without Groq's tokenizer), and a
queue that runs the bucket dry admits each call the instant the estimate says it fits, so
an estimate short by a single token would meet a 429. The limiter therefore reserves
`pad` (2%) more than asked and trues every reservation up to the provider's figures when
the call settles: the prompt tokens it reported (when the client says how much of the
reservation was prompt), the headers, a refusal. In steady state the pad costs nothing but
those 2% (the budget's refill, not its level, sets the throughput).

If the budget store fails (Redis down), calls go through and Groq's own 429s, which the
retry policy honours, are the safety net: an outage of the limiter must not silence Sip.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from dataclasses import dataclass, field

from sipai.errors import ProviderError, RateLimited, RequestTooLarge
from sipai.llm.types import RateLimitInfo, Usage
from sipai.observability import metrics
from sipai.resilience.budget import DEFAULT_BLOCK, BudgetStore, Decision, Settlement
from sipai.resilience.clock import Clock, MonotonicClock
from sipai.resilience.fairness import FairQueue, current_caller

log = logging.getLogger(__name__)

#: Shortest pause between two looks at a shared budget while others are ahead in line.
MIN_POLL = 0.001


class BudgetExhausted(RateLimited):
    """Sip's own limiter will not send this call in time; the next model should answer it."""

    code = "local_rate_limit"
    retryable = False


@dataclass(eq=False, slots=True)
class _Waiter:
    caller: str
    tokens: int
    room: int | None
    future: asyncio.Future[LimiterPermit]
    enqueued: float
    deadline: float


@dataclass(slots=True)
class _Lane:
    """The waiting calls of one model and the task that admits them."""

    queue: FairQueue[_Waiter] = field(default_factory=FairQueue)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class LimiterPermit:
    """One admitted attempt; settling it reconciles the budget with what the provider said."""

    __slots__ = ("_limiter", "_settled", "model", "room", "stamp", "tokens")

    def __init__(self, limiter: RateLimiter, model: str, tokens: int, stamp: float,
                 room: int | None = None) -> None:
        self._limiter = limiter
        self.model = model
        #: Tokens reserved (the request's estimate plus the pad).
        self.tokens = tokens
        self.stamp = stamp
        #: The completion room (`max_completion_tokens`) inside the reservation, if known.
        self.room = room
        self._settled = False

    def settle(self, *, usage: Usage | None, ratelimit: RateLimitInfo | None,
               error: ProviderError | None) -> None:
        """Report the attempt's outcome (once; later calls are ignored)."""
        if self._settled:
            return
        self._settled = True
        self._limiter.reconcile(self.model, self._limiter.settlement(
            self.tokens, self.stamp, usage=usage, ratelimit=ratelimit, error=error,
            room=self.room))

    def release(self) -> None:
        """Give the whole reservation back: the attempt was never sent."""
        if not self._settled:
            self._settled = True
            self._limiter.reconcile(self.model, Settlement(
                self.tokens, self.stamp, refund_tokens=self.tokens, refund_request=True))


class RateLimiter:
    """Admits provider attempts within each model's budget; the rest wait their turn."""

    def __init__(self, store: BudgetStore, *, clock: Clock | None = None,
                 max_wait: float = 20.0, pad: float = 0.02, refund_unused: bool = False,
                 name: str | None = None) -> None:
        self.store = store
        self.clock: Clock = clock or MonotonicClock()
        #: The longest a call is held before it fails over to the next model.
        self.max_wait = max_wait
        #: Share reserved on top of each estimate (see the module docstring).
        self.pad = pad
        #: Give back the unused part of `max_completion_tokens` after a call. Groq (and the
        #: emulator) charge it at admission and keep it, so this is off by default: an
        #: optimistic refund the provider does not make turns into 429s.
        self.refund_unused = refund_unused
        self._id = name or uuid.uuid4().hex[:12]
        self._lanes: dict[str, _Lane] = {}
        self._background: set[asyncio.Task[None]] = set()

    # -- the Gate ---------------------------------------------------------------------

    async def acquire(self, model: str, tokens: int, *,
                      prompt_tokens: int | None = None) -> LimiterPermit:
        """Wait for room for one request of `tokens` tokens on `model`; return its permit.

        `prompt_tokens`, when the caller knows it, is the estimated prompt inside `tokens`
        (the rest being `max_completion_tokens`): settling then trues the reservation up
        to the prompt tokens the provider reports.
        """
        room = tokens - prompt_tokens if prompt_tokens is not None else None
        tokens = math.ceil(tokens * (1 + self.pad))
        lane = self._lanes.get(model)
        if lane is None:
            lane = self._lanes[model] = _Lane()
        if not lane.queue:
            decision = await self._try(model, tokens, None)
            if decision.admitted:
                metrics.limiter_waits.observe(0.0)
                return LimiterPermit(self, model, tokens, decision.stamp, room)
            if decision.too_large or decision.wait > self.max_wait:
                raise self._refusal(model, tokens, decision)
        caller = current_caller()
        tag = await self._tag(model, caller)
        now = self.clock.now()
        waiter = _Waiter(caller, tokens, room,
                         asyncio.get_running_loop().create_future(), now, now + self.max_wait)
        lane.queue.push(caller, waiter, tag)
        metrics.rate_limits_avoided.inc()
        self._kick(model, lane)
        try:
            permit = await waiter.future
        except asyncio.CancelledError:
            if lane.queue.remove(waiter):
                lane.wake.set()
            elif waiter.future.done() and not waiter.future.cancelled() \
                    and waiter.future.exception() is None:
                waiter.future.result().release()
            raise
        metrics.limiter_waits.observe(self.clock.now() - waiter.enqueued)
        return permit

    # -- settling -----------------------------------------------------------------------

    def settlement(self, tokens: int, stamp: float, *, usage: Usage | None,
                   ratelimit: RateLimitInfo | None, error: ProviderError | None,
                   room: int | None = None) -> Settlement:
        """What an attempt's outcome means for the budget (`tokens` as reserved)."""
        refund_tokens, refund_request, block = 0, False, None
        if error is not None and error.status is not None:
            # An HTTP error answer: the provider refused before generating; it cost nothing.
            refund_tokens, refund_request = tokens, True
            if isinstance(error, RateLimited) and not _explained(error, ratelimit, tokens):
                block = error.retry_after if error.retry_after is not None else DEFAULT_BLOCK
        elif error is None and usage is not None and usage.prompt_tokens:
            if self.refund_unused:
                refund_tokens = tokens - usage.total_tokens
            elif room is not None:
                # Groq charges the reported prompt plus the whole completion room.
                refund_tokens = tokens - (usage.prompt_tokens + room)
        return Settlement(
            tokens, stamp, refund_tokens=refund_tokens, refund_request=refund_request,
            remaining_requests=ratelimit.remaining_requests if ratelimit else None,
            remaining_tokens=ratelimit.remaining_tokens if ratelimit else None,
            block_for=block)

    def reconcile(self, model: str, settlement: Settlement) -> None:
        """Apply a settlement in the background (permits settle synchronously)."""
        if settlement.block_for is not None:
            log.warning("limiter.blocked", extra={"model": model,
                                                  "seconds": round(settlement.block_for, 3)})
        task = asyncio.get_running_loop().create_task(self._reconcile(model, settlement))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _reconcile(self, model: str, settlement: Settlement) -> None:
        try:
            await self.store.settle(model, settlement)
        except Exception as exc:  # the budget store is best effort (see module docstring)
            log.warning("limiter.store_failed", extra={"op": "settle",
                                                       "error": type(exc).__name__})
            return
        lane = self._lanes.get(model)
        if lane is not None and (settlement.refund_tokens or settlement.refund_request):
            lane.wake.set()

    # -- introspection and shutdown -----------------------------------------------------

    def waiting(self, model: str | None = None) -> int:
        """How many calls wait (for `model`, or for every model)."""
        lanes = [self._lanes[model]] if model in self._lanes else \
            ([] if model is not None else list(self._lanes.values()))
        return sum(len(lane.queue) for lane in lanes)

    async def drain(self) -> None:
        """Wait for pending settlements (tests and shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def aclose(self) -> None:
        """Stop the dispatchers, fail whoever still waits, finish pending settlements."""
        for model, lane in self._lanes.items():
            if lane.task is not None:
                lane.task.cancel()
            while (waiter := lane.queue.pop()) is not None:
                if not waiter.future.done():
                    waiter.future.set_exception(BudgetExhausted(
                        "the rate limiter is shutting down", model=model))
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.drain()

    # -- internals ----------------------------------------------------------------------

    async def _try(self, model: str, tokens: int, member: str | None,
                   order: int | None = None) -> Decision:
        try:
            return await self.store.try_acquire(model, tokens, member=member, order=order)
        except Exception as exc:  # fail open: Groq's 429s and the retry policy still hold
            log.warning("limiter.store_failed", extra={"op": "acquire",
                                                       "error": type(exc).__name__})
            return Decision(True, stamp=self.clock.now())

    async def _tag(self, model: str, caller: str) -> int | None:
        try:
            return await self.store.tag(model, caller)
        except Exception as exc:  # this worker's own rounds will do
            log.warning("limiter.store_failed", extra={"op": "tag",
                                                       "error": type(exc).__name__})
            return None

    def _refusal(self, model: str, tokens: int, decision: Decision) -> ProviderError:
        if decision.too_large:
            return RequestTooLarge(
                f"a call of {tokens} tokens exceeds the {decision.limit} limit",
                model=model, code="request_too_large")
        daily = decision.limit in ("RPD", "TPD") or decision.wait > 3_600
        log.info("limiter.refused", extra={"model": model, "limit": decision.limit,
                                           "wait_s": round(decision.wait, 3)})
        return BudgetExhausted(f"{decision.limit or 'queue'} budget will not allow this call "
                               f"within {self.max_wait:g}s", scope="day" if daily else "minute",
                               retry_after=decision.wait, model=model)

    def _kick(self, model: str, lane: _Lane) -> None:
        # A newcomer never changes who is served next, so a sleeping dispatcher stays asleep.
        if lane.task is None or lane.task.done():
            lane.task = asyncio.get_running_loop().create_task(self._dispatch(model, lane))

    def _expire(self, model: str, lane: _Lane, now: float) -> None:
        while (oldest := lane.queue.oldest()) is not None and \
                (oldest.deadline <= now or oldest.future.done()):
            lane.queue.remove(oldest)
            if not oldest.future.done():
                oldest.future.set_exception(BudgetExhausted(
                    f"waited {self.max_wait:g}s in the rate limiter's queue",
                    retry_after=0.0, model=model))

    async def _dispatch(self, model: str, lane: _Lane) -> None:
        """Admit waiting calls of `model`, round-robin across callers, as budget allows."""
        member = f"{self._id}:{model}"
        joined = False
        while True:
            while lane.queue:
                now = self.clock.now()
                self._expire(model, lane, now)
                head = lane.queue.peek()
                if head is None:
                    break
                if head.future.done():
                    lane.queue.remove(head)
                    continue
                decision = await self._try(model, head.tokens, member,
                                           lane.queue.tag_of(head))
                joined = not decision.admitted
                if decision.admitted:
                    permit = LimiterPermit(self, model, head.tokens, decision.stamp, head.room)
                    if head.future.done():  # the caller left while we looked
                        lane.queue.remove(head)
                        permit.release()
                    else:
                        lane.queue.pop(head)
                        head.future.set_result(permit)
                    continue
                now = self.clock.now()
                if decision.too_large or decision.wait > head.deadline - now:
                    lane.queue.remove(head)
                    if not head.future.done():
                        head.future.set_exception(self._refusal(model, head.tokens, decision))
                    continue
                oldest = lane.queue.oldest()
                until_deadline = oldest.deadline - now if oldest is not None else decision.wait
                lane.wake.clear()
                await self.clock.wait(lane.wake, max(MIN_POLL, min(decision.wait,
                                                                   until_deadline)))
            if joined:
                joined = False
                try:
                    await self.store.leave(model, member)
                except Exception as exc:
                    log.warning("limiter.store_failed", extra={"op": "leave",
                                                               "error": type(exc).__name__})
            if not lane.queue:
                break
        lane.task = None


def _explained(error: RateLimited, ratelimit: RateLimitInfo | None, tokens: int) -> bool:
    """Whether a 429's own headers show the shortfall (the buckets then set the pace).

    A minute-scope refusal whose `remaining-tokens` is below what the call needed is fully
    described by the headers, which settling applies; anything else (a daily limit, an RPM
    limit the headers do not show, another client on the key) blocks the model for the
    `retry-after` instead.
    """
    return (error.scope != "day" and ratelimit is not None
            and ratelimit.remaining_tokens is not None and ratelimit.remaining_tokens < tokens)
