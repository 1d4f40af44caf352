"""Engines and migrations: SQLite by default, PostgreSQL for production.

`create_engine_for(url)` builds an `AsyncEngine` tuned for the backend: SQLite connections
get WAL journaling, foreign keys, a busy timeout and `BEGIN IMMEDIATE` transactions (so
two writers queue on the lock instead of failing with "database is locked" halfway
through a read-then-write unit of work), and run each statement in one hop to aiosqlite's
thread (`sipai.storage.sqlite_connection`); PostgreSQL connections are pre-pinged.
`migrate(engine)` brings the schema to the newest Alembic revision; it is safe to run on
every start.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, make_url, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from sipai.storage import sqlite_connection
from sipai.storage.schema import VERSION_TABLE

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
#: How long a SQLite writer waits for the lock before giving up, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 10_000
#: Key of the PostgreSQL advisory lock that serialises concurrent `migrate()` calls.
_MIGRATION_LOCK_KEY = 0x5109_0001


def create_engine_for(url: str, *, echo: bool = False, **kwargs: Any) -> AsyncEngine:
    """Create the async engine for `url` (`sqlite+aiosqlite:///…` or `postgresql+asyncpg://…`).

    A SQLite file's parent directory is created if missing. Extra keyword arguments go to
    `create_async_engine`.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.drivername == "sqlite":
            parsed = parsed.set(drivername="sqlite+aiosqlite")
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        if sqlite_connection.SUPPORTED and "creator" not in kwargs:
            # One thread hand-off per statement instead of four (see sqlite_connection).
            kwargs.setdefault("async_creator", sqlite_connection.async_creator(
                parsed, kwargs.pop("connect_args", None)))
        engine = create_async_engine(parsed, echo=echo, **kwargs)
        _tune_sqlite(engine)
        return engine
    if backend == "postgresql":
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+asyncpg")
        kwargs.setdefault("pool_pre_ping", True)
        return create_async_engine(parsed, echo=echo, **kwargs)
    raise ValueError(f"unsupported database backend {backend!r}: use SQLite or PostgreSQL")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """A session factory bound to `engine`, for `SqlUnitOfWork` (which uses its engine).

    A unit of work runs on a plain connection of that engine; passing the engine itself to
    `SqlUnitOfWork` does the same. Sessions from this factory suit ad-hoc ORM-style use.
    """
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def _tune_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy emit BEGIN itself (below) instead of the driver's legacy handling.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            # NORMAL in WAL mode: a committed message survives the process being killed
            # (the write-ahead log is in the OS's hands); only an OS crash or power cut may
            # undo the last commits. FULL would fsync every commit, twice per turn, which
            # dominated a turn's cost. Deployments that need more use PostgreSQL.
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Take the write lock up front: a deferred transaction that read first and writes
        # later fails at once with SQLITE_BUSY when another writer committed meanwhile.
        driver = connection.connection.driver_connection
        if isinstance(driver, sqlite_connection.OneHopConnection):
            # Before the first statement, in its hop: the lock is still taken before it runs.
            driver.begin_with_next_statement("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration pointing at Sip's bundled migrations (no ini file needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("version_table", VERSION_TABLE)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Two workers starting at once must not both create the tables.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                           {"key": _MIGRATION_LOCK_KEY})
    command.upgrade(alembic_config(connection), "head")


def _current_revision(connection: Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


async def migrate(engine: AsyncEngine) -> str | None:
    """Upgrade the schema to the newest revision and return it; a no-op when already there."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    started = time.perf_counter()
    async with engine.connect() as connection:
        before = await connection.run_sync(_current_revision)
    if before == head:
        return head
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
        after = await connection.run_sync(_current_revision)
    log.info("storage.migrated", extra={"backend": engine.dialect.name, "from": before,
                                        "to": after,
                                        "ms": round((time.perf_counter() - started) * 1000)})
    return after


async def current_revision(engine: AsyncEngine) -> str | None:
    """The schema revision the database is at, or None before the first migration."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current_revision)


__all__ = ["MIGRATIONS_DIR", "alembic_config", "create_engine_for", "create_session_factory",
           "current_revision", "migrate"]
