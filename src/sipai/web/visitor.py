"""The web chat's own routes (`/web/*`): open to the public, scoped to one visitor.

The page at `/` makes a random visitor id (`crypto.randomUUID()`), keeps it in
localStorage and sends it as `X-Sip-Visitor` on every call. The id is the visitor's only
credential: it is unguessable, it travels in a header (not in URLs that proxies log), and
it maps to the customer id `web:<visitor>`, so a visitor can reach neither another
visitor's conversation nor any API or Telegram customer. No API key is needed — customers
use this page — but each client address is rate limited (`SIP_HTTP_CLIENT_RPM`) and
each customer by the support service's own per-user limit.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response

from sipai.bootstrap import Sip
from sipai.support import conversations
from sipai.web import turns
from sipai.web.auth import web_client
from sipai.web.plugins import current_sip
from sipai.web.schemas import (
    SIP_STREAM,
    ConversationOut,
    FeedbackOut,
    FeedbackRequest,
    HistoryOut,
    ReplyOut,
    TicketOut,
    VisitorId,
    WebChatRequest,
    error_responses,
)

router = APIRouter(prefix="/web", tags=["web chat"], dependencies=[Depends(web_client)],
                   responses=error_responses(400, 413, 422, 429, 503))

SipDep = Annotated[Sip, Depends(current_sip)]


def visitor_user(x_sip_visitor: Annotated[VisitorId, Header(
        description="the visitor's random id, kept by the browser")]) -> str:
    """The customer id of the visitor naming itself in `X-Sip-Visitor`."""
    return f"web:{x_sip_visitor}"


Visitor = Annotated[str, Depends(visitor_user)]


@router.post("/chat", response_model=ReplyOut, summary="Answer the visitor (SSE by default)",
             responses={200: {"content": SIP_STREAM},
                        **error_responses(400)})
async def chat(body: WebChatRequest, request: Request, user: Visitor, sip: SipDep) -> Response:
    """One web-chat turn, streamed as Sip's SSE events unless `stream` is false."""
    return await turns.chat(request, sip, user, body.message, channel="web", stream=body.stream)


@router.get("/history", response_model=HistoryOut, summary="The visitor's conversation")
async def history(user: Visitor, sip: SipDep,
                  limit: Annotated[int, Query(ge=1, le=200)] = 100) -> HistoryOut:
    """The visitor's active conversation, so the page can show it again after a reload."""
    return await turns.history(sip, user, limit)


@router.post("/conversation", response_model=ConversationOut, status_code=201,
             summary="Start over")
async def new_conversation(user: Visitor, sip: SipDep) -> ConversationOut:
    """End the visitor's conversation and start a new one."""
    conversation = await conversations.new_conversation(sip.deps, user, channel="web")
    return ConversationOut(conversation_id=conversation.id, status=conversation.status)


@router.post("/escalate", response_model=TicketOut, summary="Talk to a person")
async def escalate(user: Visitor, sip: SipDep) -> TicketOut:
    """Open a ticket for the visitor (or return the open one)."""
    ticket, created = await conversations.escalate(sip.deps, user, "requested", channel="web")
    assert ticket.id is not None
    return TicketOut(ticket_id=ticket.id, status=ticket.status, created=created)


@router.post("/feedback", response_model=FeedbackOut, summary="👍 / 👎 on an answer",
             responses=error_responses(400, 404))
async def feedback(body: FeedbackRequest, user: Visitor, sip: SipDep) -> FeedbackOut:
    """Record the visitor's rating of one of its answers."""
    item = await conversations.feedback(sip.deps, user, body.rating,
                                        message_id=body.message_id, comment=body.comment)
    assert item.id is not None
    return FeedbackOut(id=item.id, rating=item.rating, message_id=item.message_id)


__all__ = ["router", "visitor_user"]
