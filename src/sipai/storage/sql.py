"""The repositories on SQLAlchemy Core, for SQLite and PostgreSQL.

Each repository works inside the `AsyncConnection` of one unit of work and translates rows
to and from the plain domain dataclasses; nothing here commits. Message sequence numbers
come from `sip_conversations.last_seq`, bumped with `UPDATE … RETURNING`, so concurrent
writers to one conversation wait on its row instead of colliding on `(conversation_id, seq)`.

The statements a customer turn runs are built once, at import, with bound parameters: a
statement object built per call costs more CPU to construct and to key for SQLAlchemy's
compiled cache than the database takes to run it. `UPDATE`s without `.values()` take their
`SET` columns from the parameters they are executed with.
"""

from __future__ import annotations

import builtins
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    Result,
    RowMapping,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from sipai.errors import NotFound
from sipai.storage.schema import conversations, feedback, messages, tickets, usage
from sipai.storage.stats import UsageTotals, usage_totals
from sipai.support.domain import (
    AnswerMode,
    Channel,
    Conversation,
    ConversationStatus,
    Feedback,
    Message,
    Role,
    Ticket,
    TicketStatus,
    TurnStatus,
    UsagePurpose,
    UsageRecord,
    utcnow,
)


def rowcount(result: Result[Any]) -> int:
    """Rows an INSERT/UPDATE/DELETE touched."""
    return cast(CursorResult[Any], result).rowcount


_ADD_CONVERSATION = insert(conversations)
_GET_CONVERSATION = select(conversations).where(conversations.c.id == bindparam("where_id"))
_ACTIVE_CONVERSATION = (
    select(conversations)
    .where(conversations.c.user_id == bindparam("where_user"), conversations.c.status == "active")
    .order_by(conversations.c.updated_at.desc(), conversations.c.created_at.desc())
    .limit(1))
_SAVE_CONVERSATION = update(conversations).where(conversations.c.id == bindparam("where_id"))
#: Hands out the conversation's next seq; row-locks the conversation until commit.
_NEXT_SEQ = (update(conversations).where(conversations.c.id == bindparam("where_id"))
             .values(last_seq=conversations.c.last_seq + 1, updated_at=bindparam("at"))
             .returning(conversations.c.last_seq))
#: The same for an answer, keyed by `succeeded`: also resets (True), counts up (False) or
#: keeps (None) the failure streak, and returns the whole conversation row.
_NEXT_ANSWER_SEQ = {
    succeeded: update(conversations).where(conversations.c.id == bindparam("where_id"))
    .values(last_seq=conversations.c.last_seq + 1, updated_at=bindparam("at"),
            failures=failures)
    .returning(*conversations.c)
    for succeeded, failures in ((True, 0), (False, conversations.c.failures + 1),
                                (None, conversations.c.failures))}
_ADD_MESSAGE = insert(messages)
_SET_STATUS = (update(messages).where(messages.c.id == bindparam("where_id"))
               .values(status=bindparam("new_status")))
_UPDATE_MESSAGE = update(messages).where(messages.c.id == bindparam("where_id"))
_GET_MESSAGE = select(messages).where(messages.c.id == bindparam("where_id"))
_RECENT_MESSAGES = (select(messages).where(messages.c.conversation_id == bindparam("where_id"))
                    .order_by(messages.c.seq.desc()).limit(bindparam("limit")))
_MESSAGES_AFTER = (select(messages)
                   .where(messages.c.conversation_id == bindparam("where_id"),
                          messages.c.seq > bindparam("after"))
                   .order_by(messages.c.seq))
_ADD_USAGE = insert(usage).returning(usage.c.id)


