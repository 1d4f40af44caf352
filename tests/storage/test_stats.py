"""`sip stats` figures and the console's per-day series, identical on every backend."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from sipai.storage import UnitOfWork
from sipai.storage.stats import percentile, utc_days
from sipai.support.domain import (
    AnswerMode,
    Feedback,
    Message,
    Ticket,
    TicketStatus,
    TurnStatus,
    UsageRecord,
)

from .conftest import UowFactory
from .helpers import at, new_conversation

DAY1, DAY2 = at(days=0).date(), at(days=1).date()


async def answer(uow: UnitOfWork, conversation_id: str, user_id: str, when: datetime, *,
                 mode: AnswerMode, latency_ms: int | None,
                 status: TurnStatus = "answered") -> Message:
    asked = Message(conversation_id=conversation_id, user_id=user_id, role="user", text="q",
                    created_at=when, status=status)
    await uow.messages.add(asked)
    reply = Message(conversation_id=conversation_id, user_id=user_id, role="assistant",
                    text="a", created_at=when + timedelta(seconds=2), mode=mode,
                    latency_ms=latency_ms)
    return await uow.messages.add(reply)


async def seed(uow: UnitOfWork) -> None:
    """Two busy days (BASE day and the next), an empty one, and noise outside the window."""
    one = await new_conversation(uow, "u1", created_at=at(0))
    two = await new_conversation(uow, "u2", created_at=at(5))
    three = await new_conversation(uow, "u1", created_at=at(days=1))
    outside = await new_conversation(uow, "u9", created_at=at(days=-5))
    first = await answer(uow, one.id, "u1", at(1), mode="llm", latency_ms=100)
    await answer(uow, one.id, "u1", at(2), mode="llm", latency_ms=200)
    await answer(uow, two.id, "u2", at(6), mode="fallback", latency_ms=300)
    await answer(uow, two.id, "u2", at(7), mode="offline", latency_ms=400,
                 status="unanswered")
    await answer(uow, three.id, "u1", at(days=1), mode="cache", latency_ms=None)
    await answer(uow, three.id, "u1", at(1, days=1), mode="llm", latency_ms=1000)
    await answer(uow, outside.id, "u9", at(days=-5), mode="llm", latency_ms=99_999)
    for when, prompt, completion, cost, outcome in [
        (at(1), 100, 50, 0.001, "ok"), (at(6), 200, 0, 0.0, "error:service_unavailable"),
        (at(days=1), 1000, 500, 0.01, "ok"), (at(days=-5), 7, 7, 7.0, "ok"),
    ]:
        await uow.usage.add(UsageRecord(user_id="u1", model="openai/gpt-oss-120b",
                                        prompt_tokens=prompt, completion_tokens=completion,
                                        cost_usd=cost, outcome=outcome, created_at=when))
    statuses: tuple[TicketStatus, ...] = ("open", "open", "taken", "closed")
    for status in statuses:
        await uow.tickets.add(Ticket(user_id="u2", conversation_id=two.id, reason="r",
                                     status=status, created_at=at(8)))
    await uow.tickets.add(Ticket(user_id="u9", conversation_id=None, reason="old",
                                 created_at=at(days=-5)))
    for rating, user in ((1, "u1"), (1, "u2"), (-1, "u3")):
        await uow.feedback.add(Feedback(user_id=user, conversation_id=one.id,
                                        message_id=first.id, rating=rating, created_at=at(3)))


WINDOW = (datetime.combine(DAY1, datetime.min.time(), UTC), at(days=3))


async def test_summary(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        await seed(uow)
        await uow.commit()
    async with uow_factory() as uow:
        stats = await uow.stats.summary(*WINDOW)
    assert (stats.conversations, stats.turns, stats.users, stats.answers, stats.unanswered) == (
        3, 6, 2, 6, 1)
    assert stats.modes == {"llm": 3, "fallback": 1, "offline": 1, "cache": 1}
    assert (stats.usage.calls, stats.usage.errors, stats.usage.total_tokens) == (3, 1, 1850)
    assert stats.usage.cost_usd == pytest.approx(0.011)
    assert stats.tickets == {"open": 2, "taken": 1, "closed": 1}
    assert (stats.feedback_up, stats.feedback_down) == (2, 1)
    # Latencies 100, 200, 300, 400, 1000 (the cached answer has none).
    assert stats.latency_p50_ms == pytest.approx(300.0)
    assert stats.latency_p95_ms == pytest.approx(880.0)
    json.dumps(stats.as_dict())


async def test_daily_series(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        await seed(uow)
        await uow.commit()
    async with uow_factory() as uow:
        days = await uow.stats.daily(*WINDOW)
    assert [d.day for d in days] == [DAY1, DAY2, DAY2 + timedelta(days=1),
                                     DAY2 + timedelta(days=2)]
    first, second, empty, partial = days
    assert (first.conversations, first.turns, first.users) == (2, 4, 2)
    assert first.modes == {"llm": 2, "fallback": 1, "offline": 1}
    assert (first.prompt_tokens, first.completion_tokens, first.tokens) == (300, 50, 350)
    assert first.cost_usd == pytest.approx(0.001)
    assert first.latency_p50_ms == pytest.approx(250.0)
    assert first.latency_p95_ms == pytest.approx(385.0)
    assert (second.conversations, second.turns, second.users) == (1, 2, 1)
    assert second.modes == {"cache": 1, "llm": 1}
    assert second.latency_p50_ms == second.latency_p95_ms == pytest.approx(1000.0)
    assert second.cost_usd == pytest.approx(0.01)
    for quiet in (empty, partial):
        assert (quiet.conversations, quiet.turns, quiet.tokens, quiet.modes) == (0, 0, 0, {})
        assert quiet.latency_p50_ms is None
    assert json.loads(json.dumps(first.as_dict()))["day"] == DAY1.isoformat()


async def test_empty_database(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        stats = await uow.stats.summary(*WINDOW)
        days = await uow.stats.daily(WINDOW[0], WINDOW[0] + timedelta(days=1))
    assert (stats.turns, stats.users, stats.usage.calls, stats.latency_p50_ms) == (0, 0, 0, None)
    assert stats.tickets == {"open": 0, "taken": 0, "closed": 0}
    assert len(days) == 1 and days[0].turns == 0


def test_percentile_interpolates_linearly() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7], 0.95) == 7.0
    assert percentile([4, 1, 3, 2], 0.5) == 2.5
    assert percentile(range(1, 101), 0.95) == pytest.approx(95.05)


def test_utc_days_bounds() -> None:
    midnight = datetime(2026, 1, 1, tzinfo=UTC)
    assert utc_days(midnight, midnight + timedelta(days=2)) == [date(2026, 1, 1),
                                                                 date(2026, 1, 2)]
    assert utc_days(midnight, midnight + timedelta(hours=1)) == [date(2026, 1, 1)]
    assert utc_days(midnight, midnight) == []
    with pytest.raises(ValueError, match="at most"):
        utc_days(midnight, midnight + timedelta(days=10_000))
