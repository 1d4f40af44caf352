"""Rolling summaries of older turns, written by the cheaper model off the critical path.

Summaries are lazy, because every call spends the cheaper model's requests, which are also
the fallback's (about 30 a minute, 1,000 a day on Groq's free tier). Messages the summary
does not cover yet are sent in the prompt, trimmed (support/budget.py); only when they no
longer fit their allowance does the summary fold in all but the last exchange. After each
answer the service schedules :meth:`Summarizer.refresh` as a background task (the answer
never waits for it), which checks that and returns without a call while they still fit. So
every earlier exchange is in the prompt or in the summary, and a chat of short messages
costs about one summary every two or three exchanges. The summary is short (at most 40
words asked, about 70 tokens allowed in the prompt) because it is sent on every turn.
Without a provider (offline, or the call fails, including a reply with no text) an
extractive summary — the customer's earlier messages, shortened, newest kept — holds the
facts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from sipai.errors import ProviderError
from sipai.llm.client import LLMClient
from sipai.llm.retry import NO_RETRY
from sipai.llm.tokens import TokenCounter
from sipai.llm.types import ChatMessage
from sipai.storage.unit_of_work import UnitOfWork
from sipai.support.budget import Turn, recent_fits
from sipai.support.domain import Message, UsageRecord
from sipai.support.prompts import SUMMARISE

log = logging.getLogger(__name__)

#: A refresh is worth checking once this many messages (one exchange) are unsummarised
#: besides the window (the last exchange): only then can they overflow their allowance.
BATCH = 2
#: gpt-oss spends part of this on reasoning before the summary's text.
SUMMARY_MAX_TOKENS = 400
EXTRACT_CHARS = 160
#: An extractive summary keeps this many characters (about the prompt's summary allowance).
EXTRACT_TOTAL = 300


class BackgroundTasks:
    """Tasks that must not delay a reply but must finish before the process exits."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro` in the background, logging (not raising) its failure."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("background.failed",
                        extra={"error": type(task.exception()).__name__})

    async def drain(self, grace: float = 30.0) -> None:
        """Wait for pending tasks (at shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)


class Summarizer:
    """Folds older turns into the conversation's summary when they no longer fit the prompt."""

    def __init__(self, uow: Callable[[], UnitOfWork], client: LLMClient | None, model: str,
                 *, window: int, counter: TokenCounter | None = None) -> None:
        self._uow = uow
        self._client = client
        self.model = model
        self.window = window
        #: Measures the unsummarised messages as the context budget does (the client's
        #: calibrated counter, which the composition root shares with the budget).
        self.counter = counter or (client.counter if client is not None else TokenCounter())
        self._running: set[str] = set()

    def due(self, message_count: int, summary_upto: int) -> bool:
        """Whether an exchange besides the last one is unsummarised (then :meth:`refresh`
        checks whether they all still fit the prompt)."""
        return message_count - self.window - summary_upto >= BATCH

    async def refresh(self, conversation_id: str) -> None:
        """Fold all but the last exchange into the summary, if the unsummarised messages no
        longer fit their allowance in the prompt."""
        if conversation_id in self._running:
            return
        self._running.add(conversation_id)
        try:
            await self._refresh(conversation_id)
        finally:
            self._running.discard(conversation_id)

    async def _refresh(self, conversation_id: str) -> None:
        async with self._uow() as uow:
            conversation = await uow.conversations.get(conversation_id)
            if conversation is None:
                return
            newer = await uow.messages.after(conversation_id, conversation.summary_upto)
        older = newer[: max(0, len(newer) - self.window)]
        if len(older) < BATCH or recent_fits([Turn(m.role, m.text) for m in newer],
                                             self.counter):
            return  # still sent whole (trimmed) in the prompt: no call spent
        upto = older[-1].seq
        started = time.perf_counter()
        summary, record = await self._write(conversation.user_id, conversation_id,
                                            conversation.summary, older)
        async with self._uow() as uow:
            current = await uow.conversations.get(conversation_id)
            if current is None or current.summary_upto >= upto:
                return
            current.fold_summary(summary, upto)
            await uow.conversations.save(current)
            if record is not None:
                await uow.usage.add(record)
            await uow.commit()
        log.info("summary.refreshed", extra={"conversation_id": conversation_id, "upto": upto,
                                             "chars": len(summary),
                                             "ms": int((time.perf_counter() - started) * 1000)})

    async def _write(self, user_id: str, conversation_id: str, previous: str | None,
                     messages: list[Message]) -> tuple[str, UsageRecord | None]:
        transcript = "\n".join(f"{m.role}: {m.text}" for m in messages)
        if self._client is not None:
            prompt: list[ChatMessage] = [
                {"role": "system", "content": SUMMARISE},
                {"role": "user", "content": (f"Previous summary:\n{previous}\n\n" if previous
                                             else "") + f"New turns:\n{transcript}"},
            ]
            try:
                done = await self._client.complete(prompt, model=self.model, retry=NO_RETRY,
                                                   max_completion_tokens=SUMMARY_MAX_TOKENS,
                                                   temperature=0.2)
                return done.text.strip(), UsageRecord(
                    user_id=user_id, model=done.model, purpose="summary",
                    conversation_id=conversation_id, prompt_tokens=done.usage.prompt_tokens,
                    completion_tokens=done.usage.completion_tokens, cost_usd=done.cost_usd,
                    latency_ms=int(done.latency_s * 1000))
            except ProviderError as error:
                log.info("summary.fallback_extractive", extra={"code": error.code})
        return extractive(previous, messages), None


def extractive(previous: str | None, messages: list[Message]) -> str:
    """A summary without a model: the customer's own words, shortened, newest last."""
    lines = [previous] if previous else []
    for message in messages:
        if message.role == "user":
            text = " ".join(message.text.split())
            lines.append("- " + (text[:EXTRACT_CHARS] + "…" if len(text) > EXTRACT_CHARS
                                 else text))
    # Keep the most recent facts (whole lines) when the summary grows past its budget.
    kept: list[str] = []
    for line in reversed("\n".join(lines).splitlines()):
        if kept and sum(len(k) + 1 for k in kept) + len(line) > EXTRACT_TOTAL:
            break
        kept.append(line[-EXTRACT_TOTAL:])
    return "\n".join(reversed(kept))


Notify = Callable[[Any], Awaitable[None]]
