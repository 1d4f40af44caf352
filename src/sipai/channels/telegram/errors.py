"""The bot's one error handler: log ids (never texts or the token), answer a fixed friendly line.

python-telegram-bot calls it for any exception a handler raised; the application keeps
processing other updates afterwards, so one bad update never stops the bot. What is logged:
the update id, chat id, user id and the exception's type — no message text, no exception
text (Bot API errors can quote request details) and so never the bot token. The customer
gets :data:`texts.TEXTS["error"] <sipai.channels.telegram.texts.TEXTS>` in their language,
unless the error means the chat cannot be written to (blocked bot, flood wait).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.error import Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ContextTypes

from sipai.channels.telegram.texts import language_of, say
from sipai.errors import SipError

log = logging.getLogger(__name__)


def _facts(update: object, error: BaseException | None) -> dict[str, object]:
    facts: dict[str, object] = {"error": type(error).__name__ if error else None}
    if isinstance(error, SipError):
        facts["code"] = error.code
    if isinstance(update, Update):
        facts["update_id"] = update.update_id
        facts["chat_id"] = update.effective_chat.id if update.effective_chat else None
        facts["user_id"] = update.effective_user.id if update.effective_user else None
    return facts


ErrorHandler = Callable[[object, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def error_handler(default_language: str) -> ErrorHandler:
    """Build the handler (it answers in the customer's language, else `default_language`)."""

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log what failed by its ids and tell the customer, in one fixed line, to try again."""
        error = context.error
        facts = _facts(update, error)
        if isinstance(error, Forbidden | RetryAfter):
            # Blocked by the user, or flooded: writing to the chat would fail again.
            log.info("tg.update_failed", extra=facts)
            return
        if isinstance(error, NetworkError):
            log.warning("tg.update_failed", extra=facts)
        else:
            # The redaction filter keeps only the exception's type in production logs.
            log.error("tg.update_failed", extra=facts,
                      exc_info=error if not isinstance(error, TelegramError) else None)
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        user = update.effective_user
        language = language_of(user.language_code if user else None, default_language)
        try:
            await context.bot.send_message(update.effective_chat.id, say("error", language))
        except TelegramError as reply_error:
            log.warning("tg.error_reply_failed", extra={**facts,
                                                        "reply_error":
                                                            type(reply_error).__name__})

    return on_error


__all__ = ["ErrorHandler", "error_handler"]
