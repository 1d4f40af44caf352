"""The reply object every front end receives (BRIEF: `sip ask --json`, the HTTP API)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sipai.llm.types import Usage

#: Where the answer came from, finer than `mode`: the console charts these.
Route = Literal["primary", "fallback", "cache", "offline", "escalation", "refusal", "human"]


@dataclass(frozen=True, slots=True)
class Source:
    """A knowledge-base article an answer used."""

    id: str
    title: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """Sip's answer to one customer message."""

    answer: str
    mode: Literal["llm", "offline"]
    conversation_id: str
    route: Route
    model: str | None = None
    sources: tuple[Source, ...] = ()
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    escalated: bool = False
    ticket_id: int | None = None
    language: str = "es"
    message_id: str | None = None
    latency_ms: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of BRIEF's reply object (plus route, language and ids)."""
        return {
            "answer": self.answer,
            "mode": self.mode,
            "route": self.route,
            "model": self.model,
            "sources": [{"id": s.id, "title": s.title, **({"url": s.url} if s.url else {})}
                        for s in self.sources],
            "usage": {"prompt_tokens": self.usage.prompt_tokens,
                      "completion_tokens": self.usage.completion_tokens},
            "cost_usd": round(self.cost_usd, 8),
            "escalated": self.escalated,
            "ticket_id": self.ticket_id,
            "conversation_id": self.conversation_id,
            "message_id": self.message_id,
            "language": self.language,
            "latency_ms": self.latency_ms,
        }
