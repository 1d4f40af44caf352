"""The one place Sip retries a provider call.

The SDK is built with `max_retries=0`; this policy retries what is worth retrying (408, 409,
429, 5xx, timeouts, dropped connections, broken streams before their first token) with
jittered exponential backoff, honouring `retry-after`. It never retries a rejection (401,
404, 413, other 400s) and gives up at once when the provider asks for a wait longer than
`max_retry_after` (a daily limit): the router then moves on to a fallback model instead.
The clock and the randomness are injectable so tests control them.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sipai.errors import ProviderError

log = logging.getLogger(__name__)
T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


@dataclass(slots=True)
class RetryPolicy:
    """How many times, and after how long, to try a failed call again."""

    max_retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 8.0
    #: A retry-after longer than this is not waited for: the caller falls back instead.
    max_retry_after: float = 20.0
    sleep: Sleep = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, error: ProviderError, attempt: int) -> float | None:
        """Seconds to wait before retry number `attempt` (1-based), or None to give up."""
        if not error.retryable or attempt > self.max_retries:
            return None
        if error.retry_after is not None:
            if error.retry_after > self.max_retry_after:
                return None
            # A little jitter on top so that many waiting callers do not return in lockstep.
            return float(error.retry_after) + self.rng.uniform(0, min(1.0, self.base_delay))
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        # "Equal jitter": at least half the exponential step, at most all of it.
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    async def run(self, call: Callable[[int], Awaitable[T]]) -> T:
        """Run `call(attempt)` until it succeeds or the policy gives up; re-raise the last error."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await call(attempt)
            except ProviderError as error:
                wait = self.delay(error, attempt)
                if wait is None:
                    raise
                log.info("llm.retry", extra={"attempt": attempt, "code": error.code,
                                             "status": error.status, "wait_s": round(wait, 3),
                                             "model": error.model})
                await self.sleep(wait)


NO_RETRY = RetryPolicy(max_retries=0)
