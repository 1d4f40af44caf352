"""Helpers for Sip's Telegram end-to-end tests: a real Sip (SQLite, fake Groq) behind the bot.

    async with sip_bot(settings) as bot:           # Sip + build_channel + long polling
        customer = bot.client.customer(bot.token, user_id=42)
        await customer.send_text("hola")
        answer = await customer.wait_for_reply(is_final)
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from sipai.bootstrap import Sip, build_sip
from sipai.channels.telegram import StreamingPolicy, TelegramChannel, build_channel
from sipai.config import Settings
from sipai.knowledge.base import KnowledgeBase
from sipai.support.domain import Ticket
from tests.telegram.harness import BotMessage, RunningBot, TelegramTestClient, running_bot

ADMIN_CHAT = -1009876543210


def is_final(message: BotMessage) -> bool:
    """The finished answer: formatted (HTML) or carrying the answer's keyboard."""
    return message.parse_mode == "HTML" or bool(message.buttons)


@dataclass
class SipBot:
    """A running bot and what tests look at: Sip's storage, the emulator, the PTB app."""

    sip: Sip
    channel: TelegramChannel
    running: RunningBot
    client: TelegramTestClient
    token: str

    async def tickets(self, user_id: str) -> list[Ticket]:
        """The customer's tickets, newest first."""
        async with self.sip.deps.uow() as uow:
            return await uow.tickets.for_user(user_id)


@asynccontextmanager
async def sip_bot(client: TelegramTestClient, settings: Settings, *,
                  kb: KnowledgeBase | None = None,
                  policy: StreamingPolicy | None = None) -> AsyncIterator[SipBot]:
    """Build Sip from `settings`, build the bot on it and long-poll the emulator."""
    assert settings.telegram_bot_token is not None
    sip = await build_sip(settings, kb=kb)
    try:
        channel = build_channel(sip.deps, policy=policy)
        try:
            async with running_bot(channel.application) as running:
                yield SipBot(sip, channel, running, client,
                             settings.telegram_bot_token.get_secret_value())
        finally:
            channel.detach()
    finally:
        await sip.aclose()


def bot_settings(groq_settings: Any, client: TelegramTestClient, token: str,
                 **overrides: Any) -> Settings:
    """Settings for a bot on the emulator, Groq on the fake server, operators in ADMIN_CHAT."""
    values: dict[str, Any] = {
        "telegram_bot_token": token,
        "telegram_api_base_url": client.emulator.bot_api_url,
        "sip_admin_chat_id": ADMIN_CHAT,
        "groq_max_tokens": 4000,  # room for the long answers some tests ask for
        # Groq's free-tier quotas would make Sip's own limiter queue the tests' turns (or
        # send them to the offline brain): give the emulated account room.
        "groq_rpm": 10_000, "groq_tpm": 10_000_000, "groq_rpd": 100_000,
        "groq_tpd": 100_000_000,
    }
    values.update(overrides)
    settings: Settings = groq_settings(**values)
    return settings


class RawLogs(logging.Handler):
    """Every log record as emitted (no redaction): message, extra fields and exception text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        parts = [record.name, record.getMessage()]
        parts += [f"{k}={v}" for k, v in vars(record).items() if k not in _STANDARD]
        if record.exc_info and record.exc_info[1] is not None:
            parts.append("".join(traceback.format_exception(*record.exc_info)))
        self.records.append(record)
        self.lines.append(" ".join(parts))

    def text(self) -> str:
        """All captured lines, one per record."""
        return "\n".join(self.lines)


_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName"}


@asynccontextmanager
async def raw_logs() -> AsyncIterator[RawLogs]:
    """Capture every record reaching the root logger at the levels production configures.

    The handler goes first, so it sees each record before any redacting handler changes it.
    """
    handler = RawLogs()
    root = logging.getLogger()
    root.handlers.insert(0, handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


__all__ = ["ADMIN_CHAT", "RawLogs", "SipBot", "bot_settings", "is_final", "raw_logs", "sip_bot"]


# -- fixtures shared by the bot's test modules (import them into the module) ------------

@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """The bundled knowledge base, indexed once for the module."""
    return await KnowledgeBase.open(tmp_path_factory.mktemp("kb"))


@pytest.fixture
def settings_for(groq_settings: Callable[..., Any],
                 telegram_client: TelegramTestClient) -> Callable[..., Any]:
    """Settings for a fresh bot token on the emulator (returns token, settings)."""

    def build(**overrides: Any) -> tuple[str, Any]:
        token = telegram_client.new_token()
        return token, bot_settings(groq_settings, telegram_client, token, **overrides)

    return build
