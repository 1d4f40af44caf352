"""aiosqlite connections on which a statement costs one hop to the database thread, not four.

aiosqlite runs every sqlite3 call on the connection's own thread and wakes the event loop
with each result. Through SQLAlchemy's adapter a statement makes four such calls: open a
cursor, execute, fetch the rows (or close the cursor). Each hand-off is a queue put, a
self-pipe wake-up and a turn of the event loop, which cost more CPU than SQLite takes to
run the statement. :class:`OneHopCursor` opens, executes, fetches and closes in a single
call on the database thread and keeps the rows, `description`, `rowcount` and
`lastrowid`, so that fetching and closing cost nothing. :class:`OneHopConnection` also
runs a transaction's `BEGIN` in the hop of its first statement (SQLAlchemy begins a
transaction as part of executing that statement anyway, so an error still comes from the
same call), and skips the hop of a `commit` or `rollback` when no transaction is open:
the pool rolls back every connection it takes back, which is usually just after a commit.

Same sqlite3 connection, same thread, same SQL, same transactions: only the number of
hand-offs changes. `create_engine_for` plugs it in through SQLAlchemy's `async_creator`
when the installed aiosqlite has the internals it relies on (:data:`SUPPORTED`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from threading import Thread
from typing import Any, Self, cast

import aiosqlite
from sqlalchemy import URL
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

#: aiosqlite's queue to its thread (`_execute`) and the sqlite3 connection (`_conn`) are
#: private; every aiosqlite release Sip supports has them, a future one might not.
SUPPORTED = all(hasattr(aiosqlite.Connection, name) for name in ("_execute", "_conn"))
#: aiosqlite's default for the rows one `async for` step fetches.
_ITER_CHUNK_SIZE = 64

_Outcome = tuple[Any, int, int | None, list[Any]]


def _run(connection: sqlite3.Connection, begin: str | None, sql: str, parameters: Any,
         many: bool) -> _Outcome:
    """On the database thread: the pending BEGIN, then one statement from cursor to close."""
    cursor = connection.cursor()
    try:
        if begin is not None:
            cursor.execute(begin)
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
        # Read after fetching: for UPDATE … RETURNING sqlite3 counts rows as they are stepped.
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class OneHopCursor:
    """The part of `aiosqlite.Cursor` SQLAlchemy uses, with one thread hop per execute."""

    def __init__(self, connection: OneHopConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1
        self._rows: list[Any] = []

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Any = ()) -> Self:
        """Run `sql` and keep its rows."""
        self._keep(await self._connection.on_thread(_run, sql, parameters, False))
        return self

    async def executemany(self, sql: str, parameters: Any) -> Self:
        """Run `sql` once per parameter set."""
        self._keep(await self._connection.on_thread(_run, sql, parameters, True))
        return self

    def _keep(self, outcome: _Outcome) -> None:
        self.description, self.rowcount, self.lastrowid, self._rows = outcome

    async def fetchone(self) -> Any:
        """The next row, or None."""
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """Up to `size` (default `arraysize`) more rows."""
        size = self.arraysize if size is None else size
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    async def fetchall(self) -> list[Any]:
        """Every remaining row."""
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        """Drop the rows not fetched (the sqlite3 cursor is already closed)."""
        self._rows = []


class OneHopConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors run a statement in one hop."""

    #: A BEGIN statement to run just before the next statement, in its hop.
    _pending_begin: str | None = None

    def cursor(self) -> OneHopCursor:  # type: ignore[override]
        """A cursor; opening it costs no hop (the sqlite3 cursor opens on execute)."""
        return OneHopCursor(self)

    def begin_with_next_statement(self, begin: str) -> None:
        """Start a transaction with `begin` (e.g. `BEGIN IMMEDIATE`) as the next statement runs."""
        self._pending_begin = begin

    async def on_thread(self, fn: Callable[..., _Outcome], *args: Any) -> _Outcome:
        """Call `fn(sqlite3_connection, pending_begin, *args)` on the connection's thread."""
        begin, self._pending_begin = self._pending_begin, None
        run: Callable[..., Awaitable[_Outcome]] = self._execute  # private, see SUPPORTED
        return await run(lambda: fn(self._conn, begin, *args))

    def _in_transaction(self) -> bool:
        # A BEGIN still pending never reached SQLite: there is nothing to end.
        self._pending_begin = None
        return self._connection is not None and self._conn.in_transaction

    async def commit(self) -> None:
        """Commit the open transaction, if any."""
        if self._in_transaction():
            await super().commit()

    async def rollback(self) -> None:
        """Roll back the open transaction, if any."""
        if self._in_transaction():
            await super().rollback()


def async_creator(url: URL, connect_args: Mapping[str, Any] | None = None
                  ) -> Callable[[], Awaitable[OneHopConnection]]:
    """The `async_creator` for SQLAlchemy: opens `url` as the aiosqlite dialect would."""
    args, kwargs = SQLiteDialect_aiosqlite().create_connect_args(url)
    kwargs.update(connect_args or {})

    open_sqlite: Callable[..., sqlite3.Connection] = sqlite3.connect

    async def connect() -> OneHopConnection:
        connection = OneHopConnection(lambda: open_sqlite(*args, **kwargs), _ITER_CHUNK_SIZE)
        # A daemon thread, as SQLAlchemy makes aiosqlite's (a Thread itself before 0.22).
        cast(Thread, getattr(connection, "_thread", connection)).daemon = True
        await connection
        return connection

    return connect


__all__ = ["SUPPORTED", "OneHopConnection", "OneHopCursor", "async_creator"]
