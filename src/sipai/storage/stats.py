"""Read models for `sip stats` and the operator console, and the SQL that fills them.

Figures cover a time window `[since, until)` in UTC. "Turns" are customer messages,
"answers" are Sip's; token and cost figures come from usage records (so they include
summaries and retries), answer modes and latencies from the stored answers. Latency
percentiles interpolate linearly, like PostgreSQL's `percentile_cont`, which computes
them on PostgreSQL; on SQLite they are computed here.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from sipai.storage.schema import conversations, feedback, messages, tickets, usage

#: A stats window longer than this is a caller's mistake, not a report.
MAX_DAYS = 3660


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """Provider calls in a window: how many, how many failed, tokens and cost."""

    calls: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class StatsSummary:
    """Everything `sip stats` prints for one window."""

    since: datetime
    until: datetime
    conversations: int = 0
    turns: int = 0
    users: int = 0
    answers: int = 0
    unanswered: int = 0
    modes: dict[str, int] = field(default_factory=dict)
    usage: UsageTotals = field(default_factory=UsageTotals)
    tickets: dict[str, int] = field(default_factory=dict)
    feedback_up: int = 0
    feedback_down: int = 0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (timestamps as ISO 8601 strings)."""
        data = asdict(self)
        data["since"] = self.since.isoformat()
        data["until"] = self.until.isoformat()
        data["usage"]["total_tokens"] = self.usage.total_tokens
        return data


@dataclass(frozen=True, slots=True)
class DayStats:
    """One UTC day of activity, for the console's charts."""

    day: date
    conversations: int = 0
    turns: int = 0
    users: int = 0
    modes: dict[str, int] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (the day as YYYY-MM-DD)."""
        data = asdict(self)
        data["day"] = self.day.isoformat()
        data["tokens"] = self.tokens
        return data


def percentile(values: Iterable[float], q: float) -> float | None:
    """The `q`-th quantile (0–1) of `values` with linear interpolation; None when empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def utc_days(since: datetime, until: datetime) -> list[date]:
    """The UTC dates that `[since, until)` touches, in order."""
    if until <= since:
        return []
    first, last = since.date(), (until - timedelta(microseconds=1)).date()
    count = (last - first).days + 1
    if count > MAX_DAYS:
        raise ValueError(f"a stats window may cover at most {MAX_DAYS} days")
    return [first + timedelta(days=n) for n in range(count)]


class utc_day(FunctionElement[str]):
    """SQL expression: a timestamp column's UTC date as 'YYYY-MM-DD' text."""

    type = String()
    name = "utc_day"
    inherit_cache = True


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    # Timestamps are stored as naive UTC text, "YYYY-MM-DD HH:MM:SS.ffffff".
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"to_char(({column}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


def _within(column: ColumnElement[Any], since: datetime, until: datetime) -> ColumnElement[bool]:
    return and_(column >= since, column < until)


async def usage_totals(connection: AsyncConnection, since: datetime, until: datetime,
                       user_id: str | None = None) -> UsageTotals:
    """Sum the usage records in `[since, until)`, for everyone or one customer."""
    query = select(
        func.count(),
        func.count().filter(usage.c.outcome.like("error:%")),
        func.coalesce(func.sum(usage.c.prompt_tokens), 0),
        func.coalesce(func.sum(usage.c.completion_tokens), 0),
        func.coalesce(func.sum(usage.c.cost_usd), 0.0),
    ).where(_within(usage.c.created_at, since, until))
    if user_id is not None:
        query = query.where(usage.c.user_id == user_id)
    row = (await connection.execute(query)).one()
    return UsageTotals(calls=int(row[0]), errors=int(row[1]), prompt_tokens=int(row[2]),
                       completion_tokens=int(row[3]), cost_usd=float(row[4]))


