"""A strict Server-Sent Events reader for tests (the browser has its own, in chat.js)."""

from __future__ import annotations

import json
from typing import Any

import httpx


def parse_frames(text: str) -> list[tuple[str, str]]:
    """(event name, data) of every frame; frames must end with a blank line."""
    assert text.endswith("\n\n"), "an SSE stream ends with a blank line"
    frames = []
    for block in text.split("\n\n")[:-1]:
        event, data = "message", []
        for line in block.split("\n"):
            field, _, value = line.partition(": ")
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
            else:
                raise AssertionError(f"unexpected SSE line {line!r}")
        frames.append((event, "\n".join(data)))
    return frames


def read_events(response: httpx.Response) -> list[tuple[str, Any]]:
    """Sip's named events with their JSON data, from a streaming response."""
    return [(event, json.loads(data)) for event, data in parse_frames(response.read().decode())]
