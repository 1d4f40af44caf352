"""A customer's right to be forgotten, and the retention purge of ended conversations."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from sipai.storage import FORGET_KINDS, UnitOfWork
from sipai.support.domain import Conversation, Feedback, Message, Ticket, UsageRecord

from .conftest import UowFactory
from .helpers import at, exchange, new_conversation


@dataclass
class Footprint:
    """Everything one customer left behind."""

    conversations: list[Conversation] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    tickets: list[Ticket] = field(default_factory=list)
    feedback: list[Feedback] = field(default_factory=list)
    usage: list[UsageRecord] = field(default_factory=list)


async def leave_footprint(uow: UnitOfWork, user_id: str, minutes: float) -> Footprint:
    footprint = Footprint()
    for n in range(2):
        conversation = await new_conversation(uow, user_id, created_at=at(minutes + n))
        footprint.conversations.append(conversation)
        asked, reply = await exchange(uow, conversation, "hola", "¡hola!",
                                      created_at=at(minutes + n))
        footprint.messages += [asked, reply]
        footprint.feedback.append(await uow.feedback.add(Feedback(
            user_id=user_id, conversation_id=conversation.id, message_id=reply.id, rating=1,
            created_at=at(minutes + n, days=0))))
        footprint.usage.append(await uow.usage.add(UsageRecord(
            user_id=user_id, conversation_id=conversation.id, model="openai/gpt-oss-120b",
            prompt_tokens=10, created_at=at(minutes + n))))
    footprint.tickets.append(await uow.tickets.add(Ticket(
        user_id=user_id, conversation_id=footprint.conversations[0].id, reason="human",
        created_at=at(minutes))))
    footprint.usage.append(await uow.usage.add(UsageRecord(
        user_id=user_id, model="openai/gpt-oss-20b", purpose="summary", created_at=at(minutes))))
    return footprint


async def snapshot(uow: UnitOfWork, footprint: Footprint) -> Footprint:
    """The customer's rows as stored now (missing ones left out)."""
    stored = Footprint()
    for c in footprint.conversations:
        if (found := await uow.conversations.get(c.id)) is not None:
            stored.conversations.append(found)
    for m in footprint.messages:
        if (message := await uow.messages.get(m.id)) is not None:
            stored.messages.append(message)
    for t in footprint.tickets:
        assert t.id is not None
        if (ticket := await uow.tickets.get(t.id)) is not None:
            stored.tickets.append(ticket)
    ids = {f.id for f in footprint.feedback}
    stored.feedback = [f for f in await uow.feedback.list(limit=1000) if f.id in ids]
    usage_ids = {r.id for r in footprint.usage}
    stored.usage = [r for r in await uow.usage.list(limit=1000) if r.id in usage_ids]
    return stored


