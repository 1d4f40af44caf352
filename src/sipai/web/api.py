"""Sip's HTTP API for developers' backends: `/api/chat` and the customer's conversation.

Every route needs an API key when `SIP_API_KEYS` is set (:mod:`sipai.web.auth`) and counts
against that key's rate limit. Callers name the customer: `user_id` in the body of
`/api/chat`, or in the path of `/api/users/{user_id}/…`; the same id continues the same
conversation on every route (and on the OpenAI-compatible endpoint).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, status
from fastapi.responses import Response

from sipai.bootstrap import Sip
from sipai.support import conversations
from sipai.web import turns
from sipai.web.auth import api_caller
from sipai.web.plugins import current_sip
from sipai.web.schemas import (
    COMMON_ERRORS,
    SIP_STREAM,
    ChatRequest,
    ConversationOut,
    EndOut,
    EscalateRequest,
    FeedbackOut,
    FeedbackRequest,
    ForgetOut,
    HistoryOut,
    ReplyOut,
    TicketOut,
    UserId,
    error_responses,
)

router = APIRouter(prefix="/api", tags=["api"], dependencies=[Depends(api_caller)],
                   responses=error_responses(*COMMON_ERRORS))

SipDep = Annotated[Sip, Depends(current_sip)]
UserPath = Annotated[UserId, Path(description="the customer's id, chosen by the caller")]

STREAM_DOC = ("With `stream: true` the answer comes as Server-Sent Events: `delta` events "
              "`{\"text\"}`, then one `reply` event with the reply object (or an `error` "
              "event).")


@router.post("/chat", response_model=ReplyOut, summary="Answer one customer message",
             description=STREAM_DOC,
             responses={200: {"content": SIP_STREAM},
                        **error_responses(400)})
async def chat(body: ChatRequest, request: Request, sip: SipDep) -> Response:
    """One turn in the customer's conversation."""
    return await turns.chat(request, sip, body.user_id, body.message, channel="api",
                            stream=body.stream)


@router.get("/users/{user_id}/history", response_model=HistoryOut,
            summary="The customer's active conversation")
async def history(user_id: UserPath, sip: SipDep,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50) -> HistoryOut:
    """The latest messages of the customer's active conversation, oldest first."""
    return await turns.history(sip, user_id, limit)


@router.post("/users/{user_id}/conversation", response_model=ConversationOut,
             status_code=status.HTTP_201_CREATED, summary="Start a new conversation")
async def new_conversation(user_id: UserPath, sip: SipDep) -> ConversationOut:
    """End the active conversation (if any) and start a fresh one."""
    conversation = await conversations.new_conversation(sip.deps, user_id, channel="api")
    return ConversationOut(conversation_id=conversation.id, status=conversation.status)


@router.delete("/users/{user_id}/conversation", response_model=EndOut,
               summary="End the active conversation")
async def end_conversation(user_id: UserPath, sip: SipDep) -> EndOut:
    """End the customer's active conversation; `ended` is false when there was none."""
    return EndOut(ended=await conversations.end_conversation(sip.deps, user_id))


@router.post("/users/{user_id}/escalate", response_model=TicketOut,
             summary="Hand the customer to a human operator")
async def escalate(user_id: UserPath, sip: SipDep,
                   body: EscalateRequest | None = None) -> TicketOut:
    """Open a ticket (or return the one already open) with a summary for the operator."""
    reason = (body.reason if body else "requested").strip() or "requested"
    ticket, created = await conversations.escalate(sip.deps, user_id, reason, channel="api")
    assert ticket.id is not None
    return TicketOut(ticket_id=ticket.id, status=ticket.status, created=created)


@router.post("/users/{user_id}/feedback", response_model=FeedbackOut,
             summary="Rate an answer 👍 / 👎", responses=error_responses(400, 404))
async def feedback(user_id: UserPath, body: FeedbackRequest, sip: SipDep) -> FeedbackOut:
    """Record +1 or -1 on an answer (the latest one when `message_id` is omitted)."""
    item = await conversations.feedback(sip.deps, user_id, body.rating,
                                        message_id=body.message_id, comment=body.comment)
    assert item.id is not None
    return FeedbackOut(id=item.id, rating=item.rating, message_id=item.message_id)


@router.delete("/users/{user_id}", response_model=ForgetOut,
               summary="Forget the customer (erase everything stored)")
async def forget(user_id: UserPath, sip: SipDep) -> ForgetOut:
    """Erase every message, ticket, rating and usage record of the customer."""
    return ForgetOut(deleted=await conversations.forget(sip.deps, user_id))


__all__ = ["router"]
