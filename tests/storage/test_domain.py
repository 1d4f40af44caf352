"""The domain dataclasses' own rules (no storage involved)."""

from __future__ import annotations

from datetime import UTC

import pytest

from sipai.support.domain import (
    Conversation,
    Feedback,
    Message,
    Ticket,
    UsageRecord,
    new_id,
    utcnow,
)

from .helpers import at


def test_ids_and_times() -> None:
    first, second = new_id(), new_id()
    assert first != second and len(first) == 32 and int(first, 16) >= 0
    assert utcnow().tzinfo is UTC
    conversation = Conversation(user_id="u1")
    assert conversation.created_at.tzinfo is UTC and conversation.is_active


def test_conversation_end_is_idempotent() -> None:
    conversation = Conversation(user_id="u1")
    conversation.end(at=at(1))
    conversation.end(at=at(2))
    assert (conversation.status, conversation.ended_at) == ("ended", at(1))
    assert not conversation.is_active


def test_summary_and_failures() -> None:
    conversation = Conversation(user_id="u1")
    conversation.fold_summary("resumen", upto=4)
    with pytest.raises(ValueError, match="fewer"):
        conversation.fold_summary("shorter", upto=2)
    assert conversation.record_failure() == 1
    assert conversation.record_failure() == 2
    conversation.record_success()
    assert (conversation.summary, conversation.summary_upto, conversation.failures) == (
        "resumen", 4, 0)


def test_message_constructors() -> None:
    asked = Message.from_user("c1", "u1", "hola")
    assert (asked.role, asked.status, asked.mode, asked.seq) == ("user", "pending", None, 0)
    sources = ["a"]
    reply = Message.from_assistant("c1", "u1", "hi", mode="offline", sources=sources,
                                   prompt_tokens=3, completion_tokens=4)
    sources.append("b")  # the message keeps its own list
    assert (reply.role, reply.status, reply.mode, reply.sources) == (
        "assistant", None, "offline", ["a"])
    assert reply.total_tokens == 7
    assert UsageRecord(user_id="u1", model="m", prompt_tokens=2,
                       completion_tokens=5).total_tokens == 7


def test_ticket_lifecycle() -> None:
    ticket = Ticket(user_id="u1", conversation_id="c1", reason="human")
    assert ticket.is_active and ticket.status == "open"
    ticket.take("ana")
    assert (ticket.status, ticket.operator, ticket.is_active) == ("taken", "ana", True)
    ticket.close(at=at(5))
    ticket.close(at=at(9))
    assert (ticket.status, ticket.closed_at, ticket.is_active) == ("closed", at(5), False)
    with pytest.raises(ValueError, match="closed"):
        ticket.take("bob")


@pytest.mark.parametrize("rating", [0, 2, -2])
def test_feedback_rating_is_plus_or_minus_one(rating: int) -> None:
    with pytest.raises(ValueError, match=r"\+1 or -1"):
        Feedback(user_id="u1", conversation_id=None, message_id=None, rating=rating)
