"""An in-memory unit of work with the same behaviour as the SQL one, for fast service tests.

    store = MemoryStore()
    uow = FakeUnitOfWork(store)          # or FakeUnitOfWork(): a fresh store of its own
    await ask(..., uow=uow)
    assert uow.committed

Each `async with` block works on a copy of the store; `commit()` writes the block's
changes back and a rollback throws them away, so a service that forgets to commit is
caught. Repositories hand out copies, as the SQL ones do: a change is kept only if it is
saved. Ticket, feedback and usage ids come from counters that, like database sequences,
are never rolled back.
"""

from __future__ import annotations

import builtins
import copy
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from sipai.errors import NotFound
from sipai.storage.memory_stats import MemoryStatsQueries, sum_usage
from sipai.storage.stats import UsageTotals
from sipai.storage.unit_of_work import UnitOfWork
from sipai.support.domain import Conversation, Feedback, Message, Ticket, UsageRecord, utcnow

K = TypeVar("K")
V = TypeVar("V")


class _Table(Generic[K, V]):
    """A dict that remembers which keys a unit of work wrote or deleted."""

    def __init__(self, rows: dict[K, V]) -> None:
        self.rows: dict[K, V] = {}
        self.written: set[K] = set()
        self.deleted: set[K] = set()
        self.reset(rows)

    def reset(self, rows: dict[K, V]) -> None:
        # In place: the stats queries hold on to this dict.
        self.rows.clear()
        self.rows.update(copy.deepcopy(rows))
        self.written.clear()
        self.deleted.clear()

    def put(self, key: K, value: V) -> None:
        self.rows[key] = copy.deepcopy(value)
        self.written.add(key)
        self.deleted.discard(key)

    def get(self, key: K) -> V | None:
        value = self.rows.get(key)
        return None if value is None else copy.deepcopy(value)

    def remove_where(self, doomed: Callable[[V], bool]) -> int:
        keys = [key for key, value in self.rows.items() if doomed(value)]
        for key in keys:
            del self.rows[key]
            self.deleted.add(key)
            self.written.discard(key)
        return len(keys)

    def select(self, keep: Callable[[V], bool]) -> list[V]:
        return [copy.deepcopy(value) for value in self.rows.values() if keep(value)]

    def live(self) -> Iterator[V]:
        """The stored objects themselves, for reading."""
        return iter(list(self.rows.values()))

    def edit_where(self, change: Callable[[V], bool]) -> None:
        """Apply `change` to every row in place; rows it reports changed are written back."""
        for key, value in self.rows.items():
            if change(value):
                self.written.add(key)

    def apply_to(self, target: dict[K, V]) -> None:
        for key in self.deleted:
            target.pop(key, None)
        for key in self.written:
            target[key] = copy.deepcopy(self.rows[key])
        self.written.clear()
        self.deleted.clear()


@dataclass
class MemoryStore:
    """The committed state that fake units of work share."""

    conversations: dict[str, Conversation] = field(default_factory=dict)
    messages: dict[str, Message] = field(default_factory=dict)
    tickets: dict[int, Ticket] = field(default_factory=dict)
    feedback: dict[int, Feedback] = field(default_factory=dict)
    usage: dict[int, UsageRecord] = field(default_factory=dict)
    ticket_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    feedback_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    usage_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))


class _Tables:
    """One unit of work's private copy of every table."""

    def __init__(self, store: MemoryStore) -> None:
        self.conversations = _Table(store.conversations)
        self.messages = _Table(store.messages)
        self.tickets = _Table(store.tickets)
        self.feedback = _Table(store.feedback)
        self.usage = _Table(store.usage)

    def reset(self, store: MemoryStore) -> None:
        """Throw uncommitted changes away: start again from the committed state."""
        self.conversations.reset(store.conversations)
        self.messages.reset(store.messages)
        self.tickets.reset(store.tickets)
        self.feedback.reset(store.feedback)
        self.usage.reset(store.usage)

    def apply_to(self, store: MemoryStore) -> None:
        self.conversations.apply_to(store.conversations)
        self.messages.apply_to(store.messages)
        self.tickets.apply_to(store.tickets)
        self.feedback.apply_to(store.feedback)
        self.usage.apply_to(store.usage)


