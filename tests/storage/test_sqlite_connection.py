"""SQLite statements cost one hop to aiosqlite's thread; results, errors and locks are unchanged."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sipai.storage import create_engine_for, migrate
from sipai.storage.schema import conversations, tickets, usage
from sipai.storage.sqlite_connection import OneHopConnection

from .helpers import BASE


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every call handed to a OneHopConnection's thread, in order."""
    seen: list[str] = []
    original = OneHopConnection._execute

    async def counting(self: OneHopConnection, fn: Callable[..., Any], *args: Any) -> Any:
        seen.append(getattr(fn, "__name__", "?"))
        return await original(self, fn, *args)

    monkeypatch.setattr(OneHopConnection, "_execute", counting)
    return seen


def conversation_row(conversation_id: str, user_id: str = "u1") -> dict[str, Any]:
    return {"id": conversation_id, "user_id": user_id, "channel": "cli", "language": "es",
            "status": "active", "created_at": BASE, "updated_at": BASE, "last_seq": 0}


def usage_row(model: str) -> dict[str, Any]:
    return {"user_id": "u1", "model": model, "purpose": "answer", "outcome": "ok",
            "created_at": BASE}


async def test_the_engine_hands_out_one_hop_connections(sqlite_engine: AsyncEngine) -> None:
    async with sqlite_engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert isinstance(raw.driver_connection, OneHopConnection)


async def test_a_statement_costs_one_hop(sqlite_engine: AsyncEngine, hops: list[str]) -> None:
    async with sqlite_engine.connect() as connection:
        await connection.execute(select(func.count()).select_from(conversations))  # warm up
        await connection.commit()
        hops.clear()
        await connection.execute(insert(conversations), conversation_row("c" * 32))
        rows = (await connection.execute(select(conversations.c.id))).all()
        await connection.commit()
        await connection.commit()  # nothing open: no hop
        await connection.rollback()
    # BEGIN IMMEDIATE with the INSERT, the SELECT, COMMIT; closing (the pool's reset) is free.
    assert hops == ["<lambda>", "<lambda>", "commit"]
    assert rows == [("c" * 32,)]


async def test_a_transaction_without_statements_costs_no_hop(sqlite_engine: AsyncEngine,
                                                             hops: list[str]) -> None:
    async with sqlite_engine.connect() as connection:
        await connection.execute(select(func.count()).select_from(conversations))  # warm up
        await connection.commit()
        hops.clear()
        await connection.begin()
        await connection.commit()
        await connection.begin()
        await connection.rollback()
        assert hops == []
        await connection.execute(insert(conversations), conversation_row("c" * 32))
    async with sqlite_engine.connect() as connection:  # the block above rolled back
        count = await connection.execute(select(func.count()).select_from(conversations))
        assert count.scalar_one() == 0


async def test_rows_counts_ids_and_errors_are_the_drivers(sqlite_engine: AsyncEngine) -> None:
    async with sqlite_engine.begin() as connection:
        await connection.execute(insert(conversations), [conversation_row(f"{n}" * 32)
                                                         for n in range(3)])
        first = (await connection.execute(insert(usage).returning(usage.c.id),
                                          usage_row("a"))).scalar_one()
        second = (await connection.execute(insert(usage).returning(usage.c.id),
                                           usage_row("b"))).scalar_one()
        ticket = await connection.execute(insert(tickets).values(
            user_id="u1", reason="r", summary="s", status="open", created_at=BASE,
            channel="cli"))  # no RETURNING: the id comes from lastrowid
        touched = await connection.execute(update(conversations).values(language="en"))
        bumped = (await connection.execute(
            update(conversations).where(conversations.c.id == "1" * 32)
            .values(last_seq=conversations.c.last_seq + 1).returning(conversations.c.last_seq)
        )).all()
    assert (first, second) == (1, 2)
    assert ticket.inserted_primary_key == (1,)
    assert touched.rowcount == 3
    assert bumped == [(1,)]
    async with sqlite_engine.connect() as connection:
        with pytest.raises(IntegrityError):
            await connection.execute(insert(conversations), conversation_row("0" * 32))
        await connection.rollback()
        count = (await connection.execute(select(func.count()).select_from(conversations)))
        assert count.scalar_one() == 3


async def test_streamed_results_come_in_chunks(sqlite_engine: AsyncEngine) -> None:
    async with sqlite_engine.begin() as connection:
        await connection.execute(insert(usage), [usage_row(f"m{n}") for n in range(5)])
    async with sqlite_engine.connect() as connection:
        result = await connection.stream(select(usage.c.model).order_by(usage.c.id))
        chunks = [[row.model for row in chunk] async for chunk in result.partitions(2)]
    assert chunks == [["m0", "m1"], ["m2", "m3"], ["m4"]]


@pytest.fixture
async def second_engine(sqlite_url: str, sqlite_engine: AsyncEngine
                        ) -> AsyncIterator[AsyncEngine]:
    """Another engine (another connection pool) on the same SQLite file."""
    engine = create_engine_for(sqlite_url)
    yield engine
    await engine.dispose()


async def test_the_write_lock_is_taken_at_begin(sqlite_engine: AsyncEngine,
                                                second_engine: AsyncEngine) -> None:
    """A transaction that only reads so far still waits for the writer ahead of it."""
    async def read_when_free(connection: AsyncConnection) -> float:
        started = time.perf_counter()
        await connection.execute(select(func.count()).select_from(conversations))
        return time.perf_counter() - started

    async with sqlite_engine.connect() as writer, second_engine.connect() as reader:
        await writer.execute(insert(conversations), conversation_row("w" * 32))
        waiting = asyncio.create_task(read_when_free(reader))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await writer.commit()
        assert await asyncio.wait_for(waiting, timeout=10) >= 0.25


async def test_a_writer_that_cannot_get_the_lock_fails_at_its_first_statement(
        sqlite_engine: AsyncEngine, second_engine: AsyncEngine) -> None:
    async with sqlite_engine.connect() as writer, second_engine.connect() as blocked:
        await writer.execute(insert(conversations), conversation_row("w" * 32))
        driver = (await blocked.get_raw_connection()).driver_connection
        assert isinstance(driver, OneHopConnection)
        await driver.execute("PRAGMA busy_timeout=50")
        with pytest.raises(OperationalError, match="database is locked"):
            await blocked.execute(select(func.count()).select_from(conversations))
        await blocked.rollback()
        await writer.commit()
        count = await blocked.execute(select(func.count()).select_from(conversations))
        assert count.scalar_one() == 1


async def test_an_in_memory_database_works() -> None:
    engine = create_engine_for("sqlite+aiosqlite://")
    try:
        await migrate(engine)
        async with engine.begin() as connection:
            await connection.execute(insert(conversations), conversation_row("m" * 32))
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT id FROM sip_conversations"))
                    ).scalar_one() == "m" * 32
    finally:
        await engine.dispose()
