"""The operator console's data (`/api/admin/*`): tickets, feedback, stats and CSV exports.

Every route needs `SIP_ADMIN_KEY` (see :mod:`sipai.web.auth`). The console page itself
(`/admin`) is static; it calls these with the key it keeps in sessionStorage.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from sipai.bootstrap import Sip
from sipai.support.domain import Ticket
from sipai.web import exports
from sipai.web.auth import admin_caller
from sipai.web.errors import ApiError
from sipai.web.live import MetricSampler, live_snapshot
from sipai.web.plugins import current_sip
from sipai.web.schemas import HistoryMessage, error_responses
from sipai.web.turns import message_view

router = APIRouter(prefix="/api/admin", tags=["admin"], dependencies=[Depends(admin_caller)],
                   responses=error_responses(400, 401, 403, 422, 503))

SipDep = Annotated[Sip, Depends(current_sip)]
Days = Annotated[int, Query(ge=1, le=366, description="window in days, today included")]


class TicketView(BaseModel):
    """A ticket in the operators' queue."""

    id: int
    status: Literal["open", "taken", "closed"]
    reason: str
    summary: str
    user_id: str
    channel: str
    conversation_id: str | None
    operator: str | None
    created_at: datetime
    closed_at: datetime | None


class TicketDetail(TicketView):
    """A ticket with its whole conversation."""

    messages: list[HistoryMessage]


class FeedbackView(BaseModel):
    """A rating, with the start of the answer it rates."""

    id: int
    rating: int
    user_id: str
    conversation_id: str | None
    message_id: str | None
    comment: str | None
    created_at: datetime
    answer: str | None


class SessionView(BaseModel):
    """Whether the console is open without a key (local mode)."""

    ok: bool
    local_mode: bool


def _ticket(ticket: Ticket) -> dict[str, Any]:
    assert ticket.id is not None
    return {"id": ticket.id, "status": ticket.status, "reason": ticket.reason,
            "summary": ticket.summary, "user_id": ticket.user_id, "channel": ticket.channel,
            "conversation_id": ticket.conversation_id, "operator": ticket.operator,
            "created_at": ticket.created_at, "closed_at": ticket.closed_at}


def window(days: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    """`[midnight UTC of the first day, now]` covering `days` days, today included."""
    now = now or datetime.now(UTC)
    first = datetime.combine(now.date() - timedelta(days=days - 1), time(), tzinfo=UTC)
    return first, now + timedelta(seconds=1)


@router.get("/session", response_model=SessionView, summary="Check the admin key")
async def session(request: Request) -> SessionView:
    """200 when the key is right (the console's login check)."""
    return SessionView(ok=True, local_mode=request.app.state.access.local_mode)


@router.get("/tickets", response_model=list[TicketView], summary="Open tickets")
async def tickets(sip: SipDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
                  ) -> list[dict[str, Any]]:
    """Open and taken tickets, oldest first: the operators' queue."""
    async with sip.deps.uow() as uow:
        queue = await uow.tickets.open(include_taken=True, limit=limit)
    return [_ticket(t) for t in queue]


@router.get("/tickets/{ticket_id}", response_model=TicketDetail, summary="One ticket",
            responses=error_responses(404))
async def ticket(ticket_id: Annotated[int, Path(ge=1, le=2**31 - 1)], sip: SipDep
                 ) -> dict[str, Any]:
    """A ticket with its summary and its conversation."""
    async with sip.deps.uow() as uow:
        found = await uow.tickets.get(ticket_id)
        if found is None:
            raise ApiError(404, "not_found", "no such ticket")
        messages = (await uow.messages.all(found.conversation_id)
                    if found.conversation_id else [])
    return {**_ticket(found), "messages": [message_view(sip, m) for m in messages]}


@router.get("/feedback", response_model=list[FeedbackView], summary="Latest ratings")
async def feedback(sip: SipDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
                   ) -> list[FeedbackView]:
    """The latest 👍/👎, newest first, each with the start of the answer it rates."""
    views = []
    async with sip.deps.uow() as uow:
        for item in await uow.feedback.list(limit):
            rated = await uow.messages.get(item.message_id) if item.message_id else None
            assert item.id is not None
            views.append(FeedbackView(
                id=item.id, rating=item.rating, user_id=item.user_id,
                conversation_id=item.conversation_id, message_id=item.message_id,
                comment=item.comment, created_at=item.created_at,
                answer=rated.text[:300] if rated else None))
    return views


@router.get("/stats", summary="Figures and daily series for the charts")
async def stats(request: Request, sip: SipDep, days: Days = 14) -> dict[str, Any]:
    """Totals, one row per day, live resilience counters and the 429 history."""
    since, until = window(days)
    async with sip.deps.uow() as uow:
        summary = await uow.stats.summary(since, until)
        daily = await uow.stats.daily(since, until)
    sampler: MetricSampler = request.app.state.sampler
    return {"summary": summary.as_dict(), "daily": [d.as_dict() for d in daily],
            "live": live_snapshot(), "rate_limits": sampler.series(),
            "mode": "llm" if sip.client is not None else "offline"}


@router.get("/export/{kind}.csv", summary="CSV export",
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
                       **error_responses(404)})
async def export(kind: Annotated[str, Path(json_schema_extra={"enum": list(exports.EXPORTS)})],
                 sip: SipDep, days: Days = 30) -> Response:
    """`daily` stats over the window, the open `tickets`, or the latest `feedback`."""
    if kind not in exports.EXPORTS:
        raise ApiError(404, "not_found", f"exports: {', '.join(exports.EXPORTS)}")
    async with sip.deps.uow() as uow:
        if kind == "daily":
            body = exports.daily_csv(await uow.stats.daily(*window(days)))
        elif kind == "tickets":
            body = exports.tickets_csv(await uow.tickets.open(include_taken=True, limit=10_000))
        else:
            body = exports.feedback_csv(await uow.feedback.list(10_000))
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="sip-{kind}-{stamp}.csv"'})


__all__ = ["FeedbackView", "TicketDetail", "TicketView", "router", "window"]
