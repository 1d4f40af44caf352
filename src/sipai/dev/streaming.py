"""Paced SSE streams and deliberately broken responses, as raw ASGI responses.

A stream's frames are due on a schedule: frame i leaves at `start + ttft + tokens_i / tps`
(tokens generated once it is complete), so drift never accumulates; frames already due
are coalesced into one write, and waiting is `asyncio.sleep` only. A task watches for the
client's disconnect and the stream stops at the next frame.

Mid-stream faults act after `after_chunks` frames (2 by default: the role chunk and one
more), and never later than just before `[DONE]`: `drop` closes the TCP connection (the
server raises :class:`StreamDropped`, whose log record is silenced), `malformed` inserts a
frame cut mid-JSON and carries on, `stream_error` sends `data: {"error": ...}` and ends
the response, `timeout` stalls `seconds` and carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from sipai.dev.faults import Fault
from sipai.dev.wire import DONE_FRAME

_COALESCE_LIMIT = 64
_MID_STREAM = frozenset({"drop", "malformed", "stream_error", "timeout"})


class StreamDropped(Exception):
    """Raised inside the server on purpose, so that it closes the connection."""


class _SilenceDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, StreamDropped)


_silencer = _SilenceDrops()


def silence_dropped_streams() -> None:
    """Keep uvicorn from logging a traceback for every deliberate connection drop."""
    logger = logging.getLogger("uvicorn.error")
    if _silencer not in logger.filters:
        logger.addFilter(_silencer)


@dataclass(frozen=True, slots=True)
class Pacing:
    """When frames are due: `start` (loop time), latency to first token, tokens per second."""

    start: float
    ttft: float
    tps: float

    def due(self, tokens: int) -> float:
        """Loop time at which the frame completing `tokens` tokens may leave."""
        return self.start + self.ttft + (tokens / self.tps if self.tps > 0 else 0.0)


class SseResponse(Response):
    """A `text/event-stream` response that paces frames and enacts a mid-stream fault."""

    media_type = "text/event-stream"

    def __init__(
        self,
        frames: Iterator[tuple[int, bytes]],
        pacing: Pacing,
        fault: Fault | None,
        fault_frames: dict[str, bytes],
        headers: dict[str, str],
    ) -> None:
        self.status_code = 200
        self.background = None
        self.init_headers({"cache-control": "no-cache", **headers})
        self._frames = frames
        self._pacing = pacing
        self._fault = fault if fault is not None and fault.kind in _MID_STREAM else None
        self._fault_frames = fault_frames
        self.on_close: Callable[[], None] = lambda: None

    async def _watch(self, receive: Receive, gone: asyncio.Event) -> None:
        while True:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                gone.set()
                return

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gone = asyncio.Event()
        watcher = asyncio.get_running_loop().create_task(self._watch(receive, gone))
        try:
            await self._stream(send, gone)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            self.on_close()

    async def _stream(self, send: Send, gone: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        started = False
        buffer: list[bytes] = []

        async def flush() -> None:
            nonlocal started
            if not started:
                await send({"type": "http.response.start", "status": self.status_code,
                            "headers": self.raw_headers})
                started = True
            if buffer:
                await send({"type": "http.response.body", "body": b"".join(buffer),
                            "more_body": True})
                buffer.clear()

        fault = self._fault
        trigger = 2 if fault is None or fault.after_chunks is None else fault.after_chunks
        for sent, (tokens, frame) in enumerate(self._frames):
            if fault is not None and (sent >= trigger or frame is DONE_FRAME):
                await flush()
                if not await self._enact(fault, send, gone):
                    return
                fault = None
            delay = self._pacing.due(tokens) - loop.time()
            if delay > 0.001:
                await flush()
                await asyncio.sleep(delay)
            if gone.is_set():
                return
            buffer.append(frame)
            if len(buffer) >= _COALESCE_LIMIT:
                await flush()
        await flush()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _enact(self, fault: Fault, send: Send, gone: asyncio.Event) -> bool:
        """Do the fault's damage; False when the response is over."""
        if fault.kind == "drop":
            raise StreamDropped
        if fault.kind == "stream_error":
            await send({"type": "http.response.body", "body": self._fault_frames["error"],
                        "more_body": False})
            return False
        if fault.kind == "malformed":
            await send({"type": "http.response.body", "body": self._fault_frames["malformed"],
                        "more_body": True})
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(gone.wait(), timeout=fault.seconds)
        return not gone.is_set()


class DroppedResponse(Response):
    """Sends a 200 status and headers announcing a body, then drops the connection."""

    def __init__(self, body: bytes, headers: dict[str, str]) -> None:
        self.status_code = 200
        self.background = None
        self.media_type = "application/json"
        self.body = body
        self.init_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code,
                    "headers": self.raw_headers})
        raise StreamDropped
