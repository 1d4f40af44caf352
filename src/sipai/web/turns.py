"""What the API and the web chat share: a turn (as JSON or as SSE) and a conversation's history.

Route modules stay thin: they authenticate, name the user, and call these.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from sipai.bootstrap import Sip
from sipai.errors import SipError
from sipai.llm.types import TextDelta
from sipai.observability import metrics
from sipai.support import conversations, service
from sipai.support.domain import Channel, Message
from sipai.support.hygiene import InputProblem, clean
from sipai.support.reply import Reply
from sipai.text.language import detect_language
from sipai.web.errors import error_body
from sipai.web.schemas import HistoryMessage, HistoryOut, SourceOut
from sipai.web.sse import EventStream, json_frame, pump

log = logging.getLogger(__name__)


def check_message(request: Request, sip: Sip, message: str) -> None:
    """Reject a bad message before any stream starts (400 `input_rejected`, in its language)."""
    request.state.language = sip.settings.sip_language
    try:
        request.state.language = detect_language(message, sip.settings.sip_language)
    except Exception:  # a message the detector cannot read is rejected just below
        log.debug("web.language_undetected")
    clean(message, sip.settings.sip_max_input_chars)


async def chat(request: Request, sip: Sip, user_id: str, message: str, *, channel: Channel,
               stream: bool) -> Response:
    """One turn: the reply object as JSON, or Sip's SSE stream (see :mod:`sipai.web.sse`)."""
    check_message(request, sip, message)
    if not stream:
        reply = await service.ask(sip.deps, user_id, message, channel=channel)
        return JSONResponse(reply.to_dict())
    events = pump(service.stream(sip.deps, user_id, message, channel=channel),
                  sip.deps.background.spawn)
    return EventStream(sip_frames(events, language=request.state.language))


async def sip_frames(events: AsyncIterator[TextDelta | Reply], *,
                     language: str = "es") -> AsyncIterator[bytes]:
    """Sip's SSE framing of a turn: `delta` events, then `reply` (or `error`)."""
    shown = False
    metrics.http_streams.labels("sip").inc()
    try:
        async for event in events:
            if isinstance(event, TextDelta):
                if event.text:
                    shown = True
                    yield json_frame({"text": event.text}, "delta")
                continue
            if not shown:
                yield json_frame({"text": event.answer}, "delta")
            yield json_frame(event.to_dict(), "reply")
    except Exception as error:
        yield json_frame(stream_error(error, language), "error")
    finally:
        metrics.http_streams.labels("sip").dec()


def stream_error(error: Exception, language: str) -> dict[str, object]:
    """The error body for a failure after a stream began (the status is already 200)."""
    if isinstance(error, InputProblem):
        body = error_body(400, "input_rejected", error.for_user(language))
    elif isinstance(error, SipError):
        body = error_body(503, "unavailable", "Sip could not finish this answer")
    else:
        log.error("web.stream_failed", extra={"error": type(error).__name__})
        body = error_body(500, "internal_error", "internal error")
    metrics.http_errors.labels(str(body["error"]["code"])).inc()
    return body


def source_of(sip: Sip, article_id: str) -> SourceOut:
    """A stored source id as `{id, title, url}` (the id is the title if the article is gone)."""
    article = sip.kb.article(article_id)
    if article is None:
        return SourceOut(id=article_id, title=article_id)
    return SourceOut(id=article_id, title=article.title, url=article.url)


def message_view(sip: Sip, message: Message) -> HistoryMessage:
    """A stored message as the history shows it."""
    return HistoryMessage(id=message.id, role=message.role, text=message.text,
                          created_at=message.created_at, mode=message.mode,
                          model=message.model,
                          sources=[source_of(sip, s) for s in message.sources])


async def history(sip: Sip, user_id: str, limit: int) -> HistoryOut:
    """The customer's active conversation, oldest message first."""
    messages = await conversations.history(sip.deps, user_id, limit)
    conversation_id = messages[0].conversation_id if messages else None
    return HistoryOut(conversation_id=conversation_id,
                      messages=[message_view(sip, m) for m in messages])


__all__ = ["chat", "check_message", "history", "message_view", "sip_frames", "source_of",
           "stream_error"]
