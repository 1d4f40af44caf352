"""Small builders shared by the storage tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sipai.storage import UnitOfWork
from sipai.support.domain import Channel, Conversation, Message

#: A fixed instant, so tests can place rows on known days.
BASE = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def at(minutes: float = 0, *, days: float = 0) -> datetime:
    """BASE shifted by `days` and `minutes`."""
    return BASE + timedelta(days=days, minutes=minutes)


async def new_conversation(uow: UnitOfWork, user_id: str, *, created_at: datetime = BASE,
                           channel: Channel = "telegram") -> Conversation:
    """Add and return an active conversation (not committed)."""
    conversation = Conversation(user_id=user_id, channel=channel, created_at=created_at,
                                updated_at=created_at)
    await uow.conversations.add(conversation)
    return conversation


async def exchange(uow: UnitOfWork, conversation: Conversation, question: str, answer: str,
                   *, created_at: datetime = BASE, latency_ms: int | None = 120
                   ) -> tuple[Message, Message]:
    """Add one user turn (answered) and Sip's answer; returns both (not committed)."""
    asked = Message.from_user(conversation.id, conversation.user_id, question)
    asked.created_at, asked.status = created_at, "answered"
    await uow.messages.add(asked)
    reply = Message.from_assistant(conversation.id, conversation.user_id, answer, mode="llm",
                                   model="openai/gpt-oss-120b", prompt_tokens=50,
                                   completion_tokens=20, cost_usd=0.0001,
                                   latency_ms=latency_ms, sources=["wireguard-no-internet"])
    reply.created_at = created_at + timedelta(seconds=1)
    await uow.messages.add(reply)
    return asked, reply
