"""Server-Sent Events: the frames, the response, and a pump that outlives the client.

Sip's own stream (`POST /api/chat` with `stream: true`, `POST /web/chat`) sends named
events, each `data:` one JSON object::

    event: delta        {"text": "…"}              a piece of the answer, in order
    event: reply        {reply object}              last event; its `answer` is authoritative
    event: error        {"error": {"code", …}}      the turn failed after the stream began

When an answer does not come from a model (offline brain, escalation, refusal) there is a
single `delta` with the whole text before the `reply`. The OpenAI-compatible stream uses
OpenAI's own framing instead (:mod:`sipai.web.openai_compat`).

A turn is pumped by a background task into a queue that the response drains
(:func:`pump`): if the customer closes the tab mid-answer, the turn still finishes and its
answer is stored, and the service's generator is never resumed from a different task.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, TypeVar

from starlette.responses import StreamingResponse

log = logging.getLogger(__name__)

T = TypeVar("T")

Spawn = Callable[[Coroutine[Any, Any, None]], None]


def frame(data: str, event: str | None = None) -> bytes:
    """One SSE frame; `data` may span lines (each becomes a `data:` line)."""
    lines = [f"event: {event}"] if event else []
    lines += [f"data: {line}" for line in data.split("\n")]
    return ("\n".join(lines) + "\n\n").encode()


def json_frame(payload: Any, event: str | None = None) -> bytes:
    """One SSE frame whose data is `payload` as compact JSON (always a single line)."""
    return frame(json.dumps(payload, ensure_ascii=False, separators=(",", ":")), event)


class EventStream(StreamingResponse):
    """A `text/event-stream` response that proxies must neither cache nor buffer."""

    media_type = "text/event-stream"

    def __init__(self, content: AsyncIterator[bytes]) -> None:
        super().__init__(content, media_type=self.media_type, headers={
            "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


class _End:
    """Marks the end of a pumped stream."""


class _Failed:
    """Carries an exception from the pump to the response."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


async def pump(events: AsyncIterator[T], spawn: Spawn) -> AsyncIterator[T]:
    """Run `events` to the end in a background task; yield them as they come.

    Exceptions raised by `events` are re-raised here. If the consumer stops early (the client
    went away), the background task still finishes the stream so its side effects happen.
    """
    queue: asyncio.Queue[T | _End | _Failed] = asyncio.Queue()

    async def produce() -> None:
        try:
            async for event in events:
                queue.put_nowait(event)
        except Exception as error:
            queue.put_nowait(_Failed(error))
        finally:
            queue.put_nowait(_End())

    spawn(produce())
    while True:
        item = await queue.get()
        if isinstance(item, _End):
            return
        if isinstance(item, _Failed):
            raise item.error
        yield item


__all__ = ["EventStream", "Spawn", "frame", "json_frame", "pump"]
