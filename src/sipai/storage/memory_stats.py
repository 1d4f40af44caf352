"""The stats read models computed in Python from domain objects, for the in-memory store.

Same definitions as the SQL in `sipai.storage.stats`, so a service test on the fake unit
of work sees the figures the real databases would give.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sipai.storage.stats import DayStats, StatsSummary, UsageTotals, percentile, utc_days
from sipai.support.domain import Conversation, Feedback, Message, Ticket, UsageRecord


def sum_usage(records: Iterable[UsageRecord]) -> UsageTotals:
    """Add up usage records: calls, errors ("error:…" outcomes), tokens and cost."""
    calls = errors = prompt = completion = 0
    cost = 0.0
    for record in records:
        calls += 1
        errors += record.outcome.startswith("error:")
        prompt += record.prompt_tokens
        completion += record.completion_tokens
        cost += record.cost_usd
    return UsageTotals(calls=calls, errors=errors, prompt_tokens=prompt,
                       completion_tokens=completion, cost_usd=cost)


def summarise(since: datetime, until: datetime, *, conversations: Iterable[Conversation],
              messages: Iterable[Message], tickets: Iterable[Ticket],
              feedback: Iterable[Feedback], usage: Iterable[UsageRecord]) -> StatsSummary:
    """The `StatsSummary` of `[since, until)` over plain objects."""

    def inside(at: datetime) -> bool:
        return since <= at < until

    window = [m for m in messages if inside(m.created_at)]
    turns = [m for m in window if m.role == "user"]
    answers = [m for m in window if m.role == "assistant"]
    modes: dict[str, int] = defaultdict(int)
    for answer in answers:
        modes[answer.mode or "unknown"] += 1
    ticket_counts = {"open": 0, "taken": 0, "closed": 0}
    for ticket in tickets:
        if inside(ticket.created_at):
            ticket_counts[ticket.status] = ticket_counts.get(ticket.status, 0) + 1
    ratings = [f.rating for f in feedback if inside(f.created_at)]
    latencies = [m.latency_ms for m in answers if m.latency_ms is not None]
    return StatsSummary(
        since=since, until=until,
        conversations=sum(1 for c in conversations if inside(c.created_at)),
        turns=len(turns), users=len({m.user_id for m in turns}), answers=len(answers),
        unanswered=sum(1 for m in turns if m.status == "unanswered"), modes=dict(modes),
        usage=sum_usage(r for r in usage if inside(r.created_at)), tickets=ticket_counts,
        feedback_up=ratings.count(1), feedback_down=ratings.count(-1),
        latency_p50_ms=percentile(latencies, 0.5), latency_p95_ms=percentile(latencies, 0.95),
    )


def daily(since: datetime, until: datetime, *, conversations: Iterable[Conversation],
          messages: Iterable[Message], usage: Iterable[UsageRecord]) -> list[DayStats]:
    """One `DayStats` per UTC day of `[since, until)` over plain objects."""
    days = utc_days(since, until)
    acc: dict[date, dict[str, Any]] = {d: {"modes": defaultdict(int), "users": set(),
                                           "latencies": []} for d in days}

    def bucket(at: datetime) -> dict[str, Any] | None:
        return acc.get(at.date()) if since <= at < until else None

    for conversation in conversations:
        if (b := bucket(conversation.created_at)) is not None:
            b["conversations"] = b.get("conversations", 0) + 1
    for message in messages:
        if (b := bucket(message.created_at)) is None:
            continue
        if message.role == "user":
            b["turns"] = b.get("turns", 0) + 1
            b["users"].add(message.user_id)
        else:
            b["modes"][message.mode or "unknown"] += 1
            if message.latency_ms is not None:
                b["latencies"].append(message.latency_ms)
    for record in usage:
        if (b := bucket(record.created_at)) is not None:
            b["prompt_tokens"] = b.get("prompt_tokens", 0) + record.prompt_tokens
            b["completion_tokens"] = b.get("completion_tokens", 0) + record.completion_tokens
            b["cost_usd"] = b.get("cost_usd", 0.0) + record.cost_usd
    result = []
    for d in days:
        b = acc[d]
        latencies = b.pop("latencies")
        result.append(DayStats(
            day=d, modes=dict(b.pop("modes")), users=len(b.pop("users")),
            latency_p50_ms=percentile(latencies, 0.5),
            latency_p95_ms=percentile(latencies, 0.95), **b))
    return result


class MemoryStatsQueries:
    """`StatsQueries` computed in Python over live row mappings (one unit of work's copy)."""

    def __init__(self, *, conversations: Mapping[str, Conversation],
                 messages: Mapping[str, Message], tickets: Mapping[int, Ticket],
                 feedback: Mapping[int, Feedback], usage: Mapping[int, UsageRecord]) -> None:
        self._conversations, self._messages = conversations, messages
        self._tickets, self._feedback, self._usage = tickets, feedback, usage

    async def summary(self, since: datetime, until: datetime) -> StatsSummary:
        """Totals over `[since, until)`."""
        return summarise(since, until, conversations=self._conversations.values(),
                         messages=self._messages.values(), tickets=self._tickets.values(),
                         feedback=self._feedback.values(), usage=self._usage.values())

    async def daily(self, since: datetime, until: datetime) -> list[DayStats]:
        """One row per UTC day in `[since, until)`, days without activity included."""
        return daily(since, until, conversations=self._conversations.values(),
                     messages=self._messages.values(), usage=self._usage.values())


__all__ = ["MemoryStatsQueries", "daily", "sum_usage", "summarise"]