class FakeConversationRepository:
    """`ConversationRepository` over a `_Tables` copy."""

    def __init__(self, tables: _Tables) -> None:
        self._t = tables.conversations

    async def add(self, conversation: Conversation) -> None:
        self._t.put(conversation.id, conversation)

    async def get(self, conversation_id: str) -> Conversation | None:
        return self._t.get(conversation_id)

    async def active_for(self, user_id: str) -> Conversation | None:
        found = self._t.select(lambda c: c.user_id == user_id and c.status == "active")
        found.sort(key=lambda c: (c.updated_at, c.created_at), reverse=True)
        return found[0] if found else None

    async def for_user(self, user_id: str, limit: int = 50) -> list[Conversation]:
        found = self._t.select(lambda c: c.user_id == user_id)
        found.sort(key=lambda c: c.created_at, reverse=True)
        return found[:limit]

    async def save(self, conversation: Conversation) -> None:
        stored = self._t.get(conversation.id)
        if stored is None:
            raise NotFound("conversation not found")
        # Identity fields never change on save, as in the SQL repository.
        conversation = copy.deepcopy(conversation)
        conversation.user_id, conversation.channel = stored.user_id, stored.channel
        conversation.created_at = stored.created_at
        self._t.put(conversation.id, conversation)

    async def end(self, conversation_id: str, at: datetime | None = None) -> bool:
        stored = self._t.get(conversation_id)
        if stored is None or stored.status != "active":
            return False
        at = at or utcnow()
        stored.status, stored.ended_at, stored.updated_at = "ended", at, at
        self._t.put(conversation_id, stored)
        return True


class FakeMessageRepository:
    """`MessageRepository` over a `_Tables` copy."""

    def __init__(self, tables: _Tables) -> None:
        self._t = tables.messages
        self._conversations = tables.conversations

    async def add(self, message: Message) -> Message:
        conversation = self._conversations.get(message.conversation_id)
        if conversation is None:
            raise NotFound("conversation not found")
        siblings = self._t.select(lambda m: m.conversation_id == message.conversation_id)
        message.seq = max((m.seq for m in siblings), default=0) + 1
        conversation.updated_at = message.created_at
        self._conversations.put(conversation.id, conversation)
        self._t.put(message.id, message)
        return message

    async def add_answer(self, question: Message, answer: Message, *,
                         succeeded: bool | None) -> Conversation:
        stored = self._t.get(question.id)
        await self.add(answer)
        if stored is None:
            raise NotFound("message not found")
        stored.status = question.status
        self._t.put(stored.id, stored)
        conversation = self._conversations.get(answer.conversation_id)
        assert conversation is not None  # add() found it
        if succeeded is not None:
            conversation.failures = 0 if succeeded else conversation.failures + 1
            self._conversations.put(conversation.id, conversation)
        return conversation

    async def get(self, message_id: str) -> Message | None:
        return self._t.get(message_id)

    async def update(self, message: Message) -> None:
        stored = self._t.get(message.id)
        if stored is None:
            raise NotFound("message not found")
        message = copy.deepcopy(message)
        message.conversation_id, message.user_id = stored.conversation_id, stored.user_id
        message.seq, message.role, message.created_at = stored.seq, stored.role, stored.created_at
        self._t.put(message.id, message)

    async def recent(self, conversation_id: str, limit: int) -> list[Message]:
        return (await self.all(conversation_id))[-limit:] if limit > 0 else []

    async def after(self, conversation_id: str, seq: int) -> list[Message]:
        found = self._t.select(lambda m: m.conversation_id == conversation_id and m.seq > seq)
        return sorted(found, key=lambda m: m.seq)

    async def all(self, conversation_id: str) -> list[Message]:
        return await self.after(conversation_id, 0)

    async def count(self, conversation_id: str) -> int:
        return len(self._t.select(lambda m: m.conversation_id == conversation_id))

    async def pending(self, limit: int = 100) -> list[Message]:
        found = self._t.select(lambda m: m.role == "user" and m.status == "pending")
        return sorted(found, key=lambda m: (m.created_at, m.seq))[:limit]


