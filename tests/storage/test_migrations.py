"""Migrations create the schema once, match the table models, and ship with the package."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from sipai.storage.engine import (
    MIGRATIONS_DIR,
    alembic_config,
    create_engine_for,
    current_revision,
    migrate,
)
from sipai.storage.schema import VERSION_TABLE, metadata

from .conftest import postgres_database

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()
TABLES = {"sip_conversations", "sip_messages", "sip_tickets", "sip_feedback", "sip_usage"}


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _schema_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"version_table": VERSION_TABLE, "compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_first_run_creates_the_schema(sqlite_url: str) -> None:
    engine = create_engine_for(sqlite_url)
    try:
        assert await current_revision(engine) is None
        assert await migrate(engine) == HEAD
        async with engine.connect() as connection:
            assert await connection.run_sync(_table_names) == TABLES | {VERSION_TABLE}
    finally:
        await engine.dispose()


async def test_second_run_is_a_no_op(engine: AsyncEngine) -> None:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        assert await migrate(engine) == HEAD
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert statements, "the revision check itself should have run"
    assert not [s for s in statements if s.lstrip().upper().startswith(("CREATE", "ALTER",
                                                                        "DROP", "INSERT"))]


async def test_migrated_schema_matches_the_table_models(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        assert await connection.run_sync(_schema_diff) == []


async def test_downgrade_then_upgrade(sqlite_engine: AsyncEngine) -> None:
    def downgrade(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), "base")

    async with sqlite_engine.begin() as connection:
        await connection.run_sync(downgrade)
    async with sqlite_engine.connect() as connection:
        assert await connection.run_sync(_table_names) == {VERSION_TABLE}
    assert await migrate(sqlite_engine) == HEAD
    async with sqlite_engine.connect() as connection:
        assert await connection.run_sync(_table_names) >= TABLES


@pytest.mark.postgres
async def test_workers_migrating_at_once_on_postgres(postgres_url: str) -> None:
    async with postgres_database() as url:
        engines = [create_engine_for(url) for _ in range(3)]
        try:
            results = await asyncio.gather(*(migrate(e) for e in engines))
            assert results == [HEAD] * 3
            async with engines[0].connect() as connection:
                assert await connection.run_sync(_table_names) >= TABLES
        finally:
            for e in engines:
                await e.dispose()


async def test_sqlite_connections_are_tuned(sqlite_engine: AsyncEngine) -> None:
    async with sqlite_engine.connect() as connection:
        pragma = {name: (await connection.execute(text(f"PRAGMA {name}"))).scalar_one()
                  for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")}
    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10_000,
                      "synchronous": 1}


async def test_sqlite_directory_is_created_and_plain_urls_upgraded(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "deeper" / "sip.db"
    engine = create_engine_for(f"sqlite:///{target}")
    try:
        assert engine.dialect.driver == "aiosqlite"
        await migrate(engine)
        assert target.exists()
    finally:
        await engine.dispose()


def test_unsupported_backends_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database backend"):
        create_engine_for("mysql+aiomysql://root@127.0.0.1/sip")


def test_migrations_ship_inside_the_package() -> None:
    assert MIGRATIONS_DIR.parent.name == "storage"
    for name in ("env.py", "script.py.mako", "alembic.ini"):
        assert (MIGRATIONS_DIR / name).is_file()
    versions = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("*.py"))
    assert versions and versions[0].startswith("0001_")
