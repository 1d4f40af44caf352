"""The model router: the primary model, then each fallback, each behind its circuit breaker.

For every model in the chain the router asks its breaker, then calls the client (whose retry
policy is the only retry owner, and whose gate is the rate limiter). A model that fails in a
way another model may not (unavailable, rate limited for longer than the policy waits,
decommissioned, not found, timed out, breaker open, the limiter's queue too long) hands over
to the next. When every model fails, :class:`AllModelsFailed` tells the service to answer
from the offline brain.

Time spent on one model is bounded: each model gets `model_deadline` seconds, and a retry
that would end past it is not made (the next model is tried instead). A model that is slow
rather than broken — a timeout, or a stream that stalls (no chunk for the client's
`stall_timeout`) — is not retried at all while another model remains: the call is re-routed
at once. Streams fall back only before their first token; after it, any failure reaches the
service as :class:`~sipai.errors.StreamInterrupted`, which keeps what the user saw.

A 413 (or the limiter's local equivalent) is answered by shrinking the context and trying the
same model again, never by resending the request as is. Only failures that say the model is
unhealthy (:func:`~sipai.resilience.breaker.counts_against`) count against its breaker.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sipai.errors import (
    CircuitOpen,
    ProviderError,
    ProviderTimeout,
    RequestTooLarge,
    StreamInterrupted,
)
from sipai.llm.client import LLMClient
from sipai.llm.retry import RetryPolicy
from sipai.llm.types import ChatMessage, Completion, StreamEnd, StreamEvent, TextDelta
from sipai.observability import metrics
from sipai.resilience.breaker import Breaker, counts_against

log = logging.getLogger(__name__)

#: Rebuilds the request smaller after a 413; None when it cannot shrink any further.
Shrink = Callable[[], Sequence[ChatMessage] | None]
#: Shrinks tried for one model before giving up on it.
MAX_SHRINKS = 2
#: Opens one attempt on one model: (messages, model, retry policy) -> its events.
_Call = Callable[[Sequence[ChatMessage], str, RetryPolicy], AsyncIterator[StreamEvent]]


class _AlwaysClosed:
    async def allow(self) -> bool:
        return True

    async def record(self, ok: bool) -> None:
        return None


@dataclass(slots=True)
class BoundedRetry(RetryPolicy):
    """The client's retry policy, limited to one model's deadline; slow failures re-route."""

    deadline: float = math.inf
    reroute_slow: bool = False
    now: Callable[[], float] = time.monotonic

    def delay(self, error: ProviderError, attempt: int) -> float | None:
        """Like :meth:`RetryPolicy.delay`, but None past the deadline or for a slow model."""
        if self.reroute_slow and (isinstance(error, ProviderTimeout)
                                  or error.code == "stream_stalled"):
            return None
        wait = RetryPolicy.delay(self, error, attempt)
        if wait is None or self.now() + wait > self.deadline:
            return None
        return wait

    @classmethod
    def around(cls, base: RetryPolicy, *, deadline: float, reroute_slow: bool,
               now: Callable[[], float]) -> BoundedRetry:
        """`base`'s settings (delays, limits, sleep, randomness) with a deadline added."""
        copied = {f.name: getattr(base, f.name) for f in dataclasses.fields(RetryPolicy)}
        return cls(**copied, deadline=deadline, reroute_slow=reroute_slow, now=now)


@dataclass(frozen=True, slots=True)
class Routed:
    """The answer and how it was reached."""

    completion: Completion
    model: str
    fallback: bool
    failures: tuple[str, ...] = ()


class AllModelsFailed(ProviderError):
    """No model in the chain could answer."""

    def __init__(self, errors: list[ProviderError]) -> None:
        super().__init__("every model failed", code="all_models_failed")
        self.errors = errors


