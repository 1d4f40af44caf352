"""Webhook mode end to end: the emulator delivers to Sip's FastAPI route on a real uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Generator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from sipai.bootstrap import Sip, build_sip
from sipai.channels.telegram import web_plugin
from sipai.channels.telegram.webhook import SECRET_HEADER, WEBHOOK_PATH
from sipai.config import Settings
from sipai.dev.server import bind_socket
from sipai.errors import ConfigError
from sipai.knowledge.base import KnowledgeBase
from tests.telegram.harness import TelegramTestClient, telegram_client, telegram_emulator
from tests.telegram.sipbot import ADMIN_CHAT, bot_settings, is_final, kb

pytestmark = pytest.mark.telegram
_FIXTURES = (telegram_client, telegram_emulator, kb)

SECRET = "webhook-secret-0123456789"


class _Server(uvicorn.Server):
    """uvicorn that leaves pytest's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@contextlib.asynccontextmanager
async def serving(sip: Sip, settings: Settings, sock: Any) -> AsyncIterator[str]:
    """Sip's web plugin for Telegram in a FastAPI app on `sock`; yields the base URL."""
    plugin = web_plugin(settings)
    assert plugin is not None and plugin.router is not None and plugin.lifespan is not None
    lifespan_of = plugin.lifespan

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with lifespan_of(sip):
            yield

    api = FastAPI(lifespan=lifespan)
    api.include_router(plugin.router)
    server = _Server(uvicorn.Config(api, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task


def private_update(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    """A Telegram update with a private text message, as Telegram would POST it."""
    user = {"id": user_id, "is_bot": False, "first_name": "Eva", "language_code": "es"}
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "text": text, "from": user,
        "chat": {"id": user_id, "type": "private", "first_name": "Eva"}}}


async def test_webhook_mode_answers_checks_the_secret_and_drops_duplicates(
    telegram_client: TelegramTestClient, groq_settings: Callable[..., Any], kb: KnowledgeBase
) -> None:
    token = telegram_client.new_token()
    sock = bind_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}{WEBHOOK_PATH}"
    settings = bot_settings(groq_settings, telegram_client, token, telegram_webhook_url=url,
                            telegram_webhook_secret=SECRET)
    sip = await build_sip(settings, kb=kb)
    try:
        async with serving(sip, settings, sock) as base, \
                httpx.AsyncClient(base_url=base, trust_env=False) as http:
            info = await telegram_client.bot_api(token, "getWebhookInfo")
            assert info["result"]["url"] == url

            # Telegram (the emulator) delivers with the secret: a normal conversation.
            customer = telegram_client.customer(token, user_id=7101)
            await customer.send_text("¿Por qué mi VPN se desconecta en 4G?")
            answer = await customer.wait_for_reply(is_final, timeout=30)
            assert answer.plain_text.startswith("Echo: ¿Por qué mi VPN se desconecta en 4G?")
            await customer.send_command("/humano")
            assert (await customer.wait_for_reply()).text.startswith("He abierto el ticket")
            ticket_post = await telegram_client.chat(token, ADMIN_CHAT).wait_for_reply()
            assert ticket_post.plain_text.startswith("🎫 Ticket #1")

            # Anyone else: 403 before the body is even read.
            body = private_update(900_001, 7102, "hola")
            assert (await http.post(WEBHOOK_PATH, json=body)).status_code == 403
            wrong = await http.post(WEBHOOK_PATH, json=body, headers={SECRET_HEADER: "nope"})
            assert wrong.status_code == 403
            garbage = await http.post(WEBHOOK_PATH, content=b"{not json",
                                      headers={SECRET_HEADER: SECRET})
            assert garbage.status_code == 400

            # The same update twice (a re-delivery): handled once.
            first = await http.post(WEBHOOK_PATH, json=body, headers={SECRET_HEADER: SECRET})
            again = await http.post(WEBHOOK_PATH, json=body, headers={SECRET_HEADER: SECRET})
            assert first.json() == {"ok": True}
            assert again.json() == {"ok": True, "duplicate": True}
            eva = telegram_client.customer(token, user_id=7102)
            await eva.wait_for_reply(is_final)
            await eva.assert_silent(0.5)
            assert len(await eva.messages()) == 1
    finally:
        await sip.aclose()
    # The plugin's lifespan unsubscribed the bot from new tickets.
    assert sip.deps.ticket_listeners == []


def test_web_plugin_follows_the_settings(make_settings: Callable[..., Settings]) -> None:
    assert web_plugin(make_settings()) is None
    polling_only = web_plugin(make_settings(telegram_bot_token="123456:" + "A" * 35))
    assert polling_only is not None and polling_only.router is None
    assert polling_only.lifespan is not None
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET is required"):
        web_plugin(make_settings(telegram_bot_token="123456:" + "A" * 35,
                                 telegram_webhook_url="https://sip.example/telegram/webhook"))
