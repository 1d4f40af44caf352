"""Alembic environment for Sip's schema.

`sipai.storage.engine.migrate()` hands over an open connection in
`config.attributes["connection"]`; the `alembic` command line (with `alembic.ini` in this
folder) connects to `SIP_DATABASE_URL` or the `sqlalchemy.url` option instead.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import Connection

from sipai.storage.schema import VERSION_TABLE, metadata

config = context.config


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        compare_type=True,
        **kwargs,  # type: ignore[arg-type]
    )


def _run(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = os.environ.get("SIP_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set SIP_DATABASE_URL or sqlalchemy.url to run migrations")
    return url


async def _run_with_own_engine() -> None:
    from sipai.storage.engine import create_engine_for

    engine = create_engine_for(_url())
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()
elif (connection := config.attributes.get("connection")) is not None:
    _run(connection)
else:
    asyncio.run(_run_with_own_engine())
