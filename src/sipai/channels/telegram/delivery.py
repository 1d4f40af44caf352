"""Putting text in front of the customer: HTML with a plain-text fallback, and optional methods.

Two rules every outgoing message follows:

* HTML first; when Telegram answers "can't parse entities", the same part goes again as
  plain text (what the customer would have read, without formatting) — never dropped.
* Optional Bot API methods (drafts, chat actions) are nice-to-have: when the server rejects
  one, :class:`Capabilities` remembers it for a while and callers degrade to the next best
  thing instead of failing the answer. A timeout or a flood wait skips one call only.

Flood limits are the rate limiter's job (AIORateLimiter, which also honours RetryAfter);
nothing here retries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, RetryAfter, TelegramError, TimedOut

from sipai.channels.telegram.formatting import Part, html_to_plain

log = logging.getLogger(__name__)

#: How long a rejected optional method is left alone before Sip tries it again.
RETRY_REJECTED_AFTER = 600.0
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def cannot_parse(error: TelegramError) -> bool:
    """True for Telegram's "can't parse entities" (matched case-insensitively)."""
    return isinstance(error, BadRequest) and "can't parse entities" in error.message.lower()


def not_modified(error: TelegramError) -> bool:
    """True for "message is not modified" (an edit that changes nothing)."""
    return isinstance(error, BadRequest) and "message is not modified" in error.message.lower()


class Capabilities:
    """Which optional Bot API methods this server accepts; a rejection is re-tried later."""

    def __init__(self, retry_after: float = RETRY_REJECTED_AFTER,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._retry_after = retry_after
        self._clock = clock
        self._rejected: dict[str, float] = {}

    def allows(self, method: str) -> bool:
        """Whether `method` is worth calling now."""
        since = self._rejected.get(method)
        if since is None:
            return True
        if self._clock() - since >= self._retry_after:
            del self._rejected[method]
            return True
        return False

    def reject(self, method: str) -> None:
        """Remember that the server refused `method`."""
        self._rejected[method] = self._clock()

    async def call(self, method: str, action: Callable[[], Awaitable[Any]]) -> bool:
        """Run an optional call; False (and no exception) when it was skipped or refused."""
        if not self.allows(method):
            return False
        try:
            await action()
        except (TimedOut, RetryAfter) as error:  # transient: skip this one call
            log.info("tg.optional_skipped", extra={"method": method,
                                                   "error": type(error).__name__})
            return False
        except TelegramError as error:
            self.reject(method)
            log.warning("tg.optional_rejected", extra={"method": method,
                                                       "error": type(error).__name__})
            return False
        return True


def reply_to(message_id: int | None) -> ReplyParameters | None:
    """Quote `message_id` if it still exists (groups), else nothing."""
    if message_id is None:
        return None
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)


async def send_part(bot: Bot, chat_id: int, part: Part, *,
                    reply_markup: InlineKeyboardMarkup | None = None,
                    quote: int | None = None) -> Message:
    """Send one part as HTML; as plain text when Telegram cannot parse the HTML."""
    try:
        return await bot.send_message(chat_id, part.html, parse_mode=ParseMode.HTML,
                                      reply_markup=reply_markup, reply_parameters=reply_to(quote),
                                      link_preview_options=NO_PREVIEW)
    except BadRequest as error:
        if not cannot_parse(error):
            raise
        log.warning("tg.html_rejected", extra={"chat_id": chat_id, "chars": len(part.html)})
    return await bot.send_message(chat_id, part.plain, reply_markup=reply_markup,
                                  reply_parameters=reply_to(quote),
                                  link_preview_options=NO_PREVIEW)


async def edit_part(bot: Bot, chat_id: int, message_id: int, part: Part, *,
                    reply_markup: InlineKeyboardMarkup | None = None) -> None:
    """Turn message `message_id` into `part` (HTML, else plain); unchanged text is fine."""
    try:
        await bot.edit_message_text(part.html, chat_id=chat_id, message_id=message_id,
                                    parse_mode=ParseMode.HTML, reply_markup=reply_markup,
                                    link_preview_options=NO_PREVIEW)
        return
    except BadRequest as error:
        if not_modified(error):
            return
        if not cannot_parse(error):
            raise
        log.warning("tg.html_rejected", extra={"chat_id": chat_id, "chars": len(part.html)})
    try:
        await bot.edit_message_text(part.plain, chat_id=chat_id, message_id=message_id,
                                    reply_markup=reply_markup, link_preview_options=NO_PREVIEW)
    except BadRequest as error:
        if not not_modified(error):
            raise


async def send_plain(bot: Bot, chat_id: int, text: str, *, quote: int | None = None,
                     reply_markup: InlineKeyboardMarkup | None = None) -> Message:
    """Send a fixed text with no parse mode (nothing in it can break HTML parsing)."""
    return await bot.send_message(chat_id, text, reply_parameters=reply_to(quote),
                                  reply_markup=reply_markup, link_preview_options=NO_PREVIEW)


async def send_html(bot: Bot, chat_id: int, markup: str, *, quote: int | None = None,
                    reply_markup: InlineKeyboardMarkup | None = None) -> Message:
    """Send HTML Sip composed itself (escaped values), falling back to plain text."""
    return await send_part(bot, chat_id, Part(markup, html_to_plain(markup)),
                           reply_markup=reply_markup, quote=quote)


__all__ = [
    "RETRY_REJECTED_AFTER", "Capabilities", "cannot_parse", "edit_part", "not_modified",
    "reply_to", "send_html", "send_part", "send_plain",
]
