"""Helpers for driving the real service path against the Groq emulator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sipai.bootstrap import Sip
from sipai.llm.types import TextDelta
from sipai.support import service
from sipai.support.domain import Message
from sipai.support.reply import Reply

PRIMARY = "openai/gpt-oss-120b"
FALLBACK = "openai/gpt-oss-20b"

#: Client-side limits far above anything a test sends (the emulator is unlimited).
UNLIMITED: dict[str, Any] = {"groq_rpm": 10**6, "groq_tpm": 10**9, "groq_rpd": 10**7,
                             "groq_tpd": 10**10, "sip_user_rpm": 10**4}
#: Short timeouts so slow faults cost seconds, not minutes.
QUICK: dict[str, Any] = {"groq_timeout": 2.0, "groq_stream_stall_timeout": 1.0,
                         "groq_max_retries": 2, "groq_max_retry_wait": 5.0,
                         "groq_fallback_models": [FALLBACK]}


@dataclass(frozen=True, slots=True)
class Turn:
    """One customer turn: the reply, what the customer saw, and what was stored."""

    reply: Reply
    shown: str
    stored: list[Message]


async def take_turn(sip: Sip, user: str, text: str, *, streaming: bool) -> Turn:
    """Send `text` as `user` through `ask` or `stream`; collect what came back and was kept."""
    if streaming:
        parts: list[str] = []
        reply: Reply | None = None
        async for event in service.stream(sip.deps, user, text):
            if isinstance(event, TextDelta):
                parts.append(event.text)
            else:
                reply = event
        assert reply is not None, "the stream ended without a reply"
        shown = "".join(parts)
    else:
        reply = await service.ask(sip.deps, user, text)
        shown = reply.answer
    async with sip.deps.uow() as uow:
        stored = await uow.messages.all(reply.conversation_id)
    return Turn(reply, shown, stored)


def assert_kept(turn: Turn, text: str) -> None:
    """Nothing lost: the question and the very answer the customer saw are both stored."""
    user = [m for m in turn.stored if m.role == "user"]
    assistant = [m for m in turn.stored if m.role == "assistant"]
    assert user and user[-1].text == text
    assert assistant and assistant[-1].text == turn.reply.answer
    assert turn.reply.answer.strip()
    # Streamed deltas are what the customer saw: the stored answer, or (for answers that
    # are not streamed, such as cache hits) nothing before the final reply.
    assert turn.shown in (turn.reply.answer, "")
    assert user[-1].status in ("answered", "unanswered")


def calls(requests: list[dict[str, Any]], model: str) -> int:
    """Chat requests the emulator received for `model`."""
    return sum(1 for r in requests if r.get("model") == model
               and str(r.get("path", "")).endswith("/chat/completions"))
