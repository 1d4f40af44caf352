"""The Telegram application, built in one place from the composition root's deps.

    channel = build_channel(sip.deps)                 # handlers, error handler, listener
    async with polling(channel):                      # `sip bot`
        ...
    async with webhook(channel, url, secret):         # `sip serve` (updates via the router)
        ...

The application has ``concurrent_updates`` on (one slow answer never blocks another
customer) and an :class:`~telegram.ext.AIORateLimiter` that keeps within Telegram's flood
limits (30 messages/s overall, 20/min per group) and honours ``RetryAfter`` by waiting and
retrying. ``TELEGRAM_API_BASE_URL`` is PTB's ``base_url`` (the token is appended), so
tests point the bot at a local emulator. Building the channel subscribes its operator desk
to new tickets (``deps.ticket_listeners``); leaving ``polling``/``webhook`` unsubscribes it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from sipai.channels.telegram.delivery import Capabilities
from sipai.channels.telegram.errors import error_handler
from sipai.channels.telegram.handlers import CustomerChat
from sipai.channels.telegram.keyboards import TAKE_PATTERN
from sipai.channels.telegram.operators import OperatorDesk
from sipai.channels.telegram.streaming import StreamingPolicy
from sipai.errors import ConfigError
from sipai.support.service import SupportDeps

log = logging.getLogger(__name__)

TelegramApp = Application[Any, Any, Any, Any, Any, Any]

#: Retries after a RetryAfter (flood wait) before the call fails.
FLOOD_RETRIES = 3

COMMANDS = {
    "es": [("nuevo", "Empezar una conversación nueva"),
           ("humano", "Hablar con una persona del equipo"),
           ("fin", "Terminar la conversación"),
           ("start", "Qué puede hacer Sip")],
    "en": [("new", "Start a new conversation"),
           ("human", "Talk to a person from the team"),
           ("end", "End the conversation"),
           ("start", "What Sip can do")],
}


@dataclass(slots=True)
class TelegramChannel:
    """A built bot: the PTB application and the objects behind its handlers."""

    application: TelegramApp
    customers: CustomerChat
    desk: OperatorDesk
    deps: SupportDeps

    def detach(self) -> None:
        """Stop announcing new tickets through this bot."""
        with suppress(ValueError):
            self.deps.ticket_listeners.remove(self.desk.announce)


def file_url(base_url: str) -> str:
    """PTB's ``base_file_url`` next to a ``base_url`` (``…/bot`` → ``…/file/bot``)."""
    root, sep, _ = base_url.rstrip("/").rpartition("/bot")
    return f"{root}/file/bot" if sep else f"{base_url.rstrip('/')}/file"


def build_channel(deps: SupportDeps, *, updater: bool = True,
                  policy: StreamingPolicy | None = None,
                  capabilities: Capabilities | None = None,
                  flood_retries: int = FLOOD_RETRIES) -> TelegramChannel:
    """Build the bot from settings (`TELEGRAM_*`, `SIP_ADMIN_CHAT_ID`) and the service deps."""
    settings = deps.settings
    if settings.telegram_bot_token is None:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set (get one from @BotFather)")
    builder = (Application.builder()
               .token(settings.telegram_bot_token.get_secret_value())
               .base_url(settings.telegram_api_base_url)
               .base_file_url(file_url(settings.telegram_api_base_url))
               .concurrent_updates(True)
               .rate_limiter(AIORateLimiter(max_retries=flood_retries)))
    if not updater:
        builder = builder.updater(None)
    application: TelegramApp = builder.build()
    desk = OperatorDesk(deps, application.bot, settings.sip_admin_chat_id)
    customers = CustomerChat(deps, desk, capabilities=capabilities, policy=policy)
    _register(application, customers, desk)
    application.add_error_handler(error_handler(settings.sip_language))
    deps.ticket_listeners.append(desk.announce)
    if settings.sip_admin_chat_id is None:
        log.warning("tg.no_admin_chat", extra={"variable": "SIP_ADMIN_CHAT_ID",
                                               "hint": "tickets are stored but not posted"})
    return TelegramChannel(application, customers, desk, deps)