async def test_forget_erases_the_customer_and_only_them(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        alice = await leave_footprint(uow, "tg:alice", 0)
        bob = await leave_footprint(uow, "tg:bob", 10)
        await uow.commit()
    async with uow_factory() as uow:
        bob_before = await snapshot(uow, bob)
        counts = await uow.forget("tg:alice")
        await uow.commit()
    assert list(counts) == list(FORGET_KINDS)
    assert counts == {"feedback": 2, "usage": 3, "tickets": 1, "messages": 4,
                      "conversations": 2}
    async with uow_factory() as uow:
        assert await snapshot(uow, alice) == Footprint()
        assert await uow.conversations.for_user("tg:alice") == []
        assert await uow.tickets.for_user("tg:alice") == []
        assert (await uow.usage.totals(at(-100), at(100), user_id="tg:alice")).calls == 0
        assert await snapshot(uow, bob) == bob_before
        stats = await uow.stats.summary(at(-100), at(100))
        assert (stats.users, stats.conversations, stats.feedback_up) == (1, 2, 2)


async def test_forget_scoped_also_erases_the_customers_scoped_ids(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        person = await leave_footprint(uow, "tg:61", 0)
        in_group = await leave_footprint(uow, "tg:61:-100200", 10)
        lookalikes = [await leave_footprint(uow, user, 20 + n) for n, user in
                      enumerate(("tg:610", "tg:61_x", "tg:6:1", "tg:610:-100200"))]
        await uow.commit()
    async with uow_factory() as uow:
        before = [await snapshot(uow, other) for other in lookalikes]
        unscoped = await uow.forget("tg:61")
        assert len((await snapshot(uow, in_group)).conversations) == 2, "not without scoped"
        scoped = await uow.forget("tg:61", scoped=True)
        await uow.commit()
    assert unscoped["conversations"] == 2 and scoped["conversations"] == 2
    async with uow_factory() as uow:
        assert await snapshot(uow, person) == Footprint()
        assert await snapshot(uow, in_group) == Footprint()
        assert [await snapshot(uow, other) for other in lookalikes] == before


async def test_forget_scoped_takes_like_wildcards_literally(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        other = await leave_footprint(uow, "a1:b", 0)
        await uow.commit()
    async with uow_factory() as uow:
        assert (await uow.forget("a_", scoped=True))["conversations"] == 0
        assert (await uow.forget("%", scoped=True))["conversations"] == 0
        await uow.commit()
    async with uow_factory() as uow:
        assert len((await snapshot(uow, other)).conversations) == 2


async def test_forget_is_undone_by_rollback(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        alice = await leave_footprint(uow, "tg:alice", 0)
        await uow.commit()
    async with uow_factory() as uow:
        await uow.forget("tg:alice")
    async with uow_factory() as uow:
        assert len((await snapshot(uow, alice)).messages) == 4


async def test_forget_unknown_user_deletes_nothing(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        await leave_footprint(uow, "tg:bob", 0)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.forget("tg:nobody") == dict.fromkeys(FORGET_KINDS, 0)


async def test_purge_ended_conversations(uow_factory: UowFactory) -> None:
    now = at(days=100)
    async with uow_factory() as uow:
        old_ended = await new_conversation(uow, "u1", created_at=at())
        _, old_reply = await exchange(uow, old_ended, "q", "a")
        rating = await uow.feedback.add(Feedback(user_id="u1", conversation_id=old_ended.id,
                                                 message_id=old_reply.id, rating=-1))
        spend = await uow.usage.add(UsageRecord(user_id="u1", conversation_id=old_ended.id,
                                                model="openai/gpt-oss-120b", prompt_tokens=5))
        closed = await uow.tickets.add(Ticket(user_id="u1", conversation_id=old_ended.id,
                                              reason="human", status="closed"))
        await uow.conversations.end(old_ended.id, at=at(days=1))
        second_old = await new_conversation(uow, "u2", created_at=at())
        await exchange(uow, second_old, "q", "a")
        await uow.conversations.end(second_old.id, at=at(days=2))
        recent = await new_conversation(uow, "u3", created_at=at(days=95))
        await uow.conversations.end(recent.id, at=at(days=96))
        still_active = await new_conversation(uow, "u4", created_at=at())
        escalated = await new_conversation(uow, "u5", created_at=at())
        await uow.tickets.add(Ticket(user_id="u5", conversation_id=escalated.id, reason="human"))
        await uow.conversations.end(escalated.id, at=at(days=1))
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.purge_ended(older_than_days=90, now=now) == 2
        await uow.commit()

    async with uow_factory() as uow:
        for gone in (old_ended, second_old):
            assert await uow.conversations.get(gone.id) is None
            assert await uow.messages.all(gone.id) == []
        for kept in (recent, still_active, escalated):
            assert await uow.conversations.get(kept.id) is not None
        assert closed.id is not None
        ticket = await uow.tickets.get(closed.id)
        assert ticket is not None and ticket.conversation_id is None
        [stored_rating] = [f for f in await uow.feedback.list() if f.id == rating.id]
        assert (stored_rating.conversation_id, stored_rating.message_id) == (None, None)
        [stored_spend] = [r for r in await uow.usage.list() if r.id == spend.id]
        assert stored_spend.conversation_id is None and stored_spend.prompt_tokens == 5
        assert await uow.purge_ended(older_than_days=90, now=now) == 0
        with pytest.raises(ValueError, match="negative"):
            await uow.purge_ended(older_than_days=-1)
