"""The gate every model attempt passes: admission control the rate limiter plugs into.

:class:`~sipai.llm.client.LLMClient` asks its gate for a :class:`Permit` before each
attempt (how many tokens the attempt may cost) and settles the permit with what happened
(usage, the provider's rate-limit headers, the error). :class:`OpenGate` admits
everything; :class:`sipai.resilience.limiter.RateLimiter` is the real one.
"""

from __future__ import annotations

from typing import Protocol

from sipai.errors import ProviderError
from sipai.llm.types import RateLimitInfo, Usage


class Permit(Protocol):
    """What a gate hands out for one attempt; settled with the attempt's outcome."""

    def settle(self, *, usage: Usage | None, ratelimit: RateLimitInfo | None,
               error: ProviderError | None) -> None: ...


class Gate(Protocol):
    """Admission control around every attempt (the rate limiter implements it)."""

    async def acquire(self, model: str, tokens: int) -> Permit: ...


class _OpenPermit:
    def settle(self, *, usage: Usage | None, ratelimit: RateLimitInfo | None,
               error: ProviderError | None) -> None:
        return None


class OpenGate:
    """A gate that admits everything at once (no client-side limits)."""

    async def acquire(self, model: str, tokens: int) -> Permit:
        return _OpenPermit()


__all__ = ["Gate", "OpenGate", "Permit"]
