"""Sip's storage layer: repositories and a unit of work over SQLite or PostgreSQL.

    engine = create_engine_for(settings.database_url)
    await migrate(engine)
    sessions = create_session_factory(engine)
    async with SqlUnitOfWork(sessions) as uow:
        ...
        await uow.commit()

`FakeUnitOfWork` (in `sipai.storage.memory`) has the same interface, in memory.
"""

from sipai.storage.engine import (
    create_engine_for,
    create_session_factory,
    current_revision,
    migrate,
)
from sipai.storage.memory import FakeUnitOfWork, MemoryStore
from sipai.storage.repository import (
    ConversationRepository,
    FeedbackRepository,
    MessageRepository,
    StatsQueries,
    TicketRepository,
    UsageRepository,
)
from sipai.storage.stats import DayStats, StatsSummary, UsageTotals
from sipai.storage.unit_of_work import FORGET_KINDS, SqlUnitOfWork, UnitOfWork

__all__ = [
    "FORGET_KINDS",
    "ConversationRepository",
    "DayStats",
    "FakeUnitOfWork",
    "FeedbackRepository",
    "MemoryStore",
    "MessageRepository",
    "SqlUnitOfWork",
    "StatsQueries",
    "StatsSummary",
    "TicketRepository",
    "UnitOfWork",
    "UsageRepository",
    "UsageTotals",
    "create_engine_for",
    "create_session_factory",
    "current_revision",
    "migrate",
]