class SqlConversationRepository:
    """`ConversationRepository` on SQLAlchemy."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, conversation: Conversation) -> None:
        """Store a new conversation."""
        await self._connection.execute(_ADD_CONVERSATION, {
            "id": conversation.id, "user_id": conversation.user_id,
            "channel": conversation.channel, "created_at": conversation.created_at,
            "last_seq": 0, **_conversation_state(conversation)})

    async def get(self, conversation_id: str) -> Conversation | None:
        """The conversation with this id, or None."""
        row = (await self._connection.execute(
            _GET_CONVERSATION, {"where_id": conversation_id})).mappings().first()
        return None if row is None else _conversation(row)

    async def active_for(self, user_id: str) -> Conversation | None:
        """The customer's active conversation (the most recently updated one), or None."""
        row = (await self._connection.execute(
            _ACTIVE_CONVERSATION, {"where_user": user_id})).mappings().first()
        return None if row is None else _conversation(row)

    async def for_user(self, user_id: str, limit: int = 50) -> list[Conversation]:
        """The customer's conversations, newest first."""
        rows = (await self._connection.execute(
            select(conversations).where(conversations.c.user_id == user_id)
            .order_by(conversations.c.created_at.desc()).limit(limit))).mappings()
        return [_conversation(row) for row in rows]

    async def save(self, conversation: Conversation) -> None:
        """Store the conversation's status, language, summary, failures and timestamps."""
        result = await self._connection.execute(
            _SAVE_CONVERSATION, {"where_id": conversation.id,
                                 **_conversation_state(conversation)})
        if result.rowcount == 0:
            raise NotFound("conversation not found")

    async def end(self, conversation_id: str, at: datetime | None = None) -> bool:
        """End an active conversation; False when it is unknown or already ended."""
        at = at or utcnow()
        result = await self._connection.execute(
            update(conversations)
            .where(conversations.c.id == conversation_id, conversations.c.status == "active")
            .values(status="ended", ended_at=at, updated_at=at))
        return rowcount(result) > 0


def _conversation_state(c: Conversation) -> dict[str, Any]:
    return {"language": c.language, "status": c.status, "updated_at": c.updated_at,
            "ended_at": c.ended_at, "summary": c.summary, "summary_upto": c.summary_upto,
            "failures": c.failures}


def _conversation(row: RowMapping) -> Conversation:
    return Conversation(
        id=row["id"], user_id=row["user_id"], channel=cast(Channel, row["channel"]),
        language=row["language"], status=cast(ConversationStatus, row["status"]),
        created_at=row["created_at"], updated_at=row["updated_at"], ended_at=row["ended_at"],
        summary=row["summary"], summary_upto=row["summary_upto"], failures=row["failures"])


class SqlMessageRepository:
    """`MessageRepository` on SQLAlchemy."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, message: Message) -> Message:
        """Store a message with the conversation's next `seq` (also set on `message`)."""
        bumped = await self._connection.execute(
            _NEXT_SEQ, {"where_id": message.conversation_id, "at": message.created_at})
        seq = bumped.scalar_one_or_none()
        if seq is None:
            raise NotFound("conversation not found")
        message.seq = seq
        await self._insert(message)
        return message

    async def add_answer(self, question: Message, answer: Message, *,
                         succeeded: bool | None) -> Conversation:
        """Store Sip's answer to `question`, the question's status and the failure streak."""
        bumped = (await self._connection.execute(
            _NEXT_ANSWER_SEQ[succeeded],
            {"where_id": answer.conversation_id, "at": answer.created_at})).mappings().first()
        if bumped is None:
            raise NotFound("conversation not found")
        answer.seq = bumped["last_seq"]
        await self._insert(answer)
        result = await self._connection.execute(
            _SET_STATUS, {"where_id": question.id, "new_status": question.status})
        if result.rowcount == 0:
            raise NotFound("message not found")
        return _conversation(bumped)

    async def _insert(self, message: Message) -> None:
        await self._connection.execute(_ADD_MESSAGE, {
            "id": message.id, "conversation_id": message.conversation_id,
            "user_id": message.user_id, "seq": message.seq, "role": message.role,
            "created_at": message.created_at, **_message_state(message)})

    async def get(self, message_id: str) -> Message | None:
        """The message with this id, or None."""
        row = (await self._connection.execute(
            _GET_MESSAGE, {"where_id": message_id})).mappings().first()
        return None if row is None else _message(row)

    async def update(self, message: Message) -> None:
        """Store a message's status, text and answer details (seq and ids never change)."""
        result = await self._connection.execute(
            _UPDATE_MESSAGE, {"where_id": message.id, **_message_state(message)})
        if result.rowcount == 0:
            raise NotFound("message not found")

    async def recent(self, conversation_id: str, limit: int) -> list[Message]:
        """The last `limit` messages of the conversation, oldest first."""
        if limit <= 0:
            return []
        rows = (await self._connection.execute(
            _RECENT_MESSAGES, {"where_id": conversation_id, "limit": limit})).mappings().all()
        return [_message(row) for row in reversed(rows)]

    async def after(self, conversation_id: str, seq: int) -> list[Message]:
        """The messages with a `seq` greater than `seq`, oldest first."""
        rows = (await self._connection.execute(
            _MESSAGES_AFTER, {"where_id": conversation_id, "after": seq})).mappings()
        return [_message(row) for row in rows]

    async def all(self, conversation_id: str) -> list[Message]:
        """Every message of the conversation, oldest first."""
        return await self.after(conversation_id, 0)

    async def count(self, conversation_id: str) -> int:
        """How many messages the conversation has."""
        return (await self._connection.execute(
            select(func.count()).select_from(messages)
            .where(messages.c.conversation_id == conversation_id))).scalar_one()

    async def pending(self, limit: int = 100) -> list[Message]:
        """User turns still "pending" in any conversation (left by a crash), oldest first."""
        rows = (await self._connection.execute(
            select(messages).where(messages.c.role == "user", messages.c.status == "pending")
            .order_by(messages.c.created_at, messages.c.seq).limit(limit))).mappings()
        return [_message(row) for row in rows]


