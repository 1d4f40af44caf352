"""Structured, secret-free logging.

Sip logs ids, sizes, token counts, latencies, models and outcomes as JSON lines, never
message texts or keys. Call sites pass facts in `extra={...}`; :class:`RedactionFilter`
is the safety net that masks any configured secret and anything shaped like a Groq key or
a Telegram bot token, wherever it appears. httpx/httpcore INFO logs (which print request
URLs, and Telegram puts the bot token in the URL) are silenced.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

#: The shape of a Groq API key (shared with the reply guard, which blocks answers that hold one).
GROQ_KEY_SHAPE = r"gsk_[A-Za-z0-9]{8,}"
#: The shape of a Telegram bot token (also shared with the reply guard); a pattern, no secret.
TELEGRAM_TOKEN_SHAPE = r"\b\d{6,12}:[A-Za-z0-9_-]{30,}"  # noqa: S105
_KEY_SHAPES = re.compile(
    GROQ_KEY_SHAPE
    + "|" + TELEGRAM_TOKEN_SHAPE
    + r"|(?i:bearer)\s+[A-Za-z0-9._~+/=-]{12,}"  # Authorization headers
)
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName",
    "color_message",  # uvicorn's copy of the event with terminal colour codes
}
MASK = "[REDACTED]"


class RedactionFilter(logging.Filter):
    """Mask secrets in a record's message, arguments and extra fields."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Register more secret values (ignores short ones, which would mask ordinary words)."""
        self._secrets.update(s for s in secrets if s and len(s) >= 6)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return _KEY_SHAPES.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, self.redact(value))
        if record.exc_info and record.exc_info[1] is not None:
            # Exception texts may embed request details; keep the type, drop the text.
            record.exc_text = f"{type(record.exc_info[1]).__name__}: {MASK}"
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS:
                payload[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_text:
            payload["error"] = record.exc_text
        return json.dumps(payload, ensure_ascii=False)


_filter = RedactionFilter()


def redaction_filter() -> RedactionFilter:
    """The process-wide redaction filter (tests attach it to their capture handlers)."""
    return _filter


def configure_logging(level: str = "INFO", secrets: Iterable[str] = (),
                      stream: TextIO | None = None) -> None:
    """Send JSON logs to stderr (or `stream`), redacted, with noisy HTTP loggers quietened."""
    _filter.add(secrets)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_sip", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._sip = True  # type: ignore[attr-defined]
    handler.addFilter(_filter)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    quiet_noisy_loggers()


#: Libraries whose INFO/DEBUG logs carry URLs (with the bot token) or request bodies.
NOISY_LOGGERS = ("httpx", "httpcore", "openai", "groq", "telegram", "apscheduler",
                 "aiosqlite", "asyncio", "urllib3", "hpack", "uvicorn.access")


def quiet_noisy_loggers() -> None:
    """Raise noisy libraries' loggers to WARNING: they would log URLs and message bodies."""
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
