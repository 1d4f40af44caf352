"""What the support service may ask of storage: one repository per aggregate, plus stats.

These are the ports. `sipai.storage.sql` implements them on SQLAlchemy (SQLite or
PostgreSQL) and `sipai.storage.memory` in plain dictionaries for fast unit tests. The
service reaches them only through a unit of work (`uow.conversations`, `uow.messages`, …).

Conventions: `get` returns None for an unknown id; `save`/`update` raise
`sipai.errors.NotFound` when the row is gone; objects handed out are copies, so a change
is stored only by `save`/`update`; time windows are `[since, until)` in UTC; lists are
ordered as each docstring says.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Protocol

from sipai.storage.stats import DayStats, StatsSummary, UsageTotals
from sipai.support.domain import Conversation, Feedback, Message, Ticket, UsageRecord


class ConversationRepository(Protocol):
    """Conversations, looked up by id or by customer."""

    async def add(self, conversation: Conversation) -> None:
        """Store a new conversation."""

    async def get(self, conversation_id: str) -> Conversation | None:
        """The conversation with this id, or None."""

    async def active_for(self, user_id: str) -> Conversation | None:
        """The customer's active conversation (the most recently updated one), or None."""

    async def for_user(self, user_id: str, limit: int = 50) -> list[Conversation]:
        """The customer's conversations, newest first."""

    async def save(self, conversation: Conversation) -> None:
        """Store the conversation's status, language, summary, failures and timestamps."""

    async def end(self, conversation_id: str, at: datetime | None = None) -> bool:
        """End an active conversation; False when it is unknown or already ended."""


class MessageRepository(Protocol):
    """The turns of conversations, in `seq` order."""

    async def add(self, message: Message) -> Message:
        """Store a message, giving it the conversation's next `seq` (also set on `message`).

        Raises NotFound when the conversation does not exist.
        """

    async def add_answer(self, question: Message, answer: Message, *,
                         succeeded: bool | None) -> Conversation:
        """Store Sip's answer to `question` and close the turn, in one step.

        The answer gets the conversation's next `seq` (also set on `answer`); the question's
        `status` is stored; the conversation's failure count is reset when `succeeded` is
        True, counted up when False and kept when None. Returns the conversation as stored.
        Raises NotFound when the conversation or the question is gone.
        """

    async def get(self, message_id: str) -> Message | None:
        """The message with this id, or None."""

    async def update(self, message: Message) -> None:
        """Store a message's status, text and answer details (seq and ids never change)."""

    async def recent(self, conversation_id: str, limit: int) -> list[Message]:
        """The last `limit` messages of the conversation, oldest first."""

    async def after(self, conversation_id: str, seq: int) -> list[Message]:
        """The messages with a `seq` greater than `seq`, oldest first."""

    async def all(self, conversation_id: str) -> list[Message]:
        """Every message of the conversation, oldest first."""

    async def count(self, conversation_id: str) -> int:
        """How many messages the conversation has."""

    async def pending(self, limit: int = 100) -> list[Message]:
        """User turns still "pending" in any conversation (left by a crash), oldest first."""


class TicketRepository(Protocol):
    """Escalations to human operators."""

    async def add(self, ticket: Ticket) -> Ticket:
        """Store a new ticket, giving it the next ticket number (also set on `ticket`)."""

    async def get(self, ticket_id: int) -> Ticket | None:
        """The ticket with this number, or None."""

    async def open(self, include_taken: bool = False, limit: int = 100) -> list[Ticket]:
        """Open tickets (and taken ones if asked), oldest first: the operators' queue."""

    async def for_user(self, user_id: str) -> list[Ticket]:
        """The customer's tickets, newest first."""

    async def update(self, ticket: Ticket) -> None:
        """Store the ticket's status, operator, texts, close time and Telegram ids."""

    async def by_admin_message(self, message_id: int) -> Ticket | None:
        """The ticket announced by this message in the Telegram admin chat, or None."""

    async def active_for_user(self, user_id: str) -> Ticket | None:
        """The customer's most recent open or taken ticket, or None."""


class FeedbackRepository(Protocol):
    """Customers' ratings of answers."""

    async def add(self, feedback: Feedback) -> Feedback:
        """Store a rating; a customer's new rating of the same message replaces the old one."""

    async def list(self, limit: int = 50) -> builtins.list[Feedback]:
        """The latest ratings, newest first."""


class UsageRepository(Protocol):
    """Provider calls: tokens, cost and latency, for budgets and stats."""

    async def add(self, record: UsageRecord) -> UsageRecord:
        """Store a usage record, giving it an id (also set on `record`)."""

    async def totals(self, since: datetime, until: datetime,
                     user_id: str | None = None) -> UsageTotals:
        """Calls, errors, tokens and cost in `[since, until)`, for everyone or one customer."""

    async def tokens_today(self, user_id: str, now: datetime | None = None) -> int:
        """Tokens the customer has used since midnight UTC (the daily budget's meter)."""

    async def list(self, limit: int = 50) -> builtins.list[UsageRecord]:
        """The latest usage records, newest first."""


class StatsQueries(Protocol):
    """Read-only figures for `sip stats` and the operator console."""

    async def summary(self, since: datetime, until: datetime) -> StatsSummary:
        """Totals over `[since, until)`."""

    async def daily(self, since: datetime, until: datetime) -> builtins.list[DayStats]:
        """One row per UTC day in `[since, until)`, days without activity included."""


__all__ = ["ConversationRepository", "FeedbackRepository", "MessageRepository", "StatsQueries",
           "TicketRepository", "UsageRepository"]