class FakeTicketRepository:
    """`TicketRepository` over a `_Tables` copy."""

    def __init__(self, tables: _Tables, ids: Iterator[int]) -> None:
        self._t = tables.tickets
        self._ids = ids

    async def add(self, ticket: Ticket) -> Ticket:
        ticket.id = next(self._ids)
        self._t.put(ticket.id, ticket)
        return ticket

    async def get(self, ticket_id: int) -> Ticket | None:
        return self._t.get(ticket_id)

    async def open(self, include_taken: bool = False, limit: int = 100) -> list[Ticket]:
        statuses = ("open", "taken") if include_taken else ("open",)
        found = self._t.select(lambda t: t.status in statuses)
        return sorted(found, key=lambda t: (t.created_at, t.id or 0))[:limit]

    async def for_user(self, user_id: str) -> list[Ticket]:
        found = self._t.select(lambda t: t.user_id == user_id)
        return sorted(found, key=lambda t: (t.created_at, t.id or 0), reverse=True)

    async def update(self, ticket: Ticket) -> None:
        key = ticket.id
        stored = self._t.get(key) if key is not None else None
        if stored is None or key is None:
            raise NotFound("ticket not found")
        ticket = copy.deepcopy(ticket)
        ticket.user_id, ticket.created_at = stored.user_id, stored.created_at
        self._t.put(key, ticket)

    async def by_admin_message(self, message_id: int) -> Ticket | None:
        found = self._t.select(lambda t: t.admin_message_id == message_id)
        return max(found, key=lambda t: t.id or 0) if found else None

    async def active_for_user(self, user_id: str) -> Ticket | None:
        found = self._t.select(lambda t: t.user_id == user_id and t.status != "closed")
        return max(found, key=lambda t: (t.created_at, t.id or 0)) if found else None


class FakeFeedbackRepository:
    """`FeedbackRepository` over a `_Tables` copy."""

    def __init__(self, tables: _Tables, ids: Iterator[int]) -> None:
        self._t = tables.feedback
        self._ids = ids

    async def add(self, item: Feedback) -> Feedback:
        if item.message_id is not None:
            earlier = self._t.select(lambda f: f.user_id == item.user_id
                                     and f.message_id == item.message_id)
            if earlier:
                item.id = min(f.id or 0 for f in earlier)
                self._t.put(item.id, item)
                return item
        item.id = next(self._ids)
        self._t.put(item.id, item)
        return item

    async def list(self, limit: int = 50) -> builtins.list[Feedback]:
        found = self._t.select(lambda f: True)
        return sorted(found, key=lambda f: (f.created_at, f.id or 0), reverse=True)[:limit]


class FakeUsageRepository:
    """`UsageRepository` over a `_Tables` copy."""

    def __init__(self, tables: _Tables, ids: Iterator[int]) -> None:
        self._t = tables.usage
        self._ids = ids

    async def add(self, record: UsageRecord) -> UsageRecord:
        record.id = next(self._ids)
        self._t.put(record.id, record)
        return record

    async def totals(self, since: datetime, until: datetime,
                     user_id: str | None = None) -> UsageTotals:
        return sum_usage(self._t.select(
            lambda r: since <= r.created_at < until and user_id in (None, r.user_id)))

    async def tokens_today(self, user_id: str, now: datetime | None = None) -> int:
        now = (now or utcnow()).astimezone(UTC)
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        totals = await self.totals(midnight, midnight + timedelta(days=1), user_id)
        return totals.total_tokens

    async def list(self, limit: int = 50) -> builtins.list[UsageRecord]:
        found = self._t.select(lambda r: True)
        return sorted(found, key=lambda r: (r.created_at, r.id or 0), reverse=True)[:limit]


