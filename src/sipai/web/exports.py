"""CSV exports for the console: daily stats, tickets and feedback.

Cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or
carriage return) are prefixed with `'`: ticket summaries and comments contain customers'
words, and a CSV must not become a way to run anything on an operator's machine.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from sipai.storage.stats import DayStats
from sipai.support.domain import ANSWER_MODES, Feedback, Ticket

_FORMULA = ("=", "+", "-", "@", "\t", "\r")

EXPORTS = ("daily", "tickets", "feedback")


def safe_cell(value: Any) -> str:
    """A value as a CSV cell that no spreadsheet will evaluate."""
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:.6f}".rstrip("0").rstrip(".") if value else "0"
    else:
        text = str(value)
    if text.startswith(_FORMULA) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Rows as CSV text (RFC 4180 quoting, `\\r\\n` line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()


def daily_csv(days: Sequence[DayStats]) -> str:
    """One row per UTC day: activity, answer modes, tokens, cost and latency."""
    header = ["day", "conversations", "turns", "users", *(f"mode_{m}" for m in ANSWER_MODES),
              "prompt_tokens", "completion_tokens", "cost_usd", "latency_p50_ms",
              "latency_p95_ms"]
    rows = ([d.day.isoformat(), d.conversations, d.turns, d.users,
             *(d.modes.get(m, 0) for m in ANSWER_MODES), d.prompt_tokens,
             d.completion_tokens, d.cost_usd, d.latency_p50_ms, d.latency_p95_ms]
            for d in days)
    return to_csv(header, rows)


def tickets_csv(tickets: Sequence[Ticket]) -> str:
    """One row per ticket, with its summary."""
    header = ["id", "status", "created_at", "closed_at", "user_id", "channel", "reason",
              "operator", "conversation_id", "summary"]
    rows = ([t.id, t.status, t.created_at.isoformat(),
             t.closed_at.isoformat() if t.closed_at else None, t.user_id, t.channel, t.reason,
             t.operator, t.conversation_id, t.summary] for t in tickets)
    return to_csv(header, rows)


def feedback_csv(items: Sequence[Feedback]) -> str:
    """One row per rating."""
    header = ["id", "created_at", "rating", "user_id", "conversation_id", "message_id",
              "comment"]
    rows = ([f.id, f.created_at.isoformat(), f.rating, f.user_id, f.conversation_id,
             f.message_id, f.comment] for f in items)
    return to_csv(header, rows)


__all__ = ["EXPORTS", "daily_csv", "feedback_csv", "safe_cell", "tickets_csv", "to_csv"]