def _message_state(m: Message) -> dict[str, Any]:
    return {"text": m.text, "status": m.status, "mode": m.mode, "model": m.model,
            "prompt_tokens": m.prompt_tokens, "completion_tokens": m.completion_tokens,
            "cost_usd": m.cost_usd, "latency_ms": m.latency_ms, "sources": list(m.sources)}


def _message(row: RowMapping) -> Message:
    return Message(
        id=row["id"], conversation_id=row["conversation_id"], user_id=row["user_id"],
        seq=row["seq"], role=cast(Role, row["role"]), text=row["text"],
        created_at=row["created_at"], status=cast(TurnStatus | None, row["status"]),
        mode=cast(AnswerMode | None, row["mode"]), model=row["model"],
        prompt_tokens=row["prompt_tokens"], completion_tokens=row["completion_tokens"],
        cost_usd=row["cost_usd"], latency_ms=row["latency_ms"],
        sources=list(row["sources"] or []))


class SqlTicketRepository:
    """`TicketRepository` on SQLAlchemy."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, ticket: Ticket) -> Ticket:
        """Store a new ticket with the next ticket number (also set on `ticket`)."""
        result = await self._connection.execute(
            insert(tickets).values(user_id=ticket.user_id, created_at=ticket.created_at,
                                   **_ticket_state(ticket)).returning(tickets.c.id))
        ticket.id = result.scalar_one()
        return ticket

    async def get(self, ticket_id: int) -> Ticket | None:
        """The ticket with this number, or None."""
        return await self._first(select(tickets).where(tickets.c.id == ticket_id))

    async def open(self, include_taken: bool = False, limit: int = 100) -> list[Ticket]:
        """Open tickets (and taken ones if asked), oldest first: the operators' queue."""
        statuses = ["open", "taken"] if include_taken else ["open"]
        rows = (await self._connection.execute(
            select(tickets).where(tickets.c.status.in_(statuses))
            .order_by(tickets.c.created_at, tickets.c.id).limit(limit))).mappings()
        return [_ticket(row) for row in rows]

    async def for_user(self, user_id: str) -> list[Ticket]:
        """The customer's tickets, newest first."""
        rows = (await self._connection.execute(
            select(tickets).where(tickets.c.user_id == user_id)
            .order_by(tickets.c.created_at.desc(), tickets.c.id.desc()))).mappings()
        return [_ticket(row) for row in rows]

    async def update(self, ticket: Ticket) -> None:
        """Store the ticket's status, operator, texts, close time and Telegram ids."""
        if ticket.id is None:
            raise NotFound("ticket not found")
        result = await self._connection.execute(
            update(tickets).where(tickets.c.id == ticket.id).values(**_ticket_state(ticket)))
        if rowcount(result) == 0:
            raise NotFound("ticket not found")

    async def by_admin_message(self, message_id: int) -> Ticket | None:
        """The ticket announced by this message in the Telegram admin chat, or None."""
        return await self._first(select(tickets).where(tickets.c.admin_message_id == message_id)
                                 .order_by(tickets.c.id.desc()))

    async def active_for_user(self, user_id: str) -> Ticket | None:
        """The customer's most recent open or taken ticket, or None."""
        return await self._first(
            select(tickets)
            .where(tickets.c.user_id == user_id, tickets.c.status.in_(["open", "taken"]))
            .order_by(tickets.c.created_at.desc(), tickets.c.id.desc()))

    async def _first(self, query: Any) -> Ticket | None:
        row = (await self._connection.execute(query.limit(1))).mappings().first()
        return None if row is None else _ticket(row)


