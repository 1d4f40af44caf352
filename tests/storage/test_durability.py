"""Nothing is lost: a customer's message committed before a crash is there after a restart."""

from __future__ import annotations

import asyncio
import signal
import sys
import textwrap

import pytest

from sipai.storage import SqlUnitOfWork, create_engine_for, create_session_factory, migrate

# A worker that stores the customer's message, starts answering, and is killed (SIGKILL:
# no rollback, no engine disposal, no atexit) while the answer's transaction is open.
CRASHING_WORKER = textwrap.dedent("""
    import asyncio, os, signal, sys
    from sipai.storage import SqlUnitOfWork, create_engine_for, create_session_factory, migrate
    from sipai.support.domain import Conversation, Message, UsageRecord

    async def main(url):
        engine = create_engine_for(url)
        await migrate(engine)
        sessions = create_session_factory(engine)
        async with SqlUnitOfWork(sessions) as uow:
            conversation = Conversation(user_id="tg:crash", channel="telegram")
            await uow.conversations.add(conversation)
            asked = await uow.messages.add(
                Message.from_user(conversation.id, "tg:crash", "mi VPN no conecta"))
            await uow.commit()
        print(conversation.id, asked.id, flush=True)
        async with SqlUnitOfWork(sessions) as uow:
            await uow.messages.add(Message.from_assistant(
                conversation.id, "tg:crash", "half an answer", mode="llm"))
            await uow.usage.add(UsageRecord(user_id="tg:crash", model="m", prompt_tokens=9))
            os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main(sys.argv[1]))
""")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """An empty database: a SQLite file not yet created, or the session's PostgreSQL one."""
    if request.param == "sqlite":
        url: str = request.getfixturevalue("sqlite_url")
        return url
    request.getfixturevalue("clean_postgres_engine")
    postgres: str = request.getfixturevalue("postgres_url")
    return postgres


async def test_committed_message_survives_a_crash(database_url: str) -> None:
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CRASHING_WORKER, database_url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(worker.communicate(), timeout=60)
    assert worker.returncode == -signal.SIGKILL, stderr.decode()
    conversation_id, message_id = stdout.decode().split()

    engine = create_engine_for(database_url)  # a new process's view: a brand-new engine
    try:
        await migrate(engine)
        async with SqlUnitOfWork(create_session_factory(engine)) as uow:
            stored = await uow.messages.get(message_id)
            assert stored is not None
            assert (stored.text, stored.status, stored.seq) == ("mi VPN no conecta", "pending", 1)
            assert await uow.messages.count(conversation_id) == 1  # the half answer is gone
            assert [m.id for m in await uow.messages.pending()] == [message_id]
            assert await uow.usage.list() == []
    finally:
        await engine.dispose()
