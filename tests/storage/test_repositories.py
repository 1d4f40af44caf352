"""CRUD of every aggregate, on the fake, SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest

from sipai.errors import NotFound
from sipai.support.domain import Conversation, Feedback, Message, Ticket, UsageRecord

from .conftest import UowFactory
from .helpers import BASE, at, exchange, new_conversation


async def test_conversation_round_trip(uow_factory: UowFactory) -> None:
    conversation = Conversation(user_id="tg:1", channel="telegram", language="en",
                                created_at=BASE, updated_at=BASE)
    async with uow_factory() as uow:
        await uow.conversations.add(conversation)
        await uow.commit()
    async with uow_factory() as uow:
        loaded = await uow.conversations.get(conversation.id)
        assert await uow.conversations.get("0" * 32) is None
    assert loaded == conversation
    assert loaded is not None and loaded.created_at.tzinfo is not None


async def test_active_for_and_for_user(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        old = await new_conversation(uow, "u1", created_at=at(days=-2))
        newer = await new_conversation(uow, "u1", created_at=at(days=-1))
        ended = await new_conversation(uow, "u1", created_at=at())
        await new_conversation(uow, "u2", created_at=at(1))
        await uow.conversations.end(ended.id, at=at(5))
        await uow.commit()
    async with uow_factory() as uow:
        active = await uow.conversations.active_for("u1")
        assert active is not None and active.id == newer.id
        assert [c.id for c in await uow.conversations.for_user("u1")] == [
            ended.id, newer.id, old.id]
        assert [c.id for c in await uow.conversations.for_user("u1", limit=1)] == [ended.id]
        assert await uow.conversations.active_for("nobody") is None
        # A message makes an older conversation the most recently updated one.
        await uow.messages.add(Message(conversation_id=old.id, user_id="u1", role="user",
                                       text="hola", created_at=at(10), status="pending"))
        active = await uow.conversations.active_for("u1")
        assert active is not None and active.id == old.id


async def test_save_and_end(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        conversation = await new_conversation(uow, "u1")
        await uow.commit()
    conversation.fold_summary("El cliente usa WireGuard en Android.", upto=6)
    conversation.record_failure()
    conversation.record_failure()
    conversation.language = "en"
    async with uow_factory() as uow:
        await uow.conversations.save(conversation)
        await uow.commit()
    async with uow_factory() as uow:
        loaded = await uow.conversations.get(conversation.id)
        assert loaded is not None
        assert (loaded.summary, loaded.summary_upto, loaded.failures, loaded.language) == (
            "El cliente usa WireGuard en Android.", 6, 2, "en")
        assert await uow.conversations.end(conversation.id, at=at(30)) is True
        assert await uow.conversations.end(conversation.id) is False
        assert await uow.conversations.end("f" * 32) is False
        ended = await uow.conversations.get(conversation.id)
        assert ended is not None and ended.status == "ended" and ended.ended_at == at(30)
        with pytest.raises(NotFound):
            await uow.conversations.save(Conversation(user_id="ghost"))


async def test_returned_objects_are_copies(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        conversation = await new_conversation(uow, "u1")
        await uow.commit()
    async with uow_factory() as uow:
        loaded = await uow.conversations.get(conversation.id)
        assert loaded is not None
        loaded.failures = 9  # changed but never saved
        await uow.commit()
    async with uow_factory() as uow:
        again = await uow.conversations.get(conversation.id)
        assert again is not None and again.failures == 0


async def test_messages_get_sequence_numbers_per_conversation(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        first = await new_conversation(uow, "u1")
        second = await new_conversation(uow, "u2")
        seqs = []
        for n in range(3):
            message = Message.from_user(first.id, "u1", f"q{n}")
            returned = await uow.messages.add(message)
            assert returned is message
            seqs.append(message.seq)
        other = await uow.messages.add(Message.from_user(second.id, "u2", "hola"))
        await uow.commit()
    assert seqs == [1, 2, 3]
    assert other.seq == 1
    async with uow_factory() as uow:
        assert [m.text for m in await uow.messages.all(first.id)] == ["q0", "q1", "q2"]
        assert await uow.messages.count(first.id) == 3
        assert await uow.messages.count(second.id) == 1
        with pytest.raises(NotFound):
            await uow.messages.add(Message.from_user("0" * 32, "u1", "lost?"))


async def test_message_round_trip_and_update(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        conversation = await new_conversation(uow, "u1")
        asked, reply = await exchange(uow, conversation, "¿Por qué no navego?", "Revisa el DNS.")
        await uow.commit()
    async with uow_factory() as uow:
        loaded = await uow.messages.get(reply.id)
        assert loaded == reply
        assert loaded is not None and loaded.sources == ["wireguard-no-internet"]
        assert await uow.messages.get("0" * 32) is None
        asked.status = "unanswered"
        await uow.messages.update(asked)
        await uow.commit()
    async with uow_factory() as uow:
        reloaded = await uow.messages.get(asked.id)
        assert reloaded is not None and reloaded.status == "unanswered"
        assert reloaded.seq == 1 and reloaded.role == "user"
        with pytest.raises(NotFound):
            await uow.messages.update(Message.from_user(conversation.id, "u1", "never added"))


async def test_add_answer_closes_the_turn(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        conversation = await new_conversation(uow, "u1")
        conversation.failures, conversation.summary, conversation.summary_upto = 2, "s", 0
        await uow.conversations.save(conversation)
        question = await uow.messages.add(Message.from_user(conversation.id, "u1", "¿DNS?"))
        await uow.commit()
    streaks = []
    for succeeded in (False, None, True):
        question.status = "unanswered" if succeeded is False else "answered"
        answer = Message.from_assistant(conversation.id, "u1", f"a{succeeded}", mode="llm",
                                        sources=["dns"])
        answer.created_at = at(minutes=5)
        async with uow_factory() as uow:
            stored = await uow.messages.add_answer(question, answer, succeeded=succeeded)
            await uow.commit()
        streaks.append(stored.failures)
        assert stored.id == conversation.id and stored.summary == "s"
        assert stored.updated_at == at(minutes=5)
        async with uow_factory() as uow:
            assert await uow.conversations.get(conversation.id) == stored
            reloaded = await uow.messages.get(question.id)
            assert reloaded is not None and reloaded.status == question.status
            assert reloaded.text == "¿DNS?" and reloaded.seq == 1
            assert await uow.messages.get(answer.id) == answer
    assert streaks == [3, 3, 0]
    async with uow_factory() as uow:
        assert [m.seq for m in await uow.messages.all(conversation.id)] == [1, 2, 3, 4]


async def test_add_answer_needs_the_conversation_and_the_question(
        uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        conversation = await new_conversation(uow, "u1")
        await uow.commit()
    never_added = Message.from_user(conversation.id, "u1", "never added")
    async with uow_factory() as uow:
        with pytest.raises(NotFound):
            await uow.messages.add_answer(
                never_added, Message.from_assistant("0" * 32, "u1", "a", mode="llm"),
                succeeded=True)
        with pytest.raises(NotFound):
            await uow.messages.add_answer(
                never_added, Message.from_assistant(conversation.id, "u1", "a", mode="llm"),
                succeeded=True)
    async with uow_factory() as uow:  # the failed block stored nothing
        assert await uow.messages.count(conversation.id) == 0


async def test_recent_and_after(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        conversation = await new_conversation(uow, "u1")
        for n in range(1, 8):
            await uow.messages.add(Message(conversation_id=conversation.id, user_id="u1",
                                           role="user" if n % 2 else "assistant", text=f"m{n}",
                                           created_at=at(n)))
        await uow.commit()
    async with uow_factory() as uow:
        assert [m.seq for m in await uow.messages.recent(conversation.id, 3)] == [5, 6, 7]
        assert [m.seq for m in await uow.messages.recent(conversation.id, 50)] == list(range(1, 8))
        assert await uow.messages.recent(conversation.id, 0) == []
        assert [m.text for m in await uow.messages.after(conversation.id, 4)] == ["m5", "m6", "m7"]
        assert await uow.messages.after(conversation.id, 7) == []
        assert await uow.messages.all("0" * 32) == []


async def test_pending_user_turns(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        one = await new_conversation(uow, "u1")
        two = await new_conversation(uow, "u2")
        await exchange(uow, one, "answered", "yes")
        waiting = Message.from_user(two.id, "u2", "still waiting")
        waiting.created_at = at(3)
        await uow.messages.add(waiting)
        await uow.commit()
    async with uow_factory() as uow:
        assert [m.id for m in await uow.messages.pending()] == [waiting.id]


async def test_tickets(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        conversation = await new_conversation(uow, "tg:7")
        first = await uow.tickets.add(Ticket(
            user_id="tg:7", conversation_id=conversation.id, reason="asked for a human",
            summary="WireGuard sin internet", channel="telegram", created_at=at(1),
            chat_id=-1001234567890))
        second = await uow.tickets.add(Ticket(user_id="tg:8", conversation_id=None,
                                              reason="3 failed turns", created_at=at(2)))
        await uow.commit()
    assert first.id is not None and second.id is not None and second.id > first.id
    async with uow_factory() as uow:
        loaded = await uow.tickets.get(first.id)
        assert loaded == first
        assert await uow.tickets.get(10_000) is None
        assert [t.id for t in await uow.tickets.open()] == [first.id, second.id]
        first.take("ana")
        first.admin_message_id = 4242
        await uow.tickets.update(first)
        await uow.commit()
    async with uow_factory() as uow:
        assert [t.id for t in await uow.tickets.open()] == [second.id]
        assert [t.id for t in await uow.tickets.open(include_taken=True)] == [first.id, second.id]
        by_post = await uow.tickets.by_admin_message(4242)
        assert by_post is not None and by_post.operator == "ana" and by_post.status == "taken"
        assert await uow.tickets.by_admin_message(1) is None
        active = await uow.tickets.active_for_user("tg:7")
        assert active is not None and active.id == first.id
        first.close(at=at(60))
        await uow.tickets.update(first)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tickets.active_for_user("tg:7") is None
        closed = await uow.tickets.get(first.id)
        assert closed is not None and closed.closed_at == at(60)
        later = await uow.tickets.add(Ticket(user_id="tg:7", conversation_id=conversation.id,
                                             reason="again", created_at=at(90)))
        assert [t.id for t in await uow.tickets.for_user("tg:7")] == [later.id, first.id]
        with pytest.raises(NotFound):
            await uow.tickets.update(Ticket(user_id="x", conversation_id=None, reason="?",
                                            id=99_999))


async def test_feedback_latest_rating_wins(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        conversation = await new_conversation(uow, "u1")
        _, reply = await exchange(uow, conversation, "q", "a")
        up = await uow.feedback.add(Feedback(user_id="u1", conversation_id=conversation.id,
                                             message_id=reply.id, rating=1, created_at=at(1)))
        general = await uow.feedback.add(Feedback(user_id="u1", conversation_id=None,
                                                  message_id=None, rating=-1,
                                                  comment="too slow", created_at=at(2)))
        await uow.commit()
    async with uow_factory() as uow:
        down = await uow.feedback.add(Feedback(user_id="u1", conversation_id=conversation.id,
                                               message_id=reply.id, rating=-1,
                                               comment="did not work", created_at=at(3)))
        await uow.commit()
    assert down.id == up.id
    async with uow_factory() as uow:
        listed = await uow.feedback.list()
        assert [(f.id, f.rating) for f in listed] == [(up.id, -1), (general.id, -1)]
        assert listed[0].comment == "did not work"
        assert len(await uow.feedback.list(limit=1)) == 1
    with pytest.raises(ValueError, match="rating"):
        Feedback(user_id="u1", conversation_id=None, message_id=None, rating=5)


async def test_usage_totals_and_daily_tokens(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        records = [
            UsageRecord(user_id="u1", model="openai/gpt-oss-120b", prompt_tokens=100,
                        completion_tokens=40, cost_usd=0.00003, latency_ms=800,
                        created_at=at(60)),
            UsageRecord(user_id="u1", model="openai/gpt-oss-20b", purpose="summary",
                        prompt_tokens=300, completion_tokens=60, created_at=at(120)),
            UsageRecord(user_id="u1", model="openai/gpt-oss-120b",
                        outcome="error:rate_limit_exceeded", created_at=at(130)),
            UsageRecord(user_id="u1", model="openai/gpt-oss-120b", prompt_tokens=999,
                        created_at=at(days=-1)),
            UsageRecord(user_id="u2", model="openai/gpt-oss-120b", prompt_tokens=7,
                        completion_tokens=3, created_at=at(61)),
        ]
        for record in records:
            await uow.usage.add(record)
        await uow.commit()
    assert len({r.id for r in records}) == 5
    async with uow_factory() as uow:
        day = await uow.usage.totals(at(-720), at(720))
        assert (day.calls, day.errors, day.prompt_tokens, day.completion_tokens) == (
            4, 1, 407, 103)
        mine = await uow.usage.totals(at(-720), at(720), user_id="u1")
        assert (mine.calls, mine.total_tokens) == (3, 500)
        assert mine.cost_usd == pytest.approx(0.00003)
        assert await uow.usage.tokens_today("u1", now=at(180)) == 500
        assert await uow.usage.tokens_today("u1", now=at(days=-1)) == 999
        assert await uow.usage.tokens_today("u3", now=at()) == 0
        assert [r.id for r in await uow.usage.list(limit=2)] == [records[2].id, records[1].id]
