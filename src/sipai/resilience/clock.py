"""Time for the resilience layer: the real monotonic clock, or a manual one for tests.

Limiters, breakers and caches never call `time` or `asyncio.sleep` directly; they take a
:class:`Clock`. :class:`MonotonicClock` is the real thing. :class:`ManualClock` is virtual
time: `now()` moves only when a test calls :meth:`ManualClock.advance`, which wakes the
sleepers whose deadline it passes, in order, so tests assert behaviour without timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from typing import Protocol

#: The opening of every Sip Lua script in Redis: `now` is ARGV[1] when the caller passes its
#: own clock (tests), else Redis's `TIME`, so the workers' clocks need not agree.
LUA_NOW = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""


class Clock(Protocol):
    """Seconds that only go forward, and ways to wait on them."""

    def now(self) -> float:
        """The current time in seconds (any origin; only differences matter)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return after `seconds`."""
        ...

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        """Wait until `event` is set or `seconds` pass; True if the event was set."""
        ...


class MonotonicClock:
    """The process's monotonic clock and the event loop's timers."""

    def now(self) -> float:
        """`time.monotonic()`."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """`asyncio.sleep`, never negative."""
        await asyncio.sleep(max(0.0, seconds))

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        """`event.wait()` bounded by `seconds`."""
        if event.is_set():
            return True
        if seconds <= 0:
            return False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await event.wait()
        return event.is_set()


class ManualClock:
    """Virtual time for tests: sleeps end only when :meth:`advance` passes their deadline."""

    def __init__(self, start: float = 1_000.0) -> None:
        self._now = start
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> float:
        """The virtual time."""
        return self._now

    def _timer(self, seconds: float) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if seconds <= 0:
            future.set_result(None)
        else:
            heapq.heappush(self._timers, (self._now + seconds, next(self._order), future))
        return future

    async def sleep(self, seconds: float) -> None:
        """Wait until virtual time has advanced by `seconds`."""
        await self._timer(seconds)

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        """Wait for `event` or for virtual time to advance by `seconds`."""
        if event.is_set():
            return True
        if seconds <= 0:
            return False
        timer = self._timer(seconds)
        waiter: asyncio.Future[None] = asyncio.ensure_future(self._until(event))
        try:
            await asyncio.wait([timer, waiter], return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            timer.cancel()
        return event.is_set()

    @staticmethod
    async def _until(event: asyncio.Event) -> None:
        await event.wait()

    @property
    def sleepers(self) -> int:
        """How many sleeps are pending (cancelled ones excluded)."""
        return sum(1 for _, _, future in self._timers if not future.done())

    async def settle(self, rounds: int = 20) -> None:
        """Let every task that can run without time passing do so."""
        for _ in range(rounds):
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking each sleeper at its own deadline, in order."""
        target = self._now + seconds
        await self.settle()
        while self._timers and self._timers[0][0] <= target:
            deadline, _, future = heapq.heappop(self._timers)
            self._now = max(self._now, deadline)
            if not future.done():
                future.set_result(None)
                await self.settle()
        self._now = target
        await self.settle()
