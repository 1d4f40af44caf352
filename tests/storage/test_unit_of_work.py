"""Transaction behaviour of the unit of work, and concurrent writers."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sipai.storage import SqlUnitOfWork, create_session_factory
from sipai.support.domain import Conversation, Message

from .conftest import UowFactory
from .helpers import new_conversation


class Boom(Exception):
    pass


async def test_exception_rolls_back(uow_factory: UowFactory) -> None:
    conversation = Conversation(user_id="u1")
    with pytest.raises(Boom):
        async with uow_factory() as uow:
            await uow.conversations.add(conversation)
            raise Boom
    async with uow_factory() as uow:
        assert await uow.conversations.get(conversation.id) is None


async def test_leaving_without_commit_rolls_back(uow_factory: UowFactory) -> None:
    uow = uow_factory()
    async with uow:
        conversation = await new_conversation(uow, "u1")
    assert uow.committed is False
    async with uow_factory() as check:
        assert await check.conversations.get(conversation.id) is None


async def test_only_committed_work_survives(uow_factory: UowFactory) -> None:
    uow = uow_factory()
    async with uow:
        kept = await new_conversation(uow, "u1")
        await uow.commit()
        assert uow.committed
        dropped = await new_conversation(uow, "u2")
    async with uow_factory() as check:
        assert await check.conversations.get(kept.id) is not None
        assert await check.conversations.get(dropped.id) is None


async def test_explicit_rollback_and_reuse(uow_factory: UowFactory) -> None:
    uow = uow_factory()
    async with uow:
        undone = await new_conversation(uow, "u1")
        await uow.rollback()
        assert await uow.conversations.get(undone.id) is None
        done = await new_conversation(uow, "u1")
        await uow.commit()
    # The same object opens a fresh transaction on the next block.
    async with uow:
        assert uow.committed is False
        assert await uow.conversations.get(done.id) is not None
        assert await uow.conversations.get(undone.id) is None


async def test_an_open_unit_of_work_cannot_be_entered_again(uow_factory: UowFactory) -> None:
    uow = uow_factory()
    async with uow:
        with pytest.raises(RuntimeError, match="already open"):
            async with uow:
                pass
        await new_conversation(uow, "u1")
        await uow.commit()
    with pytest.raises(RuntimeError, match="async with"):
        await uow.commit()


async def test_concurrent_writers_on_different_conversations(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        conversations = [await new_conversation(uow, f"u{n}") for n in range(6)]
        await uow.commit()

    async def chat(conversation: Conversation) -> None:
        for turn in range(8):
            async with uow_factory() as uow:
                await uow.messages.add(Message.from_user(conversation.id,
                                                         conversation.user_id, f"t{turn}"))
                await asyncio.sleep(0)  # let the other writers in mid-transaction
                await uow.commit()

    await asyncio.wait_for(asyncio.gather(*(chat(c) for c in conversations)), timeout=60)
    async with uow_factory() as uow:
        for conversation in conversations:
            stored = await uow.messages.all(conversation.id)
            assert [m.seq for m in stored] == list(range(1, 9))
            assert [m.text for m in stored] == [f"t{n}" for n in range(8)]


async def test_concurrent_writers_on_one_conversation(engine: AsyncEngine) -> None:
    """Writers to the same conversation queue up on it: every seq is handed out once."""
    sessions = create_session_factory(engine)
    async with SqlUnitOfWork(sessions) as uow:
        conversation = await new_conversation(uow, "u1")
        await uow.commit()

    async def write(n: int) -> int:
        async with SqlUnitOfWork(sessions) as uow:
            current = await uow.conversations.get(conversation.id)  # read, then write
            assert current is not None
            message = await uow.messages.add(Message.from_user(conversation.id, "u1", f"m{n}"))
            await asyncio.sleep(0)
            await uow.commit()
            return message.seq

    seqs = await asyncio.wait_for(asyncio.gather(*(write(n) for n in range(12))), timeout=60)
    assert sorted(seqs) == list(range(1, 13))
    async with SqlUnitOfWork(sessions) as uow:
        assert await uow.messages.count(conversation.id) == 12
