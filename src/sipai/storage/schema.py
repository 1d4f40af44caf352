"""The database schema as SQLAlchemy Core tables, shared by SQLite and PostgreSQL.

Tables carry a `sip_` prefix (and Alembic's version table is `sip_alembic_version`) so Sip
can live in a database it shares with the VPN service's own tables. The domain classes in
`sipai.support.domain` know nothing of these tables; the repositories translate.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

#: Alembic's bookkeeping table, named so it cannot collide with another app's Alembic.
VERSION_TABLE = "sip_alembic_version"

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no timezone support: values are stored as naive UTC text, which also keeps
    them ordered when compared as strings. PostgreSQL stores `timestamptz`.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Sip stores timezone-aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text from an aggregate such as max()
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_ID = String(32)
_USER = String(128)
# SQLite only turns an "INTEGER PRIMARY KEY" into the fast rowid alias.
_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")

conversations = Table(
    "sip_conversations",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("user_id", _USER, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("language", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("ended_at", UtcDateTime(), nullable=True),
    Column("summary", Text(), nullable=True),
    Column("summary_upto", Integer(), nullable=False, server_default="0"),
    Column("failures", Integer(), nullable=False, server_default="0"),
    # The last seq handed out; bumping it row-locks the conversation, so concurrent
    # writers to one conversation queue up instead of colliding on (conversation_id, seq).
    Column("last_seq", Integer(), nullable=False, server_default="0"),
    Index(None, "user_id", "status"),
    Index(None, "status", "ended_at"),
    Index(None, "created_at"),
)

messages = Table(
    "sip_messages",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("conversation_id", _ID, ForeignKey(conversations.c.id, ondelete="CASCADE"),
           nullable=False),
    Column("user_id", _USER, nullable=False),
    Column("seq", Integer(), nullable=False),
    Column("role", String(16), nullable=False),
    Column("text", Text(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("status", String(16), nullable=True),
    Column("mode", String(16), nullable=True),
    Column("model", String(128), nullable=True),
    Column("prompt_tokens", Integer(), nullable=False, server_default="0"),
    Column("completion_tokens", Integer(), nullable=False, server_default="0"),
    Column("cost_usd", Float(), nullable=False, server_default="0"),
    Column("latency_ms", Integer(), nullable=True),
    Column("sources", JSON(), nullable=False),
    UniqueConstraint("conversation_id", "seq"),
    Index(None, "user_id"),
    Index(None, "created_at", "role"),
)

tickets = Table(
    "sip_tickets",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("user_id", _USER, nullable=False),
    Column("conversation_id", _ID, ForeignKey(conversations.c.id, ondelete="SET NULL"),
           nullable=True),
    Column("reason", Text(), nullable=False),
    Column("summary", Text(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("operator", String(128), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("closed_at", UtcDateTime(), nullable=True),
    Column("channel", String(16), nullable=False),
    Column("chat_id", BigInteger(), nullable=True),
    Column("admin_message_id", BigInteger(), nullable=True),
    Index(None, "user_id", "status"),
    Index(None, "status", "created_at"),
    Index(None, "conversation_id"),
    Index(None, "admin_message_id"),
    Index(None, "created_at"),
    # Ticket numbers are shown to operators: never hand out a deleted ticket's number again.
    sqlite_autoincrement=True,
)

feedback = Table(
    "sip_feedback",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("user_id", _USER, nullable=False),
    Column("conversation_id", _ID, ForeignKey(conversations.c.id, ondelete="SET NULL"),
           nullable=True),
    Column("message_id", _ID, ForeignKey(messages.c.id, ondelete="SET NULL"), nullable=True),
    Column("rating", SmallInteger(), nullable=False),
    Column("comment", Text(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Index(None, "user_id", "message_id"),
    Index(None, "conversation_id"),
    Index(None, "message_id"),
    Index(None, "created_at"),
)

usage = Table(
    "sip_usage",
    metadata,
    Column("id", _BIG_ID, primary_key=True, autoincrement=True),
    Column("user_id", _USER, nullable=False),
    Column("conversation_id", _ID, ForeignKey(conversations.c.id, ondelete="SET NULL"),
           nullable=True),
    Column("model", String(128), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("prompt_tokens", Integer(), nullable=False, server_default="0"),
    Column("completion_tokens", Integer(), nullable=False, server_default="0"),
    Column("cost_usd", Float(), nullable=False, server_default="0"),
    Column("latency_ms", Integer(), nullable=True),
    Column("outcome", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index(None, "user_id", "created_at"),
    Index(None, "conversation_id"),
    Index(None, "created_at"),
)

__all__ = ["VERSION_TABLE", "UtcDateTime", "conversations", "feedback", "messages", "metadata",
           "tickets", "usage"]
