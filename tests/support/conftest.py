"""Fixtures for the support service: a built Sip over SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import text

from sipai.bootstrap import Sip, build_sip
from sipai.config import Settings
from tests.storage.conftest import postgres_database

SipFactory = Callable[..., AbstractAsyncContextManager[Sip]]


@pytest.fixture(scope="session")
async def support_postgres_url() -> AsyncIterator[str]:
    """A throw-away PostgreSQL database for the service tests."""
    try:
        async with postgres_database() as url:
            yield url
    except OSError as error:  # pragma: no cover - the server is part of the machine
        pytest.skip(f"PostgreSQL is not reachable: {error}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> str:
    """Which database the service runs on: each test runs on both."""
    return str(request.param)


@pytest.fixture
def sip_factory(database: str, request: pytest.FixtureRequest) -> SipFactory:
    """Build a Sip from settings on the chosen database, closed at the end of the block."""
    url = request.getfixturevalue("support_postgres_url") if database == "postgres" else None

    @asynccontextmanager
    async def build(settings: Settings, **kwargs: Any) -> AsyncIterator[Sip]:
        if url is not None:
            settings = settings.model_copy(update={"sip_database_url": url})
        sip = await build_sip(settings, **kwargs)
        try:
            yield sip
        finally:
            if url is not None:
                # A summary still running would deadlock with TRUNCATE: let it finish first.
                await sip.deps.background.drain()
                # Each test starts from empty tables: forget every user it created.
                async with sip.deps.uow() as uow:
                    await uow.session.execute(text(  # type: ignore[attr-defined]
                        "TRUNCATE sip_feedback, sip_usage, sip_tickets, sip_messages, "
                        "sip_conversations RESTART IDENTITY CASCADE"))
                    await uow.commit()
            await sip.aclose()

    return build
