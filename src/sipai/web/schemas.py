"""The JSON shapes of Sip's own HTTP API (the OpenAI-compatible ones live with their routes).

These models document the API at `/docs` and `/openapi.json` and validate requests; the
service's objects (:class:`~sipai.support.reply.Reply`, messages, tickets) are converted to
them at the edge, so the service never depends on the web layer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

#: A customer id as API callers choose it: Telegram ids, emails' hashes, "web:…" and the like.
UserId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:@+-]{1,128}$")]
#: A web-chat visitor id: random, made by the browser (crypto.randomUUID()).
VisitorId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{16,64}$")]
#: Message ids are 32 lowercase hex characters.
MessageId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
#: Generous on purpose: the service applies SIP_MAX_INPUT_CHARS and rejects empty or
#: non-text messages itself, answering 400 `input_rejected` with a reason in the customer's
#: language (friendlier than a schema error).
MessageText = Annotated[str, Field(max_length=100_000, description=(
    "the customer's message (plain text); empty, blank or over SIP_MAX_INPUT_CHARS → 400 "
    "input_rejected"))]


class Strict(BaseModel):
    """Request bodies refuse unknown fields, so typos fail loudly."""

    model_config = ConfigDict(extra="forbid")


class ChatRequest(Strict):
    """One customer turn through the API."""

    user_id: UserId
    message: MessageText
    stream: bool = Field(False, description="answer as Server-Sent Events")


class WebChatRequest(Strict):
    """One web-chat turn (the visitor is named by the X-Sip-Visitor header)."""

    message: MessageText
    stream: bool = True


class SourceOut(BaseModel):
    """A knowledge-base article the answer used."""

    id: str
    title: str
    url: str | None = None


class UsageOut(BaseModel):
    """Tokens the answer cost."""

    prompt_tokens: int
    completion_tokens: int


class ReplyOut(BaseModel):
    """Sip's answer: BRIEF's reply object (plus route, language, ids and latency)."""

    answer: str
    mode: Literal["llm", "offline"]
    route: Literal["primary", "fallback", "cache", "offline", "escalation", "refusal", "human"]
    model: str | None
    sources: list[SourceOut]
    usage: UsageOut
    cost_usd: float
    escalated: bool
    ticket_id: int | None
    conversation_id: str
    message_id: str | None
    language: str
    latency_ms: int


class HistoryMessage(BaseModel):
    """One turn of a conversation, as a front end shows it."""

    id: str
    role: Literal["user", "assistant"]
    text: str
    created_at: datetime
    mode: str | None = None
    model: str | None = None
    sources: list[SourceOut] = []


class HistoryOut(BaseModel):
    """The customer's active conversation, oldest message first."""

    conversation_id: str | None
    messages: list[HistoryMessage]


class ConversationOut(BaseModel):
    """A conversation that was just started."""

    conversation_id: str
    status: Literal["active", "ended"]


class EndOut(BaseModel):
    """Whether there was an active conversation to end."""

    ended: bool


class EscalateRequest(Strict):
    """Ask for a human operator."""

    reason: Annotated[str, Field(max_length=200)] = "requested"


class TicketOut(BaseModel):
    """The customer's ticket; `created` is false when one was already open."""

    ticket_id: int
    status: Literal["open", "taken", "closed"]
    created: bool


class FeedbackRequest(Strict):
    """👍 (+1) or 👎 (-1) on an answer; the latest answer when `message_id` is omitted."""

    rating: Literal[1, -1]
    message_id: MessageId | None = None
    comment: Annotated[str, Field(max_length=1000)] | None = None


class FeedbackOut(BaseModel):
    """The stored rating."""

    id: int
    rating: int
    message_id: str | None


class ForgetOut(BaseModel):
    """How many rows of each kind were erased."""

    deleted: dict[str, int]


class ErrorDetail(BaseModel):
    """What went wrong: a stable code, a readable message and OpenAI's error type."""

    code: str
    message: str
    type: str


class ErrorOut(BaseModel):
    """Every error response."""

    error: ErrorDetail


def sse_response(events: list[str] | None, description: str) -> dict[str, Any]:
    """The OpenAPI `text/event-stream` content of a streamed 200 (OpenAPI 3.2's event shape)."""
    event: dict[str, Any] = {"type": "string"}
    if events:
        event["enum"] = events
    return {"text/event-stream": {"schema": {
        "type": "object", "description": description,
        "properties": {"event": event, "data": {"type": "string",
                                                "description": "one JSON document"}}}}}


#: Sip's own SSE stream (see sipai.web.sse).
SIP_STREAM = sse_response(["delta", "reply", "error"],
                          "delta {text} … then reply {reply object}, or error {error}")


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route may answer with."""
    return {status: {"model": ErrorOut, "description": _WHY.get(status, "error")}
            for status in statuses}


_WHY = {400: "malformed body, or a message rejected (empty, too long, not text)",
        401: "missing or invalid key", 403: "the console is disabled",
        404: "not found", 413: "request body too large",
        422: "the request does not match the schema", 429: "too many requests",
        503: "Sip is starting"}

#: The errors every API route can answer with.
COMMON_ERRORS = (400, 401, 413, 422, 429, 503)

__all__ = [
    "COMMON_ERRORS",
    "SIP_STREAM",
    "ChatRequest",
    "ConversationOut",
    "EndOut",
    "ErrorOut",
    "EscalateRequest",
    "FeedbackOut",
    "FeedbackRequest",
    "ForgetOut",
    "HistoryMessage",
    "HistoryOut",
    "MessageId",
    "ReplyOut",
    "SourceOut",
    "TicketOut",
    "UsageOut",
    "UserId",
    "VisitorId",
    "WebChatRequest",
    "error_responses",
    "sse_response",
]
