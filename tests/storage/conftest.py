"""Storage fixtures: a throw-away PostgreSQL database per session, fresh SQLite files per test,
and `uow_factory`, parametrized over SQLite, PostgreSQL and the in-memory fake.

The PostgreSQL database is `sip_test_<random hex>` on the server named by
`SIP_TEST_POSTGRES_URL` (default `postgresql://postgres@127.0.0.1:5432/postgres`), created
at the start of the session and dropped (WITH FORCE) at the end. Tests that need it are
skipped, with the reason, only when the server does not answer.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from sipai.storage import FakeUnitOfWork, MemoryStore, SqlUnitOfWork, UnitOfWork
from sipai.storage.engine import create_engine_for, create_session_factory, migrate
from sipai.storage.schema import metadata

ADMIN_URL = os.environ.get("SIP_TEST_POSTGRES_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")

UowFactory = Callable[[], UnitOfWork]


@asynccontextmanager
async def postgres_database(admin_url: str = ADMIN_URL) -> AsyncIterator[str]:
    """Create a `sip_test_<hex>` database, yield its asyncpg SQLAlchemy URL, then drop it.

    Raises OSError / asyncpg errors when the server is unreachable (callers skip on those).
    """
    name = f"sip_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_url, timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield make_url(admin_url).set(drivername="postgresql+asyncpg",
                                      database=name).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(admin_url, timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture(scope="session")
async def postgres_url() -> AsyncIterator[str]:
    """The URL of this session's throw-away PostgreSQL database (skips if no server)."""
    try:
        database = postgres_database()
        url = await database.__aenter__()
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        pytest.skip(f"PostgreSQL not reachable at {make_url(ADMIN_URL).host}:"
                    f"{make_url(ADMIN_URL).port or 5432} ({type(exc).__name__}: {exc})")
    try:
        yield url
    finally:
        await database.__aexit__(None, None, None)


@pytest.fixture(scope="session")
async def postgres_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated engine on the session's PostgreSQL database."""
    engine = create_engine_for(postgres_url)
    await migrate(engine)
    yield engine
    await engine.dispose()


async def truncate_all(engine: AsyncEngine) -> None:
    """Empty every Sip table and restart the id sequences (PostgreSQL)."""
    names = ", ".join(table.name for table in metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file URL in the test's own directory."""
    return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'sip.db'}"


@pytest.fixture
async def sqlite_engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated engine on a fresh SQLite file."""
    engine = create_engine_for(sqlite_url)
    await migrate(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def clean_postgres_engine(postgres_engine: AsyncEngine) -> AsyncEngine:
    """The session's PostgreSQL engine with every table emptied for this test."""
    await truncate_all(postgres_engine)
    return postgres_engine


# The dispatching fixtures are sync: an async fixture cannot resolve other async fixtures
# through `getfixturevalue` while the event loop is running.
@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> AsyncEngine:
    """A migrated, empty engine: a fresh SQLite file, or the session's PostgreSQL database."""
    name = "sqlite_engine" if request.param == "sqlite" else "clean_postgres_engine"
    chosen: AsyncEngine = request.getfixturevalue(name)
    return chosen


@pytest.fixture(params=["memory", "sqlite",
                        pytest.param("postgres", marks=pytest.mark.postgres)])
def uow_factory(request: pytest.FixtureRequest) -> UowFactory:
    """Builds units of work that share one empty store: in memory, SQLite or PostgreSQL."""
    if request.param == "memory":
        store = MemoryStore()
        return lambda: FakeUnitOfWork(store)
    name = "sqlite_engine" if request.param == "sqlite" else "clean_postgres_engine"
    sessions = create_session_factory(request.getfixturevalue(name))
    return lambda: SqlUnitOfWork(sessions)
