"""A tiny SSE reader for raw-HTTP tests of the emulator's streams."""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class StreamResult:
    """What a raw client saw: parsed chunks, raw `data:` payloads, [DONE], timings."""

    status: int
    headers: httpx.Headers
    chunks: list[dict[str, Any]] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    done: bool = False
    arrivals: list[float] = field(default_factory=list)
    error: Exception | None = None

    @property
    def content(self) -> str:
        return "".join(c["choices"][0]["delta"].get("content") or "" for c in self.chunks
                       if c.get("choices") and "delta" in c["choices"][0])

    @property
    def reasoning(self) -> str:
        return "".join(c["choices"][0]["delta"].get("reasoning") or "" for c in self.chunks
                       if c.get("choices") and "delta" in c["choices"][0])


async def read_stream(client: httpx.AsyncClient, path: str, body: dict[str, Any],
                      max_events: int | None = None) -> StreamResult:
    """POST `body` and collect the SSE events (stops early after `max_events`)."""
    started = time.perf_counter()
    async with client.stream("POST", path, json=body) as response:
        result = StreamResult(response.status_code, response.headers)
        if response.status_code != 200:
            await response.aread()
            result.raw.append(response.text)
            return result
        try:
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                payload = line[len("data: "):]
                result.raw.append(payload)
                result.arrivals.append(time.perf_counter() - started)
                if payload == "[DONE]":
                    result.done = True
                    continue
                with contextlib.suppress(json.JSONDecodeError):  # malformed-chunk faults
                    result.chunks.append(json.loads(payload))
                if max_events is not None and len(result.raw) >= max_events:
                    break
        except httpx.HTTPError as exc:
            result.error = exc
    return result
