"""The storage package's public names are pinned: changing them is a deliberate act."""

from __future__ import annotations

import inspect

import sipai.storage
from sipai.storage import FakeUnitOfWork, SqlUnitOfWork, UnitOfWork
from sipai.storage.repository import MessageRepository


def test_exported_members() -> None:
    assert sorted(sipai.storage.__all__) == sorted([
        "FORGET_KINDS", "ConversationRepository", "DayStats", "FakeUnitOfWork",
        "FeedbackRepository", "MemoryStore", "MessageRepository", "SqlUnitOfWork",
        "StatsQueries", "StatsSummary", "TicketRepository", "UnitOfWork", "UsageRepository",
        "UsageTotals", "create_engine_for", "create_session_factory", "current_revision",
        "migrate",
    ])
    for name in sipai.storage.__all__:
        assert getattr(sipai.storage, name) is not None


def test_both_units_of_work_share_the_interface() -> None:
    for uow_class in (SqlUnitOfWork, FakeUnitOfWork):
        assert issubclass(uow_class, UnitOfWork)
        assert not inspect.isabstract(uow_class)
    message_methods = {name for name, _ in inspect.getmembers(MessageRepository,
                                                              inspect.isfunction)
                       if not name.startswith("_")}
    assert message_methods == {"add", "add_answer", "get", "update", "recent", "after", "all",
                               "count", "pending"}
