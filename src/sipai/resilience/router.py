"""The model router: the primary model, then each fallback, each behind its circuit breaker.

For every model in the chain the router asks its breaker, then calls the client (whose retry
policy is the only retry owner, and whose gate is the rate limiter). A model that fails in a
way another model may not (unavailable, rate limited for longer than the policy waits,
decommissioned, not found, timed out, breaker open) hands over to the next. A 413 is
answered by shrinking the context and trying the same model once, never by resending it as
is. A stream falls back only before its first token; after that the error propagates to the
service, which keeps what the user saw. When every model fails, :class:`AllModelsFailed`
tells the service to answer from the offline brain.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sipai.errors import CircuitOpen, ProviderError, RequestTooLarge
from sipai.llm.client import LLMClient
from sipai.llm.types import ChatMessage, Completion, StreamEnd, TextDelta
from sipai.observability import metrics

log = logging.getLogger(__name__)

#: Rebuilds the request smaller after a 413; None when it cannot shrink any further.
Shrink = Callable[[], Sequence[ChatMessage] | None]


class Breaker(Protocol):
    """A circuit breaker for one model (see resilience/breaker.py)."""

    async def allow(self) -> bool: ...
    async def record(self, ok: bool) -> None: ...


class _AlwaysClosed:
    async def allow(self) -> bool:
        return True

    async def record(self, ok: bool) -> None:
        return None


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
                 breakers: Callable[[str], Breaker] | None = None) -> None:
        if not models:
            raise ValueError("the router needs at least one model")
        self.client = client
        self.models = list(models)
        self._breakers = breakers or (lambda model: _AlwaysClosed())

    async def complete(self, messages: Sequence[ChatMessage], *, shrink: Shrink | None = None,
                       **params: Any) -> Routed:
        """The first answer the chain produces; AllModelsFailed if none does."""
        errors: list[ProviderError] = []
        for index, model in enumerate(self.models):
            breaker = self._breakers(model)
            if not await breaker.allow():
                errors.append(CircuitOpen("breaker open", model=model))
                continue
            current = messages
            for _ in range(3):
                try:
                    completion = await self.client.complete(current, model=model, **params)
                except RequestTooLarge as error:
                    smaller = shrink() if shrink else None
                    if smaller is None:
                        errors.append(error)
                        break
                    current = smaller
                    continue
                except ProviderError as error:
                    await breaker.record(False)
                    errors.append(error)
                    _log_failover(model, error)
                    if not error.fallback:
                        raise AllModelsFailed(errors) from error
                    break
                await breaker.record(True)
                return Routed(completion, model, index > 0, tuple(e.code for e in errors))
        raise AllModelsFailed(errors)

    async def stream(self, messages: Sequence[ChatMessage], *, shrink: Shrink | None = None,
                     **params: Any) -> AsyncIterator[TextDelta | Routed]:
        """Deltas from the first model that starts answering, then a Routed."""
        errors: list[ProviderError] = []
        for index, model in enumerate(self.models):
            breaker = self._breakers(model)
            if not await breaker.allow():
                errors.append(CircuitOpen("breaker open", model=model))
                continue
            current = messages
            for _ in range(3):
                started = False
                try:
                    async for event in self.client.stream(current, model=model, **params):
                        if isinstance(event, TextDelta):
                            started = True
                            yield event
                        elif isinstance(event, StreamEnd):
                            await breaker.record(True)
                            yield Routed(event.completion, model, index > 0,
                                         tuple(e.code for e in errors))
                            return
                except RequestTooLarge as error:
                    smaller = shrink() if shrink else None
                    if smaller is None:
                        errors.append(error)
                        break
                    current = smaller
                    continue
                except ProviderError as error:
                    await breaker.record(False)
                    if started:
                        raise
                    errors.append(error)
                    _log_failover(model, error)
                    if not error.fallback:
                        raise AllModelsFailed(errors) from error
                    break
                break
        raise AllModelsFailed(errors)


def _log_failover(model: str, error: ProviderError) -> None:
    metrics.provider_errors.labels(model, error.code).inc()
    log.warning("router.model_failed", extra={"model": model, "code": error.code,
                                              "status": error.status})
