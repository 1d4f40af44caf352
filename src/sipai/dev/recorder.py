"""What the emulator saw: the request log (memory and JSON lines) and the counters.

Each record holds `seq`, `time` (Unix seconds), `method`, `path`, `model`, `stream`, the
full JSON `body` (tests assert on prompts), `status`, `error_code`, `fault` (the scripted
fault applied, if any) and `key` — a fingerprint (`sha256:` + 12 hex digits), never the key.
The memory log keeps the latest `limit` records; `--log-file` appends every record as one
JSON line, written off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections import Counter, defaultdict, deque
from pathlib import Path
from typing import Any


def key_fingerprint(key: str | None) -> str | None:
    """A short, irreversible id of an API key for logs (`sha256:` + 12 hex digits)."""
    if not key:
        return None
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:12]


class JsonLinesWriter:
    """Appends JSON lines to a file from a background task, in batches, via a thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def put(self, record: dict[str, Any]) -> None:
        """Queue one record (never blocks)."""
        self._queue.put_nowait(json.dumps(record, ensure_ascii=False))

    def _append(self, lines: list[str]) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in lines))

    async def _run(self) -> None:
        while True:
            lines = [await self._queue.get()]
            while not self._queue.empty():
                lines.append(self._queue.get_nowait())
            await asyncio.to_thread(self._append, lines)

    def start(self) -> None:
        """Start the background writer on the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Write what is queued and stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        lines: list[str] = []
        while not self._queue.empty():
            lines.append(self._queue.get_nowait())
        if lines:
            await asyncio.to_thread(self._append, lines)


class RequestRecorder:
    """The in-memory request log plus per-status, per-model and per-window counters."""

    def __init__(self, limit: int = 2_000, log_file: Path | None = None) -> None:
        self._records: deque[dict[str, Any]] = deque(maxlen=limit)
        self._writer = JsonLinesWriter(log_file) if log_file is not None else None
        self._seq = 0
        self._by_status: Counter[str] = Counter()
        self._by_model: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._admitted: defaultdict[str, Counter[int]] = defaultdict(Counter)
        self._tokens: defaultdict[str, Counter[int]] = defaultdict(Counter)
        self.in_flight = 0
        self.max_in_flight = 0

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Store one request's record (numbering it) and count its status."""
        self._seq += 1
        entry = {"seq": self._seq, **entry}
        self._records.append(entry)
        status = str(entry.get("status"))
        self._by_status[status] += 1
        model = entry.get("model")
        if isinstance(model, str):
            self._by_model[model][status] += 1
        if self._writer is not None:
            self._writer.put(entry)
        return entry

    def note_admitted(self, model: str, window: int, tokens: int) -> None:
        """Count a request the rate limiter let through in emulated minute `window`."""
        self._admitted[model][window] += 1
        self._tokens[model][window] += tokens

    def enter(self) -> None:
        """A request started being served."""
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        """A request finished being served."""
        self.in_flight -= 1

    def entries(self, model: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        """Recorded requests, oldest first, optionally only one model's or one path's."""
        return [
            entry
            for entry in self._records
            if (model is None or entry.get("model") == model)
            and (path is None or str(entry.get("path", "")).endswith(path))
        ]

    def stats(self) -> dict[str, Any]:
        """Counts per status, per model, admitted requests/tokens per minute window."""
        return {
            "total": sum(self._by_status.values()),
            "by_status": dict(self._by_status),
            "by_model": {
                model: {"total": sum(counts.values()), "by_status": dict(counts)}
                for model, counts in self._by_model.items()
            },
            "admitted_per_window": {
                model: {str(w): n for w, n in sorted(counts.items())}
                for model, counts in self._admitted.items()
            },
            "tokens_per_window": {
                model: {str(w): n for w, n in sorted(counts.items())}
                for model, counts in self._tokens.items()
            },
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
        }

    def clear(self) -> None:
        """Forget every record and counter (the sequence number carries on)."""
        self._records.clear()
        self._by_status.clear()
        self._by_model.clear()
        self._admitted.clear()
        self._tokens.clear()
        self.max_in_flight = self.in_flight

    def start(self) -> None:
        """Start the log-file writer, if any."""
        if self._writer is not None:
            self._writer.start()

    async def stop(self) -> None:
        """Flush the log file, if any."""
        if self._writer is not None:
            await self._writer.stop()
