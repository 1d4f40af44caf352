"""Sip's domain objects: conversations, messages, tickets, feedback and usage records.

Plain dataclasses with no I/O and no knowledge of storage. Repositories (`sipai.storage`)
load and save them; the support service changes them and hands them back to be saved.
Every timestamp is a timezone-aware UTC datetime.

    Conversation 1──* Message        one customer's dialogue on one channel
         │
         ├──* Ticket                 an escalation to a human operator
         ├──* Feedback               a thumbs up/down on an answer
         └──* UsageRecord            one provider call: tokens, cost, latency, outcome
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

Channel = Literal["cli", "telegram", "web", "api"]
ConversationStatus = Literal["active", "ended"]
Role = Literal["user", "assistant"]
#: A user turn is "pending" until an answer is stored, "unanswered" if every path failed.
TurnStatus = Literal["pending", "answered", "unanswered"]
#: Where an assistant answer came from.
AnswerMode = Literal["llm", "fallback", "offline", "cache", "human", "refusal"]
TicketStatus = Literal["open", "taken", "closed"]
UsagePurpose = Literal["answer", "summary", "retry"]

CHANNELS: tuple[Channel, ...] = ("cli", "telegram", "web", "api")
ANSWER_MODES: tuple[AnswerMode, ...] = ("llm", "fallback", "offline", "cache", "human",
                                        "refusal")
TICKET_STATUSES: tuple[TicketStatus, ...] = ("open", "taken", "closed")


def utcnow() -> datetime:
    """The current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


def new_id() -> str:
    """A fresh random identifier: 32 lowercase hex characters (uuid4)."""
    return uuid.uuid4().hex


@dataclass(slots=True)
class Conversation:
    """One customer's dialogue with Sip on one channel, from first message to its end."""

    user_id: str
    channel: Channel = "cli"
    language: str = "es"
    id: str = field(default_factory=new_id)
    status: ConversationStatus = "active"
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    ended_at: datetime | None = None
    #: A rolling summary of the turns that no longer fit in the prompt.
    summary: str | None = None
    #: How many messages (by seq) the summary already covers.
    summary_upto: int = 0
    #: Consecutive turns that failed or went unanswered; drives escalation.
    failures: int = 0

    @property
    def is_active(self) -> bool:
        """True until the conversation is ended."""
        return self.status == "active"

    def end(self, at: datetime | None = None) -> None:
        """Mark the conversation ended (idempotent: the first end time is kept)."""
        if self.status == "ended":
            return
        self.status = "ended"
        self.ended_at = at or utcnow()
        self.updated_at = self.ended_at

    def fold_summary(self, summary: str, upto: int) -> None:
        """Replace the rolling summary with one that covers messages up to seq `upto`."""
        if upto < self.summary_upto:
            raise ValueError("a summary cannot cover fewer messages than the previous one")
        self.summary = summary
        self.summary_upto = upto
        self.updated_at = utcnow()

    def record_failure(self) -> int:
        """Count one more consecutive failed turn and return the new count."""
        self.failures += 1
        self.updated_at = utcnow()
        return self.failures

    def record_success(self) -> None:
        """Reset the consecutive-failure count after an answered turn."""
        self.failures = 0
        self.updated_at = utcnow()


@dataclass(slots=True)
class Message:
    """One turn of a conversation: the customer's text or Sip's answer.

    `seq` is assigned by the repository when the message is added (1, 2, 3, … per
    conversation). User turns carry `status`; assistant turns carry `mode`, the model,
    token counts, cost, latency and the knowledge-base articles used (`sources`).
    """

    conversation_id: str
    user_id: str
    role: Role
    text: str
    id: str = field(default_factory=new_id)
    seq: int = 0
    created_at: datetime = field(default_factory=utcnow)
    status: TurnStatus | None = None
    mode: AnswerMode | None = None
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: int | None = None
    sources: list[str] = field(default_factory=list)

    @classmethod
    def from_user(cls, conversation_id: str, user_id: str, text: str) -> Message:
        """A customer's turn, pending until it is answered."""
        return cls(conversation_id=conversation_id, user_id=user_id, role="user", text=text,
                   status="pending")

    @classmethod
    def from_assistant(
        cls,
        conversation_id: str,
        user_id: str,
        text: str,
        *,
        mode: AnswerMode,
        model: str | None = None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cost_usd: float = 0.0,
        latency_ms: int | None = None,
        sources: list[str] | None = None,
    ) -> Message:
        """Sip's answer to the customer, with where it came from and what it cost."""
        return cls(conversation_id=conversation_id, user_id=user_id, role="assistant",
                   text=text, mode=mode, model=model, prompt_tokens=prompt_tokens,
                   completion_tokens=completion_tokens, cost_usd=cost_usd,
                   latency_ms=latency_ms, sources=list(sources or []))

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(slots=True)
class Ticket:
    """An escalation of a conversation to a human operator.

    `id` is a small integer assigned by the repository when the ticket is added, so
    operators can say "ticket 42". `chat_id` is the customer's chat on the channel;
    `admin_message_id` is the Telegram message that announced the ticket in the admin chat.
    """

    user_id: str
    conversation_id: str | None
    reason: str
    summary: str = ""
    channel: Channel = "cli"
    id: int | None = None
    status: TicketStatus = "open"
    operator: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    closed_at: datetime | None = None
    chat_id: int | None = None
    admin_message_id: int | None = None

    @property
    def is_active(self) -> bool:
        """True while the ticket is open or taken by an operator."""
        return self.status != "closed"

    def take(self, operator: str) -> None:
        """Assign the ticket to `operator`."""
        if self.status == "closed":
            raise ValueError("a closed ticket cannot be taken")
        self.status = "taken"
        self.operator = operator

    def close(self, at: datetime | None = None) -> None:
        """Close the ticket (idempotent: the first close time is kept)."""
        if self.status == "closed":
            return
        self.status = "closed"
        self.closed_at = at or utcnow()


@dataclass(slots=True)
class Feedback:
    """A customer's rating of an answer: +1 (helpful) or -1 (not helpful)."""

    user_id: str
    conversation_id: str | None
    message_id: str | None
    rating: int
    comment: str | None = None
    id: int | None = None
    created_at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        if self.rating not in (1, -1):
            raise ValueError("rating must be +1 or -1")


@dataclass(slots=True)
class UsageRecord:
    """One call to the model provider: who, which model, why, tokens, cost, latency, outcome.

    `outcome` is "ok", "error:<code>" (Groq's error code) or a note such as
    "rate_limited_avoided" when Sip chose not to call.
    """

    user_id: str
    model: str
    purpose: UsagePurpose = "answer"
    conversation_id: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: int | None = None
    outcome: str = "ok"
    id: int | None = None
    created_at: datetime = field(default_factory=utcnow)

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


__all__ = [
    "ANSWER_MODES", "CHANNELS", "TICKET_STATUSES", "AnswerMode", "Channel", "Conversation",
    "ConversationStatus", "Feedback", "Message", "Role", "Ticket", "TicketStatus", "TurnStatus",
    "UsagePurpose", "UsageRecord", "new_id", "utcnow",
]
