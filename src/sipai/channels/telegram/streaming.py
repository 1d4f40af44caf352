"""Showing an answer while the model writes it, without tripping Telegram's flood limits.

:class:`LiveAnswer` is one answer on its way to one chat:

* while waiting, a typing indicator (``sendChatAction``) every few seconds;
* in private chats, the growing text as a message draft (``sendMessageDraft``), at most
  every ``draft_interval`` seconds; in groups — or when the server rejects drafts — one
  message sent on the first text and edited in place at most every ``edit_interval``
  seconds, only when the text grew; always plain text while streaming;
* at the end, the formatted answer (HTML, split into parts of ≤ 4096 characters): the
  edited message becomes the first part, further parts are new messages, and the keyboard
  goes under the last part.

The producer (the model stream) never waits for Telegram: :meth:`LiveAnswer.push` only
records the text; a background task sends the latest snapshot when its interval is up. At
the end that task is asked to stop and awaited — never cancelled mid-request, so no half
created message is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from dataclasses import dataclass
from types import TracebackType

from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError

from sipai.channels.telegram.delivery import (
    Capabilities,
    edit_part,
    not_modified,
    send_part,
    send_plain,
)
from sipai.channels.telegram.formatting import MAX_MESSAGE, Part, preview_text, render_parts

log = logging.getLogger(__name__)

DRAFT = "sendMessageDraft"
CHAT_ACTION = "sendChatAction"
_draft_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class StreamingPolicy:
    """How often the bot may touch a chat while an answer streams."""

    #: Minimum seconds between two drafts in a private chat.
    draft_interval: float = 0.5
    #: Minimum seconds between two edits of the streamed message (Telegram: about 1/s).
    edit_interval: float = 1.0
    #: Seconds between typing indicators (Telegram shows one for about 5 s).
    typing_interval: float = 4.5
    #: Longest message, in UTF-16 code units.
    limit: int = MAX_MESSAGE


class LiveAnswer:
    """One answer streamed into one chat; use as ``async with`` and end with :meth:`finish`."""

    def __init__(self, bot: Bot, chat_id: int, *, private: bool, capabilities: Capabilities,
                 policy: StreamingPolicy | None = None, quote: int | None = None) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.private = private
        self.capabilities = capabilities
        self.policy = policy or StreamingPolicy()
        self.quote = quote
        self.draft_id = next(_draft_ids)
        #: The message edited in place while streaming (groups, or drafts refused).
        self.message_id: int | None = None
        self.drafts = 0
        self.edits = 0
        self._text = ""
        self._shown = ""
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._visible = asyncio.Event()
        self._use_drafts = private
        self._previews_broken = False
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> LiveAnswer:
        self._tasks = [asyncio.create_task(self._typing(), name="tg-typing"),
                       asyncio.create_task(self._flusher(), name="tg-preview")]
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self._stop()

    def push(self, delta: str) -> None:
        """Add streamed text; it reaches the chat on the next flush."""
        if delta:
            self._text += delta
            self._changed.set()

    async def finish(self, markdown: str,
                     reply_markup: InlineKeyboardMarkup | None = None) -> list[int]:
        """Deliver the final, formatted answer; the ids of the messages that hold it."""
        await self._stop()
        parts = render_parts(markdown, self.policy.limit) or [Part("…", "…")]
        sent: list[int] = []
        first = 0
        if self.message_id is not None:
            markup = reply_markup if len(parts) == 1 else None
            try:
                await edit_part(self.bot, self.chat_id, self.message_id, parts[0],
                                reply_markup=markup)
                sent.append(self.message_id)
                first = 1
            except BadRequest as error:  # the streamed message is gone: send afresh
                log.info("tg.stream_edit_lost", extra={"chat_id": self.chat_id,
                                                       "error": type(error).__name__})
        for index in range(first, len(parts)):
            last = index == len(parts) - 1
            message = await send_part(self.bot, self.chat_id, parts[index],
                                      reply_markup=reply_markup if last else None,
                                      quote=self.quote if not sent else None)
            sent.append(message.message_id)
        return sent

    async def _stop(self) -> None:
        """End the typing indicator at once; let a preview in flight land, then stop."""
        self._closing.set()
        self._changed.set()
        self._visible.set()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            if task.get_name() == "tg-typing":
                task.cancel()  # a chat action is idempotent: safe to drop mid-request
        if tasks:
            await asyncio.wait(tasks)
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:
                log.warning("tg.stream_task_failed", extra={
                    "chat_id": self.chat_id, "task": task.get_name(),
                    "error": type(task.exception()).__name__})

    async def _typing(self) -> None:
        """Typing indicators until something is visible (or the answer is done)."""
        while not self._visible.is_set():
            ok = await self.capabilities.call(CHAT_ACTION, lambda: self.bot.send_chat_action(
                self.chat_id, ChatAction.TYPING))
            if not ok:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._visible.wait(), self.policy.typing_interval)

    async def _flusher(self) -> None:
        """Show the latest text whenever it grew and the interval since the last show is up.

        The first show also waits one interval: a quick answer then arrives as one message,
        with only the typing indicator before it.
        """
        last = time.monotonic()
        while True:
            await self._changed.wait()
            if self._closing.is_set():
                return
            interval = self.policy.draft_interval if self._use_drafts else \
                self.policy.edit_interval
            wait = last + interval - time.monotonic()
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), wait)
                if self._closing.is_set():
                    return
            self._changed.clear()
            preview = preview_text(self._text, self.policy.limit)
            if len(preview) <= len(self._shown) or self._previews_broken:
                continue
            await self._show(preview)
            last = time.monotonic()

    async def _show(self, preview: str) -> None:
        if self._use_drafts:
            shown = await self.capabilities.call(DRAFT, lambda: self.bot.send_message_draft(
                self.chat_id, self.draft_id, preview))
            if shown:
                self.drafts += 1
                self._shown = preview
                self._visible.set()
                return
            self._use_drafts = False  # next best thing: one message edited in place
        try:
            if self.message_id is None:
                message = await send_plain(self.bot, self.chat_id, preview, quote=self.quote)
                self.message_id = message.message_id
            else:
                await self.bot.edit_message_text(preview, chat_id=self.chat_id,
                                                 message_id=self.message_id)
                self.edits += 1
        except TelegramError as error:
            if not not_modified(error):
                # Previews are a courtesy: stop them, the final answer still goes out.
                self._previews_broken = True
                log.info("tg.preview_failed", extra={"chat_id": self.chat_id,
                                                     "error": type(error).__name__})
                return
        self._shown = preview
        self._visible.set()


__all__ = ["CHAT_ACTION", "DRAFT", "LiveAnswer", "StreamingPolicy"]
