"""Everything a customer or operator does besides asking: new/end, history, escalate,
feedback, forget, retention and stats. Plain async functions over the unit of work."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

from sipai.errors import InputRejected, NotFound
from sipai.storage.stats import StatsSummary
from sipai.support.domain import Channel, Conversation, Feedback, Message, Ticket
from sipai.support.service import SupportDeps, open_ticket

log = logging.getLogger(__name__)

MAX_COMMENT = 1000


async def new_conversation(deps: SupportDeps, user_id: str, *, channel: Channel = "cli",
                           language: str | None = None) -> Conversation:
    """End the customer's active conversation (if any) and start a fresh one."""
    async with deps.uow() as uow:
        current = await uow.conversations.active_for(user_id)
        if current is not None:
            await uow.conversations.end(current.id)
        conversation = Conversation(user_id=user_id, channel=channel,
                                    language=language or (current.language if current
                                                          else deps.settings.sip_language))
        await uow.conversations.add(conversation)
        await uow.commit()
    log.info("conversation.new", extra={"user_id": user_id, "conversation_id": conversation.id})
    return conversation


async def end_conversation(deps: SupportDeps, user_id: str) -> bool:
    """End the customer's active conversation; False when there was none."""
    async with deps.uow() as uow:
        current = await uow.conversations.active_for(user_id)
        if current is None:
            return False
        await uow.conversations.end(current.id)
        await uow.commit()
    log.info("conversation.end", extra={"user_id": user_id, "conversation_id": current.id})
    return True


async def history(deps: SupportDeps, user_id: str, limit: int = 50) -> list[Message]:
    """The latest messages of the customer's active conversation, oldest first."""
    async with deps.uow() as uow:
        current = await uow.conversations.active_for(user_id)
        if current is None:
            return []
        return await uow.messages.recent(current.id, limit)


async def escalate(deps: SupportDeps, user_id: str, reason: str = "requested", *,
                   channel: Channel = "cli", chat_id: int | None = None,
                   language: str | None = None) -> tuple[Ticket, bool]:
    """Open a ticket for the customer, or return the one already open; (ticket, created)."""
    async with deps.uow() as uow:
        existing = await uow.tickets.active_for_user(user_id)
    if existing is not None:
        return existing, False
    ticket = await open_ticket(deps, user_id, reason[:200] or "requested", channel=channel,
                               language=language, chat_id=chat_id)
    return ticket, True


async def feedback(deps: SupportDeps, user_id: str, rating: int, *,
                   message_id: str | None = None, comment: str | None = None) -> Feedback:
    """Record 👍 (+1) or 👎 (-1) on an answer (the latest one when no id is given)."""
    if rating not in (1, -1):
        raise InputRejected("rating must be 1 or -1")
    if comment is not None:
        comment = comment.strip()[:MAX_COMMENT] or None
    async with deps.uow() as uow:
        if message_id is not None:
            message = await uow.messages.get(message_id)
            if message is None or message.user_id != user_id or message.role != "assistant":
                raise NotFound("no such answer for this user")
            conversation_id: str | None = message.conversation_id
        else:
            current = await uow.conversations.active_for(user_id)
            recent = await uow.messages.recent(current.id, 2) if current else []
            answers = [m for m in recent if m.role == "assistant"]
            message_id = answers[-1].id if answers else None
            conversation_id = current.id if current else None
        item = await uow.feedback.add(Feedback(user_id=user_id, conversation_id=conversation_id,
                                               message_id=message_id, rating=rating,
                                               comment=comment))
        await uow.commit()
    log.info("feedback.recorded", extra={"user_id": user_id, "rating": rating,
                                         "message_id": message_id})
    return item


#: A channel's id for a person (`tg:6101`): its scoped ids (`tg:6101:-100…`, the person in
#: one Telegram group) are theirs too. Other ids (`web:<uuid>`, an API caller's own) are not
#: treated as owning anything but themselves.
PERSON_ID = re.compile(r"[a-z]+:-?\d+")


async def forget(deps: SupportDeps, user_id: str) -> dict[str, int]:
    """Erase everything stored about the customer (their right); counts per kind of row.

    A channel's person id (`tg:6101`) also erases that person's per-group conversations.
    """
    async with deps.uow() as uow:
        counts = await uow.forget(user_id, scoped=PERSON_ID.fullmatch(user_id) is not None)
        await uow.commit()
    log.info("user.forgotten", extra={"user_id": user_id, **counts})
    return counts


async def purge_expired(deps: SupportDeps, days: int | None = None) -> int:
    """The retention job: delete conversations ended more than N days ago."""
    async with deps.uow() as uow:
        removed = await uow.purge_ended(days or deps.settings.sip_retention_days)
        await uow.commit()
    log.info("retention.purged", extra={"conversations": removed})
    return removed


async def stats(deps: SupportDeps, days: int = 30) -> StatsSummary:
    """Turns, users, tokens, cost, tickets, feedback and answer modes over the last days."""
    until = datetime.now(UTC) + timedelta(seconds=1)
    async with deps.uow() as uow:
        return await uow.stats.summary(until - timedelta(days=days), until)