class FakeUnitOfWork(UnitOfWork):
    """The in-memory unit of work: same interface and transaction behaviour as SqlUnitOfWork."""

    def __init__(self, store: MemoryStore | None = None) -> None:
        super().__init__()
        self.store = store if store is not None else MemoryStore()
        self._tables: _Tables | None = None

    async def _begin(self) -> None:
        tables = self._tables = _Tables(self.store)
        self.conversations = FakeConversationRepository(tables)
        self.messages = FakeMessageRepository(tables)
        self.tickets = FakeTicketRepository(tables, self.store.ticket_ids)
        self.feedback = FakeFeedbackRepository(tables, self.store.feedback_ids)
        self.usage = FakeUsageRepository(tables, self.store.usage_ids)
        self.stats = MemoryStatsQueries(
            conversations=tables.conversations.rows, messages=tables.messages.rows,
            tickets=tables.tickets.rows, feedback=tables.feedback.rows, usage=tables.usage.rows)

    @property
    def _current(self) -> _Tables:
        self._ensure_open()
        assert self._tables is not None
        return self._tables

    async def _commit(self) -> None:
        self._current.apply_to(self.store)

    async def _rollback(self) -> None:
        self._current.reset(self.store)

    async def _close(self) -> None:
        self._tables = None

    async def forget(self, user_id: str, *, scoped: bool = False) -> dict[str, int]:
        t = self._current

        def owned(owner: str | None) -> bool:
            return owner == user_id or (scoped and owner is not None
                                        and owner.startswith(user_id + ":"))

        theirs = {c.id for c in t.conversations.live() if owned(c.user_id)}
        their_messages = {m.id for m in t.messages.live()
                          if owned(m.user_id) or m.conversation_id in theirs}
        return {
            "feedback": t.feedback.remove_where(
                lambda f: owned(f.user_id) or f.conversation_id in theirs
                or f.message_id in their_messages),
            "usage": t.usage.remove_where(
                lambda r: owned(r.user_id) or r.conversation_id in theirs),
            "tickets": t.tickets.remove_where(
                lambda k: owned(k.user_id) or k.conversation_id in theirs),
            "messages": t.messages.remove_where(lambda m: m.id in their_messages),
            "conversations": t.conversations.remove_where(lambda c: c.id in theirs),
        }

    async def purge_ended(self, older_than_days: int, now: datetime | None = None) -> int:
        if older_than_days < 0:
            raise ValueError("older_than_days must not be negative")
        t = self._current
        cutoff = (now or utcnow()) - timedelta(days=older_than_days)
        kept = {k.conversation_id for k in t.tickets.live() if k.status != "closed"}
        doomed = {c.id for c in t.conversations.live()
                  if c.status == "ended" and (c.ended_at or c.updated_at) < cutoff
                  and c.id not in kept}
        doomed_messages = {m.id for m in t.messages.live() if m.conversation_id in doomed}
        t.feedback.edit_where(lambda f: _unlink_feedback(f, doomed, doomed_messages))
        t.tickets.edit_where(lambda k: _unlink(k, doomed))
        t.usage.edit_where(lambda r: _unlink(r, doomed))
        t.messages.remove_where(lambda m: m.id in doomed_messages)
        return t.conversations.remove_where(lambda c: c.id in doomed)


def _unlink(row: Ticket | UsageRecord, doomed: set[str]) -> bool:
    if row.conversation_id in doomed:
        row.conversation_id = None
        return True
    return False


def _unlink_feedback(row: Feedback, doomed: set[str], doomed_messages: set[str]) -> bool:
    if row.conversation_id in doomed or row.message_id in doomed_messages:
        row.conversation_id = row.message_id = None
        return True
    return False


__all__ = ["FakeUnitOfWork", "MemoryStore"]
