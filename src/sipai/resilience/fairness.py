"""Who is asking, and a queue that serves askers in turn.

The rate limiter serves waiting calls round-robin across *callers* (customers), so one user
who sends ten messages at once waits behind everybody else's next message instead of in
front of it. The caller is carried by a context variable: :func:`acting_for` sets it for
the current task (the per-user limiter does so when it checks a user, so every provider
call of that turn, including its background summary, counts for that user). Calls with no
caller share one lane, `""`.

:class:`FairQueue` is the queue itself: round-robin by *virtual time* (start-time fair
queuing). Each item is stamped with a start tag, `max(now_tag, caller's last tag + 1)`,
and the smallest tag is served first (ties by arrival). With every caller waiting this is
plain round-robin — one item per caller per round, FIFO within a caller — but a customer
who comes back after being served (they had to read the answer and type) rejoins at the
current round instead of behind a full round of users who never left, so keeping many
messages in flight buys no larger share.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Generic, TypeVar

T = TypeVar("T")

_caller: ContextVar[str] = ContextVar("sip_caller", default="")


def current_caller() -> str:
    """The caller the running task acts for (`""` when none was set)."""
    return _caller.get()


def set_caller(caller: str) -> None:
    """Mark the running task (and tasks it starts later) as acting for `caller`."""
    _caller.set(caller)


@contextlib.contextmanager
def acting_for(caller: str) -> Iterator[None]:
    """Within the block, provider calls are queued as `caller`'s."""
    token = _caller.set(caller)
    try:
        yield
    finally:
        _caller.reset(token)


class FairQueue(Generic[T]):
    """Fair across callers (one turn each per round), FIFO within each caller."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, int]] = []  # (start tag, arrival, item id)
        self._items: dict[int, tuple[T, str, int]] = {}  # id -> (item, caller, start tag)
        self._finish: dict[str, int] = {}  # caller -> tag after their last queued item
        self._queued: dict[str, int] = {}  # caller -> items waiting
        self._arrival = itertools.count()
        self._now = 0  # the tag of the item served last
        self._served = 0

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    @property
    def callers(self) -> int:
        """How many callers have something waiting."""
        return len(self._queued)

    def push(self, caller: str, item: T, tag: int | None = None) -> None:
        """Queue `item` behind `caller`'s earlier items, in this round or a later one.

        `tag` is a start tag handed out elsewhere (by the shared store, so that workers
        agree on the rounds); by default the queue stamps the item itself.
        """
        start = max(self._now, self._finish.get(caller, 0)) if tag is None else tag
        self._finish[caller] = max(self._finish.get(caller, 0), start + 1)
        self._queued[caller] = self._queued.get(caller, 0) + 1
        self._items[id(item)] = (item, caller, start)
        heapq.heappush(self._heap, (start, next(self._arrival), id(item)))

    def peek(self) -> T | None:
        """The item that will be served next, or None when empty."""
        while self._heap:
            entry = self._items.get(self._heap[0][2])
            if entry is not None:
                return entry[0]
            heapq.heappop(self._heap)  # removed earlier
        return None

    def pop(self, item: T | None = None) -> T | None:
        """Serve `item` (by default the next one): the current round moves to its tag."""
        if item is None:
            item = self.peek()
            if item is None:
                return None
        entry = self._items.get(id(item))
        if entry is None:
            return None
        self._now = max(self._now, entry[2])
        self.remove(item)
        self._served += 1
        if self._served % 1024 == 0:
            self._forget_idle()
        return item

    def remove(self, item: T) -> bool:
        """Take `item` out without serving it (a cancelled call); False if it was not queued."""
        entry = self._items.pop(id(item), None)
        if entry is None:
            return False
        caller = entry[1]
        left = self._queued[caller] - 1
        if left:
            self._queued[caller] = left
        else:
            del self._queued[caller]
        return True

    def _forget_idle(self) -> None:
        """Drop the tags of callers with nothing queued whose tag the round has passed."""
        for caller in [c for c, tag in self._finish.items()
                       if tag <= self._now and c not in self._queued]:
            del self._finish[caller]

    def tag_of(self, item: T) -> int | None:
        """The start tag of a queued item (None if it is not queued)."""
        entry = self._items.get(id(item))
        return entry[2] if entry is not None else None

    def oldest(self) -> T | None:
        """The item queued first, whoever's it is (for deadlines)."""
        return next(iter(self._items.values()))[0] if self._items else None