def _ticket_state(t: Ticket) -> dict[str, Any]:
    return {"conversation_id": t.conversation_id, "reason": t.reason, "summary": t.summary,
            "status": t.status, "operator": t.operator, "closed_at": t.closed_at,
            "channel": t.channel, "chat_id": t.chat_id, "admin_message_id": t.admin_message_id}


def _ticket(row: RowMapping) -> Ticket:
    return Ticket(
        id=row["id"], user_id=row["user_id"], conversation_id=row["conversation_id"],
        reason=row["reason"], summary=row["summary"], status=cast(TicketStatus, row["status"]),
        operator=row["operator"], created_at=row["created_at"], closed_at=row["closed_at"],
        channel=cast(Channel, row["channel"]), chat_id=row["chat_id"],
        admin_message_id=row["admin_message_id"])


class SqlFeedbackRepository:
    """`FeedbackRepository` on SQLAlchemy."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, item: Feedback) -> Feedback:
        """Store a rating; a customer's new rating of the same message replaces the old one."""
        values = {"conversation_id": item.conversation_id, "rating": item.rating,
                  "comment": item.comment, "created_at": item.created_at}
        if item.message_id is not None:
            existing = (await self._connection.execute(
                select(feedback.c.id)
                .where(feedback.c.user_id == item.user_id, feedback.c.message_id == item.message_id)
                .order_by(feedback.c.id).limit(1))).scalar_one_or_none()
            if existing is not None:
                await self._connection.execute(
                    update(feedback).where(feedback.c.id == existing).values(**values))
                item.id = existing
                return item
        result = await self._connection.execute(
            insert(feedback).values(user_id=item.user_id, message_id=item.message_id, **values)
            .returning(feedback.c.id))
        item.id = result.scalar_one()
        return item

    async def list(self, limit: int = 50) -> builtins.list[Feedback]:
        """The latest ratings, newest first."""
        rows = (await self._connection.execute(
            select(feedback).order_by(feedback.c.created_at.desc(), feedback.c.id.desc())
            .limit(limit))).mappings()
        return [Feedback(id=row["id"], user_id=row["user_id"],
                         conversation_id=row["conversation_id"], message_id=row["message_id"],
                         rating=row["rating"], comment=row["comment"],
                         created_at=row["created_at"]) for row in rows]


class SqlUsageRepository:
    """`UsageRepository` on SQLAlchemy."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, record: UsageRecord) -> UsageRecord:
        """Store a usage record, giving it an id (also set on `record`)."""
        result = await self._connection.execute(_ADD_USAGE, {
            "user_id": record.user_id, "conversation_id": record.conversation_id,
            "model": record.model, "purpose": record.purpose,
            "prompt_tokens": record.prompt_tokens,
            "completion_tokens": record.completion_tokens, "cost_usd": record.cost_usd,
            "latency_ms": record.latency_ms, "outcome": record.outcome,
            "created_at": record.created_at})
        record.id = result.scalar_one()
        return record

    async def totals(self, since: datetime, until: datetime,
                     user_id: str | None = None) -> UsageTotals:
        """Calls, errors, tokens and cost in `[since, until)`, for everyone or one customer."""
        return await usage_totals(self._connection, since, until, user_id)

    async def tokens_today(self, user_id: str, now: datetime | None = None) -> int:
        """Tokens the customer has used since midnight UTC (the daily budget's meter)."""
        now = (now or utcnow()).astimezone(UTC)
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        totals = await usage_totals(self._connection, midnight, midnight + timedelta(days=1),
                                    user_id)
        return totals.total_tokens

    async def list(self, limit: int = 50) -> builtins.list[UsageRecord]:
        """The latest usage records, newest first."""
        rows = (await self._connection.execute(
            select(usage).order_by(usage.c.created_at.desc(), usage.c.id.desc())
            .limit(limit))).mappings()
        return [UsageRecord(
            id=row["id"], user_id=row["user_id"], conversation_id=row["conversation_id"],
            model=row["model"], purpose=cast(UsagePurpose, row["purpose"]),
            prompt_tokens=row["prompt_tokens"], completion_tokens=row["completion_tokens"],
            cost_usd=row["cost_usd"], latency_ms=row["latency_ms"], outcome=row["outcome"],
            created_at=row["created_at"]) for row in rows]


__all__ = ["SqlConversationRepository", "SqlFeedbackRepository", "SqlMessageRepository",
           "SqlTicketRepository", "SqlUsageRepository", "rowcount"]