class SqlStatsQueries:
    """`StatsQueries` on SQLAlchemy: aggregates in SQL, one query per figure family."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    @property
    def _is_postgres(self) -> bool:
        return self._connection.dialect.name == "postgresql"

    async def summary(self, since: datetime, until: datetime) -> StatsSummary:
        """Totals over `[since, until)`."""
        run = self._connection.execute
        window = _within(messages.c.created_at, since, until)
        started = (await run(select(func.count()).select_from(conversations).where(
            _within(conversations.c.created_at, since, until)))).scalar_one()
        turns = answers = unanswered = 0
        modes: dict[str, int] = {}
        rows = await run(select(messages.c.role, messages.c.mode, messages.c.status, func.count())
                         .where(window)
                         .group_by(messages.c.role, messages.c.mode, messages.c.status))
        for role, mode, status, count in rows:
            if role == "user":
                turns += count
                unanswered += count if status == "unanswered" else 0
            else:
                answers += count
                modes[mode or "unknown"] = modes.get(mode or "unknown", 0) + count
        users = (await run(select(func.count(func.distinct(messages.c.user_id)))
                           .where(window, messages.c.role == "user"))).scalar_one()
        ticket_counts = {"open": 0, "taken": 0, "closed": 0}
        for status, count in await run(select(tickets.c.status, func.count())
                                       .where(_within(tickets.c.created_at, since, until))
                                       .group_by(tickets.c.status)):
            ticket_counts[status] = count
        ratings: dict[int, int] = dict((await run(select(feedback.c.rating, func.count())
                                  .where(_within(feedback.c.created_at, since, until))
                                  .group_by(feedback.c.rating))).all())
        p50, p95 = await self._latency(since, until)
        return StatsSummary(
            since=since, until=until, conversations=started, turns=turns, users=users,
            answers=answers, unanswered=unanswered, modes=modes,
            usage=await usage_totals(self._connection, since, until), tickets=ticket_counts,
            feedback_up=ratings.get(1, 0), feedback_down=ratings.get(-1, 0),
            latency_p50_ms=p50, latency_p95_ms=p95,
        )

    async def daily(self, since: datetime, until: datetime) -> list[DayStats]:
        """One row per UTC day in `[since, until)`, days without activity included."""
        days = utc_days(since, until)
        run = self._connection.execute
        acc: dict[str, dict[str, Any]] = {
            d.isoformat(): {"modes": {}} for d in days
        }

        def put(day: str, key: str, value: Any) -> None:
            if day in acc:
                acc[day][key] = value

        day = utc_day(conversations.c.created_at)
        for d, count in await run(select(day, func.count())
                                  .where(_within(conversations.c.created_at, since, until))
                                  .group_by(day)):
            put(d, "conversations", count)
        day = utc_day(messages.c.created_at)
        window = _within(messages.c.created_at, since, until)
        for d, role, mode, count in await run(
                select(day, messages.c.role, messages.c.mode, func.count())
                .where(window).group_by(day, messages.c.role, messages.c.mode)):
            if d not in acc:
                continue
            if role == "user":
                acc[d]["turns"] = acc[d].get("turns", 0) + count
            else:
                acc[d]["modes"][mode or "unknown"] = count
        for d, count in await run(select(day, func.count(func.distinct(messages.c.user_id)))
                                  .where(window, messages.c.role == "user").group_by(day)):
            put(d, "users", count)
        day = utc_day(usage.c.created_at)
        for d, prompt, completion, cost in await run(
                select(day, func.sum(usage.c.prompt_tokens), func.sum(usage.c.completion_tokens),
                       func.sum(usage.c.cost_usd))
                .where(_within(usage.c.created_at, since, until)).group_by(day)):
            put(d, "prompt_tokens", int(prompt or 0))
            put(d, "completion_tokens", int(completion or 0))
            put(d, "cost_usd", float(cost or 0.0))
        for d, (p50, p95) in (await self._daily_latency(since, until)).items():
            put(d, "latency_p50_ms", p50)
            put(d, "latency_p95_ms", p95)
        return [DayStats(day=d, **acc[d.isoformat()]) for d in days]

    def _answer_latencies(self, since: datetime, until: datetime) -> ColumnElement[bool]:
        return and_(_within(messages.c.created_at, since, until),
                    messages.c.role == "assistant", messages.c.latency_ms.is_not(None))

    async def _latency(self, since: datetime, until: datetime) -> tuple[float | None,
                                                                          float | None]:
        where = self._answer_latencies(since, until)
        if self._is_postgres:
            row = (await self._connection.execute(select(
                func.percentile_cont(0.5).within_group(messages.c.latency_ms),
                func.percentile_cont(0.95).within_group(messages.c.latency_ms),
            ).where(where))).one()
            return _float(row[0]), _float(row[1])
        values = (await self._connection.execute(
            select(messages.c.latency_ms).where(where))).scalars().all()
        return _quantiles(values)

    async def _daily_latency(self, since: datetime, until: datetime
                             ) -> dict[str, tuple[float | None, float | None]]:
        day = utc_day(messages.c.created_at)
        where = self._answer_latencies(since, until)
        if self._is_postgres:
            rows = await self._connection.execute(select(
                day,
                func.percentile_cont(0.5).within_group(messages.c.latency_ms),
                func.percentile_cont(0.95).within_group(messages.c.latency_ms),
            ).where(where).group_by(day))
            return {d: (_float(p50), _float(p95)) for d, p50, p95 in rows}
        by_day: dict[str, list[int]] = defaultdict(list)
        for d, latency in await self._connection.execute(select(day, messages.c.latency_ms)
                                                      .where(where)):
            by_day[d].append(latency)
        return {d: _quantiles(values) for d, values in by_day.items()}


def _quantiles(values: Sequence[float]) -> tuple[float | None, float | None]:
    return percentile(values, 0.5), percentile(values, 0.95)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


__all__ = ["DayStats", "SqlStatsQueries", "StatsSummary", "UsageTotals", "percentile",
           "usage_totals", "utc_day", "utc_days"]