class ModelRouter:
    """Routes a request along the model chain."""

    def __init__(self, client: LLMClient, models: Sequence[str],
                 breakers: Callable[[str], Breaker] | None = None, *,
                 model_deadline: float | None = None,
                 now: Callable[[], float] = time.monotonic) -> None:
        if not models:
            raise ValueError("the router needs at least one model")
        self.client = client
        self.models = list(models)
        self._breakers = breakers or (lambda model: _AlwaysClosed())
        #: Seconds one model may take, retries included, before the next is tried.
        self.model_deadline = model_deadline
        self._now = now

    def _policy(self, index: int) -> RetryPolicy:
        last = index == len(self.models) - 1
        deadline = self._now() + self.model_deadline if self.model_deadline else math.inf
        return BoundedRetry.around(self.client.retry, deadline=deadline,
                                   reroute_slow=not last, now=self._now)

    async def complete(self, messages: Sequence[ChatMessage], *, shrink: Shrink | None = None,
                       **params: Any) -> Routed:
        """The first answer the chain produces; AllModelsFailed if none does."""
        async def once(current: Sequence[ChatMessage], model: str,
                       policy: RetryPolicy) -> AsyncIterator[StreamEvent]:
            yield StreamEnd(await self.client.complete(current, model=model, retry=policy,
                                                       **params))

        routed: Routed | None = None
        async for event in self._route(messages, shrink, once):
            if isinstance(event, Routed):
                routed = event
        # _route yields exactly one Routed and then ends, or raises AllModelsFailed.
        assert routed is not None
        return routed

    async def stream(self, messages: Sequence[ChatMessage], *, shrink: Shrink | None = None,
                     **params: Any) -> AsyncIterator[TextDelta | Routed]:
        """Deltas from the first model that starts answering, then a Routed."""
        def call(current: Sequence[ChatMessage], model: str,
                 policy: RetryPolicy) -> AsyncIterator[StreamEvent]:
            return self.client.stream(current, model=model, retry=policy, **params)

        # aclosing: a caller that stops reading closes the loop at once, as before the split.
        async with contextlib.aclosing(self._route(messages, shrink, call)) as events:
            async for event in events:
                yield event

    async def _route(self, messages: Sequence[ChatMessage], shrink: Shrink | None,
                     call: _Call) -> AsyncGenerator[TextDelta | Routed, None]:
        """The per-model loop both entry points share: breaker, deadline, shrink, hand-over.

        `call` opens one attempt on one model; a completion is a stream with no deltas.
        """
        errors: list[ProviderError] = []
        for index, model in enumerate(self.models):
            breaker = self._breakers(model)
            if not await breaker.allow():
                errors.append(CircuitOpen("breaker open", model=model))
                continue
            current = messages
            policy = self._policy(index)
            for attempt in range(MAX_SHRINKS + 1):
                started = False
                try:
                    async for event in call(current, model, policy):
                        if isinstance(event, TextDelta):
                            started = True
                            yield event
                        elif isinstance(event, StreamEnd):
                            await breaker.record(True)
                            yield Routed(event.completion, model, index > 0,
                                         tuple(e.code for e in errors))
                            return
                except RequestTooLarge as error:
                    if started:
                        raise _cut(error, model) from error
                    smaller = shrink() if shrink and attempt < MAX_SHRINKS else None
                    if smaller is None:
                        errors.append(error)
                        break
                    current = smaller
                    continue
                except ProviderError as error:
                    if started:
                        if counts_against(error):
                            await breaker.record(False)
                        _count(model, error)
                        raise _cut(error, model) from error
                    await self._failed(breaker, model, error, errors)
                    if not error.fallback:
                        raise AllModelsFailed(errors) from error
                    break
                # The stream ended without its closing event: treat as broken, next model.
                broken = StreamInterrupted("the stream ended early", model=model,
                                           code="stream_truncated")
                if started:
                    raise broken
                await self._failed(breaker, model, broken, errors)
                break
        raise AllModelsFailed(errors)

    async def _failed(self, breaker: Breaker, model: str, error: ProviderError,
                      errors: list[ProviderError]) -> None:
        if counts_against(error):
            await breaker.record(False)
        errors.append(error)
        _count(model, error)
        log.warning("router.model_failed", extra={"model": model, "code": error.code,
                                                  "status": error.status})


def _count(model: str, error: ProviderError) -> None:
    metrics.provider_errors.labels(model, error.code).inc()


def _cut(error: ProviderError, model: str) -> StreamInterrupted:
    """The error a stream raises once the user has seen part of the answer."""
    if isinstance(error, StreamInterrupted):
        return error
    return StreamInterrupted(f"the stream broke after it started ({error.code})", model=model,
                             code=error.code, status=error.status)
