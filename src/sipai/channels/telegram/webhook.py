"""Webhook mode: `POST /telegram/webhook` for `sip serve`, and the web plugin that mounts it.

    POST /telegram/webhook
      X-Telegram-Bot-Api-Secret-Token ≠ TELEGRAM_WEBHOOK_SECRET  → 403 (nothing parsed)
      bot not running yet                                         → 503 (Telegram retries)
      body not an Update                                          → 400
      update_id already claimed or done (a re-delivery)           → 200, dropped
      otherwise                                                   → processed, then 200

An update is claimed before it is processed and marked done after (released if processing
itself blew up, so Telegram's retry is handled): with `SIP_REDIS_URL` the claim is shared,
so several workers behind one webhook handle each update once
(:class:`sipai.resilience.dedup.UpdateDeduplicator`). Handlers' own failures never reach
here: the bot's error handler answers the customer and the update counts as done.

:func:`web_plugin` is the factory `sip serve` loads: with `TELEGRAM_WEBHOOK_URL` it mounts
the route and registers the webhook; with only `TELEGRAM_BOT_TOKEN` it long-polls in the
background instead (one server process per token); without a token it adds nothing.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from telegram import Update

from sipai.channels.telegram.app import TelegramApp, build_channel, polling, webhook
from sipai.config import Settings
from sipai.errors import ConfigError
from sipai.resilience.dedup import UpdateDeduplicator
from sipai.web.plugins import Plugin

if TYPE_CHECKING:
    from sipai.bootstrap import Sip

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


class WebhookEndpoint:
    """Checks, de-duplicates and processes webhook deliveries for a running application."""

    def __init__(self, secret: str | None, updates: UpdateDeduplicator | None = None) -> None:
        self._secret = secret.encode() if secret else None
        #: Which update ids were claimed or handled (the running Sip's, once it starts).
        self.updates = updates or UpdateDeduplicator()
        #: Set while the bot runs (the plugin's lifespan); None answers 503.
        self.application: TelegramApp | None = None

    def authentic(self, header: str | None) -> bool:
        """Constant-time check of the secret header; always False without a configured secret."""
        if self._secret is None or header is None:
            return False
        return hmac.compare_digest(header.encode(), self._secret)

    async def handle(self, request: Request) -> Response:
        """Answer one delivery (see the module docstring for the status codes)."""
        if not self.authentic(request.headers.get(SECRET_HEADER)):
            log.warning("tg.webhook_forbidden", extra={"client": request.client.host
                                                       if request.client else None})
            return JSONResponse({"ok": False, "error": "forbidden"}, status_code=403)
        application = self.application
        if application is None:
            return JSONResponse({"ok": False, "error": "starting"}, status_code=503,
                                headers={"Retry-After": "1"})
        body = await request.body()
        try:
            data = json.loads(body)
            update_id = data["update_id"] if isinstance(data, dict) else None
            if not isinstance(update_id, int) or isinstance(update_id, bool):
                raise ValueError("update_id")
            update = Update.de_json(data, application.bot)
        except (ValueError, KeyError, TypeError):
            log.warning("tg.webhook_bad_update", extra={"bytes": len(body)})
            return JSONResponse({"ok": False, "error": "bad update"}, status_code=400)
        if not await self.updates.claim(update_id):
            log.info("tg.webhook_duplicate", extra={"update_id": update_id})
            return JSONResponse({"ok": True, "duplicate": True})
        try:
            await application.process_update(update)
        except BaseException:
            await self.updates.release(update_id)
            raise
        await self.updates.done(update_id)
        return JSONResponse({"ok": True})


def webhook_router(endpoint: WebhookEndpoint, path: str = WEBHOOK_PATH) -> APIRouter:
    """A router with the webhook route; mounted without API-key auth (the secret is the auth)."""
    router = APIRouter()

    @router.post(path, include_in_schema=False)
    async def telegram_webhook(request: Request) -> Response:
        return await endpoint.handle(request)

    return router


def web_plugin(settings: Settings) -> Plugin | None:
    """The Telegram plugin for `sip serve`, or None when no bot token is configured."""
    if settings.telegram_bot_token is None:
        return None
    url = settings.telegram_webhook_url
    if url is None:
        return Plugin("telegram", lifespan=_polling_lifespan)
    if settings.telegram_webhook_secret is None:
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET is required when TELEGRAM_WEBHOOK_URL is set")
    secret = settings.telegram_webhook_secret.get_secret_value()
    endpoint = WebhookEndpoint(secret)

    @asynccontextmanager
    async def lifespan(sip: Sip) -> AsyncIterator[None]:
        if sip.resilience is not None:  # shared with other workers when Redis is configured
            endpoint.updates = sip.resilience.updates
        channel = build_channel(sip.deps, updater=False)
        async with webhook(channel, url, secret):
            endpoint.application = channel.application
            try:
                yield
            finally:
                endpoint.application = None

    return Plugin("telegram", router=webhook_router(endpoint), lifespan=lifespan)


@asynccontextmanager
async def _polling_lifespan(sip: Sip) -> AsyncIterator[None]:
    async with polling(build_channel(sip.deps)):
        yield


__all__ = ["SECRET_HEADER", "WEBHOOK_PATH", "WebhookEndpoint", "web_plugin", "webhook_router"]
