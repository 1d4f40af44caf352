"""Telegram update de-duplication: each `update_id` is handled by one worker, once.

Telegram re-delivers a webhook update when the answer is slow or lost, and behind a load
balancer the retry may reach another worker. The webhook handler claims the update first,
drops it when someone else has it, and marks it done (or releases it on failure, so
Telegram's retry is processed instead of lost):

    updates = sip.resilience.updates
    if not await updates.claim(update.update_id):
        return  # an earlier delivery is being (or was) handled
    try:
        await handle(update)
    except Exception:
        await updates.release(update.update_id)
        raise
    await updates.done(update.update_id)

A claim is a *lease* (`lease`, two minutes by default): if the worker dies mid-update, the
lease runs out and Telegram's next delivery is handled. `done` keeps the id for `ttl`
(a day; Telegram stops retrying long before). In memory, ids are kept in arrival order
and the oldest beyond `max_entries` are forgotten; in Redis a claim is one
`SET key 1 NX PX lease`, atomic across workers. If Redis fails the update is processed: a
rare duplicate answer is better than a lost message.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from redis.asyncio import Redis

from sipai.resilience.clock import Clock, MonotonicClock

log = logging.getLogger(__name__)

DEFAULT_TTL = 86_400.0
DEFAULT_LEASE = 120.0


class UpdateDeduplicator:
    """Claims update ids, in this process or (given `redis`) across workers."""

    def __init__(self, *, redis: Redis | None = None, namespace: str = "telegram",
                 prefix: str = "sip", ttl: float = DEFAULT_TTL, lease: float = DEFAULT_LEASE,
                 max_entries: int = 100_000, clock: Clock | None = None) -> None:
        self.redis = redis
        self.key_prefix = f"{prefix}:update:{namespace}:"
        self.ttl = ttl
        self.lease = min(lease, ttl)
        self.max_entries = max_entries
        self.clock: Clock = clock or MonotonicClock()
        self._seen: OrderedDict[str, float] = OrderedDict()

    async def claim(self, update_id: int | str) -> bool:
        """True when this caller should handle `update_id` (nobody holds or finished it)."""
        key = f"{self.key_prefix}{update_id}"
        if self.redis is None:
            return self._set(key, self.lease, only_new=True)
        try:
            won = await self.redis.set(key, b"1", nx=True, px=_ms(self.lease))
        except Exception as exc:
            log.warning("dedup.store_failed", extra={"op": "claim", "error": type(exc).__name__})
            return True
        return bool(won)

    async def done(self, update_id: int | str) -> None:
        """`update_id` was handled: refuse re-deliveries for the whole TTL."""
        key = f"{self.key_prefix}{update_id}"
        if self.redis is None:
            self._set(key, self.ttl, only_new=False)
            return
        try:
            await self.redis.set(key, b"2", px=_ms(self.ttl))
        except Exception as exc:
            log.warning("dedup.store_failed", extra={"op": "done", "error": type(exc).__name__})

    async def release(self, update_id: int | str) -> None:
        """Handling `update_id` failed: let the next delivery be handled."""
        key = f"{self.key_prefix}{update_id}"
        if self.redis is None:
            self._seen.pop(key, None)
            return
        try:
            await self.redis.delete(key)
        except Exception as exc:
            log.warning("dedup.store_failed", extra={"op": "release",
                                                     "error": type(exc).__name__})

    def _set(self, key: str, seconds: float, *, only_new: bool) -> bool:
        now = self.clock.now()
        expires = self._seen.get(key)
        if only_new and expires is not None and expires > now:
            return False
        self._seen[key] = now + seconds
        self._seen.move_to_end(key)
        while self._seen:
            oldest, oldest_expiry = next(iter(self._seen.items()))
            if len(self._seen) <= self.max_entries and oldest_expiry > now:
                break
            del self._seen[oldest]
        return True


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
