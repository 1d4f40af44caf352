"""The unit of work: one atomic piece of the service's work against storage.

    async with uow:
        conversation = await uow.conversations.active_for(user_id)
        await uow.messages.add(Message.from_user(conversation.id, user_id, text))
        await uow.commit()

Leaving the block without `commit()` (or by an exception) rolls back whatever was not
committed. `commit()` may be called more than once in a block. A unit of work is opened
by one task at a time: build one per request or task (it is cheap, it holds only the
engine); entering one that is already open raises RuntimeError.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Self

from sqlalchemy import ColumnElement, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from sipai.storage.repository import (
    ConversationRepository,
    FeedbackRepository,
    MessageRepository,
    StatsQueries,
    TicketRepository,
    UsageRepository,
)
from sipai.storage.schema import conversations, feedback, messages, tickets, usage
from sipai.storage.sql import (
    SqlConversationRepository,
    SqlFeedbackRepository,
    SqlMessageRepository,
    SqlTicketRepository,
    SqlUsageRepository,
    rowcount,
)
from sipai.storage.stats import SqlStatsQueries
from sipai.support.domain import utcnow

log = logging.getLogger(__name__)

#: Keys of the counts `forget()` returns, in the order rows are deleted.
FORGET_KINDS = ("feedback", "usage", "tickets", "messages", "conversations")
_CHUNK = 500


class UnitOfWork(ABC):
    """Repositories that share one transaction, as an async context manager."""

    conversations: ConversationRepository
    messages: MessageRepository
    tickets: TicketRepository
    feedback: FeedbackRepository
    usage: UsageRepository
    stats: StatsQueries

    def __init__(self) -> None:
        self._open = False
        #: True once `commit()` succeeded in the current (or last) block.
        self.committed = False

    async def __aenter__(self) -> Self:
        if self._open:
            raise RuntimeError("this unit of work is already open; create one per task")
        self._open = True
        self.committed = False
        try:
            await self._begin()
        except BaseException:
            self._open = False
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            await self.rollback()
        finally:
            self._open = False
            await self._close()

    async def commit(self) -> None:
        """Make everything done in this block so far permanent."""
        self._ensure_open()
        await self._commit()
        self.committed = True

    async def rollback(self) -> None:
        """Discard everything done since the last commit."""
        if self._open:
            await self._rollback()

    def _ensure_open(self) -> None:
        if not self._open:
            raise RuntimeError("use the unit of work inside `async with uow:`")

    @abstractmethod
    async def forget(self, user_id: str, *, scoped: bool = False) -> dict[str, int]:
        """Erase every row that belongs to the customer; returns counts per kind of row.

        The customer's conversations, messages, tickets, feedback and usage records go;
        nobody else's rows are touched. With `scoped`, so do the rows of the customer's
        scoped ids, `<user_id>:<scope>` (a Telegram user's conversations in each group).
        Takes effect on `commit()`.
        """

    @abstractmethod
    async def purge_ended(self, older_than_days: int, now: datetime | None = None) -> int:
        """Delete conversations ended more than `older_than_days` ago, with their messages.

        Conversations with an open or taken ticket are kept. Tickets, feedback and usage
        records survive (they lose the link). Returns the number of conversations deleted;
        takes effect on `commit()`.
        """

    @abstractmethod
    async def _begin(self) -> None: ...

    @abstractmethod
    async def _commit(self) -> None: ...

    @abstractmethod
    async def _rollback(self) -> None: ...

    @abstractmethod
    async def _close(self) -> None: ...


class SqlUnitOfWork(UnitOfWork):
    """The unit of work on one SQLAlchemy `AsyncConnection` (SQLite or PostgreSQL).

    The repositories run Core statements, so an ORM `AsyncSession` would add only its own
    bookkeeping to every statement and commit; a plain connection does the same work.
    """

    def __init__(self, engine: AsyncEngine | async_sessionmaker[AsyncSession], *,
                 writer_lock: asyncio.Lock | None = None) -> None:
        """`engine` is where connections come from (a factory from `create_session_factory`
        is accepted too: its engine is used). `writer_lock`, shared by every unit of work
        of one SQLite database, makes them queue in the event loop (first come, first
        served) instead of spinning in SQLite's busy timeout, which under a burst of
        customers ends in "database is locked"."""
        super().__init__()
        if isinstance(engine, async_sessionmaker):
            engine = engine.kw["bind"]
        if not isinstance(engine, AsyncEngine):
            raise TypeError("SqlUnitOfWork needs an AsyncEngine or a session factory bound to one")
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self._writer_lock = writer_lock
        self._holds_lock = False

    @property
    def connection(self) -> AsyncConnection:
        """The open connection (for queries the repositories do not offer)."""
        self._ensure_open()
        assert self._connection is not None
        return self._connection

    @property
    def session(self) -> AsyncConnection:
        """The open connection, under the name it had when it was an `AsyncSession`."""
        return self.connection

    async def _begin(self) -> None:
        if self._writer_lock is not None:
            await self._writer_lock.acquire()
            self._holds_lock = True
        try:
            connection = self._connection = await self._engine.connect()
        except BaseException:
            await self._close()
            raise
        self.conversations = SqlConversationRepository(connection)
        self.messages = SqlMessageRepository(connection)
        self.tickets = SqlTicketRepository(connection)
        self.feedback = SqlFeedbackRepository(connection)
        self.usage = SqlUsageRepository(connection)
        self.stats = SqlStatsQueries(connection)

    async def _commit(self) -> None:
        await self.connection.commit()

    async def _rollback(self) -> None:
        if self.connection.in_transaction():
            await self.connection.rollback()

    async def _close(self) -> None:
        try:
            if self._connection is not None:
                # Rolls back a transaction still open (the pool then skips its own reset).
                await self._connection.close()
                self._connection = None
        finally:
            if self._holds_lock and self._writer_lock is not None:
                self._holds_lock = False
                self._writer_lock.release()

    async def forget(self, user_id: str, *, scoped: bool = False) -> dict[str, int]:
        """Erase every row that belongs to the customer; returns counts per kind of row."""
        run = self.connection.execute
        pattern = _escape_like(user_id) + ":%"

        def owned(column: ColumnElement[str]) -> ColumnElement[bool]:
            mine = column == user_id
            return or_(mine, column.like(pattern, escape="\\")) if scoped else mine

        theirs = select(conversations.c.id).where(owned(conversations.c.user_id))
        their_messages = select(messages.c.id).where(
            or_(owned(messages.c.user_id), messages.c.conversation_id.in_(theirs)))
        counts: dict[str, int] = {}
        counts["feedback"] = rowcount(await run(delete(feedback).where(or_(
            owned(feedback.c.user_id), feedback.c.conversation_id.in_(theirs),
            feedback.c.message_id.in_(their_messages)))))
        counts["usage"] = rowcount(await run(delete(usage).where(or_(
            owned(usage.c.user_id), usage.c.conversation_id.in_(theirs)))))
        counts["tickets"] = rowcount(await run(delete(tickets).where(or_(
            owned(tickets.c.user_id), tickets.c.conversation_id.in_(theirs)))))
        counts["messages"] = rowcount(await run(delete(messages).where(or_(
            owned(messages.c.user_id), messages.c.conversation_id.in_(theirs)))))
        counts["conversations"] = rowcount(await run(
            delete(conversations).where(owned(conversations.c.user_id))))
        log.info("storage.forget", extra={f"deleted_{kind}": n for kind, n in counts.items()})
        return counts

    async def purge_ended(self, older_than_days: int, now: datetime | None = None) -> int:
        """Delete conversations ended more than `older_than_days` ago, with their messages."""
        if older_than_days < 0:
            raise ValueError("older_than_days must not be negative")
        cutoff = (now or utcnow()) - timedelta(days=older_than_days)
        has_active_ticket = exists().where(tickets.c.conversation_id == conversations.c.id,
                                           tickets.c.status.in_(["open", "taken"]))
        query = select(conversations.c.id).where(
            conversations.c.status == "ended",
            func.coalesce(conversations.c.ended_at, conversations.c.updated_at) < cutoff,
            ~has_active_ticket)
        doomed = list((await self.connection.execute(query)).scalars())
        purged = 0
        for start in range(0, len(doomed), _CHUNK):
            purged += await self._purge(doomed[start:start + _CHUNK])
        if doomed:
            log.info("storage.purged", extra={"conversations": purged,
                                              "older_than_days": older_than_days})
        return purged

    async def _purge(self, ids: Sequence[str]) -> int:
        run = self.connection.execute
        doomed_messages = select(messages.c.id).where(messages.c.conversation_id.in_(ids))
        # The foreign keys would do this too; doing it here keeps it independent of them.
        await run(update(feedback)
                  .where(or_(feedback.c.conversation_id.in_(ids),
                             feedback.c.message_id.in_(doomed_messages)))
                  .values(conversation_id=None, message_id=None))
        await run(update(tickets).where(tickets.c.conversation_id.in_(ids))
                  .values(conversation_id=None))
        await run(update(usage).where(usage.c.conversation_id.in_(ids))
                  .values(conversation_id=None))
        await run(delete(messages).where(messages.c.conversation_id.in_(ids)))
        return rowcount(await run(delete(conversations).where(conversations.c.id.in_(ids))))


__all__ = ["FORGET_KINDS", "SqlUnitOfWork", "UnitOfWork"]


def _escape_like(value: str) -> str:
    """`value` with LIKE's wildcards (and the escape character) taken literally."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
