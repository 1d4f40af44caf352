"""`sip bot`: Sip's Telegram bot by long polling, until Ctrl-C or SIGTERM.

    TELEGRAM_BOT_TOKEN=123:ABC… SIP_ADMIN_CHAT_ID=-100… sip bot

Polling allows one consumer per token: run one `sip bot` per bot, or use webhooks through
`sip serve` to scale out. Logs are JSON lines on stderr at `SIP_LOG_LEVEL` (INFO by
default): ids, counts and latencies only; the token is never printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from rich.console import Console

from sipai.bootstrap import running_sip
from sipai.channels.telegram import build_channel, polling
from sipai.cli.main import app, run, settings_for_cli
from sipai.config import Settings
from sipai.errors import ConfigError
from sipai.logs import configure_logging

log = logging.getLogger(__name__)
err = Console(stderr=True)


@app.command()
def bot() -> None:
    """Run the Telegram bot by long polling (one process per bot token)."""
    settings = settings_for_cli()
    configure_logging(settings.sip_log_level, settings.secrets())
    if settings.telegram_bot_token is None:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set (get one from @BotFather)")
    run(serve_bot(settings))


async def serve_bot(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Build Sip and the bot, poll until `stop` is set (or a signal arrives), then close all."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    async with running_sip(settings) as sip, polling(build_channel(sip.deps)) as channel:
        bot = channel.application.bot
        mode = "model" if sip.deps.router is not None else "offline brain"
        err.print(f"Sip is answering as @{bot.username} ({mode}); Ctrl-C to stop.",
                  highlight=False, markup=False)
        await stop.wait()
    log.info("tg.stopped", extra={"bot_id": bot.id})


__all__ = ["bot", "serve_bot"]