def _register(application: TelegramApp, customers: CustomerChat, desk: OperatorDesk) -> None:
    """The handlers, most specific first (PTB runs the first match of a group)."""
    admin = filters.Chat(desk.admin_chat_id) if desk.admin_chat_id is not None else None
    customer_chats = ~admin if admin is not None else filters.ALL
    private = filters.ChatType.PRIVATE
    for names, callback in ((("start", "ayuda", "help"), customers.start),
                            (("nuevo", "new"), customers.new),
                            (("humano", "human"), customers.human),
                            (("fin", "end"), customers.end)):
        application.add_handler(CommandHandler(names, callback, filters=customer_chats))
    application.add_handler(CommandHandler(("cerrar", "close"), desk.on_close))
    application.add_handler(CallbackQueryHandler(desk.on_take, pattern=TAKE_PATTERN))
    application.add_handler(CallbackQueryHandler(customers.button))
    if admin is not None:
        application.add_handler(MessageHandler(admin & filters.TEXT & ~filters.COMMAND,
                                               desk.on_admin_message))
    application.add_handler(MessageHandler(
        customer_chats & filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND,
        customers.text))
    application.add_handler(MessageHandler(private & filters.COMMAND,
                                           customers.unknown_command))
    application.add_handler(MessageHandler(private & filters.UpdateType.MESSAGE & ~filters.TEXT,
                                           customers.not_text))


async def publish_commands(application: TelegramApp) -> None:
    """Set the command menu (Spanish by default, English for English clients); optional."""
    try:
        for language, commands in COMMANDS.items():
            await application.bot.set_my_commands(
                [BotCommand(name, about) for name, about in commands],
                language_code=None if language == "es" else language)
    except TelegramError as error:
        log.info("tg.commands_not_set", extra={"error": type(error).__name__})


@asynccontextmanager
async def polling(channel: TelegramChannel, *, poll_timeout: int = 10,
                  poll_interval: float = 0.0) -> AsyncIterator[TelegramChannel]:
    """Run the bot by long polling (one poller per token) until the block ends."""
    application = channel.application
    if application.updater is None:
        raise ConfigError("this bot was built for webhooks (updater=False)")
    await application.initialize()
    try:
        await publish_commands(application)
        await application.start()
        try:
            await application.updater.start_polling(
                poll_interval=poll_interval, timeout=poll_timeout,
                allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
            log.info("tg.polling", extra={"bot_id": application.bot.id,
                                          "bot_username": application.bot.username})
            try:
                yield channel
            finally:
                await application.updater.stop()
        finally:
            await application.stop()
    finally:
        await application.shutdown()
        channel.detach()


@asynccontextmanager
async def webhook(channel: TelegramChannel, url: str,
                  secret: str) -> AsyncIterator[TelegramChannel]:
    """Start the bot for webhook delivery and register `url` with `secret` at Telegram.

    Updates then arrive through :func:`sipai.channels.telegram.webhook.webhook_router`. The
    webhook is left registered on exit, so a restart or another worker loses no update.
    """
    application = channel.application
    await application.initialize()
    try:
        await publish_commands(application)
        await application.start()
        try:
            await application.bot.set_webhook(url, secret_token=secret,
                                              allowed_updates=Update.ALL_TYPES,
                                              drop_pending_updates=False)
            log.info("tg.webhook_set", extra={"bot_id": application.bot.id})
            yield channel
        finally:
            await application.stop()
    finally:
        await application.shutdown()
        channel.detach()


__all__ = ["COMMANDS", "FLOOD_RETRIES", "TelegramApp", "TelegramChannel", "build_channel",
           "file_url", "polling", "publish_commands", "webhook"]
