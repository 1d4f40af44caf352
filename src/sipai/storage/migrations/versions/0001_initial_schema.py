"""Initial schema: conversations, messages, tickets, feedback, usage.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types: a migration must not change when schema.py does.
_ID = sa.String(length=32)
_USER = sa.String(length=128)


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _count(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Integer(), server_default="0", nullable=False)


def upgrade() -> None:
    op.create_table(
        "sip_conversations",
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", _USER, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("ended_at", nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        _count("summary_upto"),
        _count("failures"),
        _count("last_seq"),
        sa.PrimaryKeyConstraint("id", name="pk_sip_conversations"),
    )
    op.create_index("ix_sip_conversations_user_id_status", "sip_conversations",
                    ["user_id", "status"])
    op.create_index("ix_sip_conversations_status_ended_at", "sip_conversations",
                    ["status", "ended_at"])
    op.create_index("ix_sip_conversations_created_at", "sip_conversations", ["created_at"])

    op.create_table(
        "sip_messages",
        sa.Column("id", _ID, nullable=False),
        sa.Column("conversation_id", _ID, nullable=False),
        sa.Column("user_id", _USER, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        _ts("created_at"),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=True),
        sa.Column("model", sa.String(length=128), nullable=True),
        _count("prompt_tokens"),
        _count("completion_tokens"),
        sa.Column("cost_usd", sa.Float(), server_default="0", nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["sip_conversations.id"],
                                name="fk_sip_messages_conversation_id_sip_conversations",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_sip_messages"),
        sa.UniqueConstraint("conversation_id", "seq", name="uq_sip_messages_conversation_id_seq"),
    )
    op.create_index("ix_sip_messages_user_id", "sip_messages", ["user_id"])
    op.create_index("ix_sip_messages_created_at_role", "sip_messages", ["created_at", "role"])

    op.create_table(
        "sip_tickets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", _USER, nullable=False),
        sa.Column("conversation_id", _ID, nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("operator", sa.String(length=128), nullable=True),
        _ts("created_at"),
        _ts("closed_at", nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("admin_message_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["sip_conversations.id"],
                                name="fk_sip_tickets_conversation_id_sip_conversations",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_sip_tickets"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_sip_tickets_user_id_status", "sip_tickets", ["user_id", "status"])
    op.create_index("ix_sip_tickets_status_created_at", "sip_tickets", ["status", "created_at"])
    op.create_index("ix_sip_tickets_conversation_id", "sip_tickets", ["conversation_id"])
    op.create_index("ix_sip_tickets_admin_message_id", "sip_tickets", ["admin_message_id"])
    op.create_index("ix_sip_tickets_created_at", "sip_tickets", ["created_at"])

    op.create_table(
        "sip_feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", _USER, nullable=False),
        sa.Column("conversation_id", _ID, nullable=True),
        sa.Column("message_id", _ID, nullable=True),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["conversation_id"], ["sip_conversations.id"],
                                name="fk_sip_feedback_conversation_id_sip_conversations",
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["message_id"], ["sip_messages.id"],
                                name="fk_sip_feedback_message_id_sip_messages",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_sip_feedback"),
    )
    op.create_index("ix_sip_feedback_user_id_message_id", "sip_feedback",
                    ["user_id", "message_id"])
    op.create_index("ix_sip_feedback_conversation_id", "sip_feedback", ["conversation_id"])
    op.create_index("ix_sip_feedback_message_id", "sip_feedback", ["message_id"])
    op.create_index("ix_sip_feedback_created_at", "sip_feedback", ["created_at"])

    op.create_table(
        "sip_usage",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("user_id", _USER, nullable=False),
        sa.Column("conversation_id", _ID, nullable=True),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        _count("prompt_tokens"),
        _count("completion_tokens"),
        sa.Column("cost_usd", sa.Float(), server_default="0", nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["conversation_id"], ["sip_conversations.id"],
                                name="fk_sip_usage_conversation_id_sip_conversations",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_sip_usage"),
    )
    op.create_index("ix_sip_usage_user_id_created_at", "sip_usage", ["user_id", "created_at"])
    op.create_index("ix_sip_usage_conversation_id", "sip_usage", ["conversation_id"])
    op.create_index("ix_sip_usage_created_at", "sip_usage", ["created_at"])


def downgrade() -> None:
    # Indexes go with their tables; children before parents.
    for table in ("sip_usage", "sip_feedback", "sip_tickets", "sip_messages",
                  "sip_conversations"):
        op.drop_table(table)
