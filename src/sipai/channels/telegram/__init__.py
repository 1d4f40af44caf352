"""Sip on Telegram: a python-telegram-bot 22 application around the support service.

    app.py         build_channel(deps) → TelegramChannel; polling(...), webhook(...)
    handlers.py    the customer's commands, questions and buttons (thin: call the service)
    streaming.py   drafts in private chats, throttled edits in groups, the final answer
    formatting.py  Markdown-ish answers → Telegram HTML, split into ≤ 4096-character parts
    delivery.py    HTML with plain-text fallback; optional methods that degrade
    keyboards.py   👍/👎, "talk to a person", sources; "take" for operators
    operators.py   tickets in the admin chat, relay both ways, /cerrar
    customers.py   customer ids: tg:<user> in private, tg:<user>:<chat> per group; names
    errors.py      the one error handler
    webhook.py     POST /telegram/webhook and the `sip serve` plugin
    texts.py       the bot's fixed texts (es/en)
"""

from sipai.channels.telegram.app import (
    TelegramChannel,
    build_channel,
    polling,
    publish_commands,
    webhook,
)
from sipai.channels.telegram.streaming import StreamingPolicy
from sipai.channels.telegram.webhook import WebhookEndpoint, web_plugin, webhook_router

__all__ = [
    "StreamingPolicy",
    "TelegramChannel",
    "WebhookEndpoint",
    "build_channel",
    "polling",
    "publish_commands",
    "web_plugin",
    "webhook",
    "webhook_router",
]
