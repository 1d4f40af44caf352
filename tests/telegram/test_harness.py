"""The Telegram harness end to end: a python-telegram-bot 22 bot against the emulator."""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import AsyncIterator
from http import HTTPStatus
from typing import Any

import pytest
import pytest_asyncio
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Conflict, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

try:  # tests/ as a package (rootdir on sys.path) or pytest's default rootdir-less import
    from tests.telegram.harness import (
        BotMessage,
        TelegramTestClient,
        application_builder,
        running_bot,
        telegram_client,
        telegram_emulator,
    )
except ModuleNotFoundError:
    from harness import (  # type: ignore[no-redef]
        BotMessage,
        TelegramTestClient,
        application_builder,
        running_bot,
        telegram_client,
        telegram_emulator,
    )

pytestmark = pytest.mark.telegram
_FIXTURES = (telegram_client, telegram_emulator)  # imported for pytest, named here for linters

ADMIN_CHAT = -1001234567890
Context = ContextTypes.DEFAULT_TYPE


# --- a minimal echo bot -------------------------------------------------------------------


async def on_start(update: Update, context: Context) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text("¡Hola! Soy Sip, ¿en qué te ayudo?")


async def on_text(update: Update, context: Context) -> None:
    assert update.effective_message is not None and update.effective_message.text is not None
    await update.effective_message.reply_text(f"eco: {update.effective_message.text}")


async def on_menu(update: Update, context: Context) -> None:
    assert update.effective_message is not None
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Sí", callback_data="yes"),
                InlineKeyboardButton("No", callback_data="no"),
            ]
        ]
    )
    await update.effective_message.reply_text("¿Se resolvió?", reply_markup=keyboard)


async def on_button(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    answered = await query.answer("Anotado")
    await query.message.reply_text(f"elegiste {query.data} ({answered})")


async def on_edit(update: Update, context: Context) -> None:
    assert update.effective_message is not None
    draft = await update.effective_message.reply_text("Pensando…")
    edited = await draft.edit_text("Respuesta final")
    await update.effective_message.reply_text(f"edit returned {type(edited).__name__}")


async def on_html(update: Update, context: Context) -> None:
    assert update.effective_message is not None
    raw = " ".join(context.args or [])
    await update.effective_message.reply_text(
        f"<b>{html.escape(raw)}</b>", parse_mode=ParseMode.HTML
    )


async def on_broken_html(update: Update, context: Context) -> None:
    assert update.effective_message is not None
    text = "<b>1 < 2 & 3"
    try:
        await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML)
    except BadRequest as exc:  # the brief's fallback: plain text on "can't parse entities"
        assert "can't parse entities" in exc.message.lower()
        await update.effective_message.reply_text(text)


async def on_typing(update: Update, context: Context) -> None:
    assert update.effective_chat is not None and update.effective_message is not None
    try:
        await context.bot.send_chat_action(update.effective_chat.id, ChatAction.TYPING)
        outcome = "accepted"
    except NetworkError as exc:
        outcome = f"{type(exc).__name__}: {exc.message[:40]}"
    await update.effective_message.reply_text(f"sigo aquí ({outcome})")


async def on_ticket(update: Update, context: Context) -> None:
    assert update.effective_message is not None and update.effective_user is not None
    await context.bot.send_message(ADMIN_CHAT, f"ticket de {update.effective_user.id}")
    await update.effective_message.reply_text("Un humano te contactará.")


def echo_app(client: TelegramTestClient, token: str) -> Application:  # type: ignore[type-arg]
    app = application_builder(client.emulator, token).build()
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("start", on_start))
    app.add_handler(CommandHandler("menu", on_menu))
    app.add_handler(CommandHandler("edit", on_edit))
    app.add_handler(CommandHandler("html", on_html))
    app.add_handler(CommandHandler("broken", on_broken_html))
    app.add_handler(CommandHandler("typing", on_typing))
    app.add_handler(CommandHandler("ticket", on_ticket))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, on_text))
    return app


# --- the loop -------------------------------------------------------------------------------


async def test_get_me_answers_a_bot_with_the_token_id(telegram_client: TelegramTestClient) -> None:
    token = telegram_client.new_token()
    async with Bot(token, base_url=telegram_client.emulator.bot_api_url) as bot:
        me = await bot.get_me()
    assert me.is_bot is True
    assert me.id == int(token.split(":")[0])
    assert me.username == telegram_client.emulator.bot_username


async def test_start_command_and_echo(telegram_client: TelegramTestClient) -> None:
    token = telegram_client.new_token()
    async with running_bot(echo_app(telegram_client, token)) as bot:
        customer = telegram_client.customer(token, user_id=501)
        await customer.send_command("/start")
        [greeting] = await customer.replies()
        assert greeting.text.startswith("¡Hola!")
        assert greeting.chat_id == 501

        sent = await customer.send_text("WireGuard conecta pero no hay internet")
        echo = await customer.wait_for_reply(lambda m: m.text.startswith("eco:"))
        assert echo.text == "eco: WireGuard conecta pero no hay internet"
        assert echo.message_id > sent.message_id
    assert bot.errors == []
    calls = await telegram_client.calls(token, "sendMessage")
    assert [c.params["chat_id"] for c in calls] == [501, 501]


async def test_inline_button_answers_the_callback(telegram_client: TelegramTestClient) -> None:
    token = telegram_client.new_token()
    async with running_bot(echo_app(telegram_client, token)) as bot:
        customer = telegram_client.customer(token)
        await customer.send_command("/menu")
        menu = await customer.wait_for_reply()
        assert [b.callback_data for b in menu.buttons] == ["yes", "no"]
        await customer.press_button("yes", menu)
        confirmation = await customer.wait_for_reply()
        assert confirmation.text == "elegiste yes (True)"
    assert bot.errors == []
    [answer] = await telegram_client.calls(token, "answerCallbackQuery")
    assert answer.params["text"] == "Anotado"


async def test_edit_message_text_in_place(telegram_client: TelegramTestClient) -> None:
    token = telegram_client.new_token()
    async with running_bot(echo_app(telegram_client, token)) as bot:
        customer = telegram_client.customer(token)
        await customer.send_command("/edit")
        report = await customer.wait_for_reply(lambda m: m.text.startswith("edit returned"))
        assert report.text == "edit returned Message"
        [draft] = [m for m in await customer.messages() if m.edit_count]
        assert (draft.text, draft.edit_count) == ("Respuesta final", 1)
        assert draft.message_id < report.message_id
    assert bot.errors == []


async def test_html_parse_mode_is_escaped_and_validated(
    telegram_client: TelegramTestClient,
) -> None:
    token = telegram_client.new_token()
    async with running_bot(echo_app(telegram_client, token)) as bot:
        customer = telegram_client.customer(token)
        await customer.send_command("/html <b>cifrado</b> & rápido")
        reply = await customer.wait_for_reply()
        assert reply.parse_mode == "HTML"
        assert reply.text == "<b>&lt;b&gt;cifrado&lt;/b&gt; &amp; rápido</b>"
        assert reply.plain_text == "<b>cifrado</b> & rápido"
        assert reply.telegram["entities"] == [{"type": "bold", "offset": 0, "length": 23}]

        await customer.send_command("/broken")
        fallback = await customer.wait_for_reply()
        assert (fallback.text, fallback.parse_mode) == ("<b>1 < 2 & 3", None)
    assert bot.errors == []


async def test_missing_send_chat_action_is_survivable(telegram_client: TelegramTestClient) -> None:
    token = telegram_client.new_token()
    async with running_bot(echo_app(telegram_client, token)) as bot:
        customer = telegram_client.customer(token)
        await customer.send_command("/typing")
        reply = await customer.wait_for_reply()
        # HTTP 500 from the emulator: PTB raises the NetworkError base class itself.
        assert reply.text.startswith("sigo aquí (NetworkError: API method 'sendChatAction'")
        await telegram_client.accept_methods(token, "sendChatAction")
        await customer.send_command("/typing")
        assert (await customer.wait_for_reply()).text == "sigo aquí (accepted)"
    assert bot.errors == []


async def test_send_message_draft(telegram_client: TelegramTestClient) -> None:
    token = telegram_client.new_token()
    assert hasattr(Bot, "send_message_draft") and hasattr(Message, "reply_text_draft")
    async with Bot(token, base_url=telegram_client.emulator.bot_api_url) as bot:
        with pytest.raises(NetworkError) as rejected:
            await bot.send_message_draft(chat_id=77, draft_id=1, text="Pensando")
        assert type(rejected.value) is NetworkError
        await telegram_client.accept_methods(token, "sendMessageDraft")
        assert await bot.send_message_draft(77, 1, "<b>Hola</b>", parse_mode=ParseMode.HTML) is True
    calls = await telegram_client.calls(token, "sendMessageDraft")
    assert [c.params for c in calls] == [
        {"chat_id": 77, "draft_id": 1, "text": "Pensando"},
        {"chat_id": 77, "draft_id": 1, "text": "<b>Hola</b>", "parse_mode": "HTML"},
    ]


async def test_group_mention_reply_and_admin_chat(telegram_client: TelegramTestClient) -> None:
    token = telegram_client.new_token()
    app = echo_app(telegram_client, token)

    async def on_group(update: Update, context: Context) -> None:
        message = update.effective_message
        assert message is not None
        to_bot = message.reply_to_message is not None and (
            message.reply_to_message.from_user is not None
            and message.reply_to_message.from_user.id == context.bot.id
        )
        mentioned = f"@{context.bot.username}" in (message.text or "")
        if to_bot or mentioned:
            await message.reply_text(f"grupo: {'reply' if to_bot else 'mention'}")

    app.add_handler(MessageHandler(filters.ChatType.GROUPS & filters.TEXT, on_group))
    async with running_bot(app) as bot:
        member = telegram_client.group_member(token, -4001, user_id=601)
        await member.send_text("hola a todos")
        mention = await member.mention_bot("¿mi VPN va lenta?")
        first = await member.wait_for_reply()
        assert first.text == "grupo: mention"
        assert first.reply_to_message_id == mention.message_id  # PTB quotes in groups
        assert first.telegram["chat"] == {"id": -4001, "type": "group", "title": "VPN group"}
        await member.reply_to_bot(first, "sigue lenta")
        assert (await member.wait_for_reply()).text == "grupo: reply"
        await member.assert_silent(0.3)

        customer = telegram_client.customer(token)
        await customer.send_command("/ticket")
        await customer.wait_for_reply()
        admin = telegram_client.chat(token, ADMIN_CHAT)
        ticket = await admin.wait_for_reply()
        assert ticket.text == f"ticket de {customer.user_id}"
        assert ticket.telegram["chat"]["type"] == "supergroup"
    assert bot.errors == []


async def test_updates_run_concurrently(telegram_client: TelegramTestClient) -> None:
    token = telegram_client.new_token()
    app = application_builder(telegram_client.emulator, token).build()
    second_arrived = asyncio.Event()

    async def on_text(update: Update, context: Context) -> None:
        assert update.effective_message is not None
        if update.effective_message.text == "first":
            await asyncio.wait_for(second_arrived.wait(), timeout=20)  # needs concurrent_updates
        else:
            second_arrived.set()
        await update.effective_message.reply_text(f"done {update.effective_message.text}")

    app.add_handler(MessageHandler(filters.TEXT, on_text))
    async with running_bot(app) as bot:
        one, two = telegram_client.customer(token), telegram_client.customer(token)
        await one.send_text("first")
        await two.send_text("second")
        assert (await one.wait_for_reply()).text == "done first"
        assert (await two.wait_for_reply()).text == "done second"
    assert bot.errors == []


async def test_bot_api_errors_map_to_ptb_exceptions(telegram_client: TelegramTestClient) -> None:
    token = telegram_client.new_token()
    async with Bot(token, base_url=telegram_client.emulator.bot_api_url) as bot:
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(9, "x" * 4097)
        sent = await bot.send_message(9, "x" * 4096)
        assert sent.date.year >= 2024  # seconds, not milliseconds
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await bot.edit_message_text("x" * 4096, chat_id=9, message_id=sent.message_id)
        with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
            await bot.edit_message_text("y", chat_id=9, message_id=sent.message_id + 1000)
        assert await bot.delete_message(9, sent.message_id) is True
        with pytest.raises(BadRequest):
            await bot.delete_message(9, sent.message_id)

        await telegram_client.fail_next(
            token,
            "sendMessage",
            status=429,
            description="Too Many Requests: retry after 3",
            retry_after=3,
        )
        with pytest.raises(RetryAfter, match=r"Retry in (3 seconds|0:00:03)"):
            await bot.send_message(9, "hola")
        assert (await bot.send_message(9, "hola")).text == "hola"

        assert await bot.set_my_commands([("start", "Empezar"), ("ayuda", "Ayuda")]) is True
        assert [c.command for c in await bot.get_my_commands()] == ["start", "ayuda"]


async def test_a_second_poller_gets_conflict(telegram_client: TelegramTestClient) -> None:
    token = telegram_client.new_token()
    url = telegram_client.emulator.bot_api_url
    async with Bot(token, base_url=url) as first, Bot(token, base_url=url) as second:
        long_poll = asyncio.create_task(first.get_updates(timeout=10))
        while not await telegram_client.calls(token, "getUpdates"):
            await asyncio.sleep(0.02)
        assert await second.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates"):
            await long_poll


# --- webhooks -----------------------------------------------------------------------------


class WebhookReceiver:
    """A tiny HTTP server that records the emulator's webhook POSTs and answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: asyncio.Queue[tuple[dict[str, str], dict[str, Any]]] = asyncio.Queue()
        self.url = ""

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        await self.requests.put((headers, json.loads(body)))
        status = f"{self.status} {HTTPStatus(self.status).phrase}"
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        writer.close()

    async def __aenter__(self) -> WebhookReceiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/telegram/webhook"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._server.close()
        await self._server.wait_closed()


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver() as server:
        yield server


async def test_webhook_delivery_with_secret(
    telegram_client: TelegramTestClient, receiver: WebhookReceiver
) -> None:
    token = telegram_client.new_token()
    async with Bot(token, base_url=telegram_client.emulator.bot_api_url) as bot:
        assert await bot.set_webhook(receiver.url, secret_token="s3cret-token") is True
        customer = telegram_client.customer(token, user_id=701)
        sent = await customer.send_text("hola por webhook")
        headers, body = await asyncio.wait_for(receiver.requests.get(), timeout=15)
        assert headers["x-telegram-bot-api-secret-token"] == "s3cret-token"
        update = Update.de_json(body, bot)
        assert update.update_id == sent.update_id
        assert update.message is not None and update.message.text == "hola por webhook"
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates(timeout=0)

        receiver.status = 403  # the bot rejects the secret: the emulator keeps the update pending
        await customer.send_text("rechazado")
        for _ in range(3):
            await asyncio.wait_for(receiver.requests.get(), timeout=15)
        info = await bot.get_webhook_info()
        while info.last_error_message is None:
            await asyncio.sleep(0.05)
            info = await bot.get_webhook_info()
        assert info.url == receiver.url
        assert info.last_error_message == "Wrong response from the webhook: 403 Forbidden"
        assert info.pending_update_count == 1

        assert await bot.delete_webhook() is True
        [pending] = await bot.get_updates(timeout=0)
        assert pending.message is not None and pending.message.text == "rechazado"


async def test_customer_helpers_reject_missing_buttons(telegram_client: TelegramTestClient) -> None:
    token = telegram_client.new_token()
    async with Bot(token, base_url=telegram_client.emulator.bot_api_url) as bot:
        await bot.send_message(31, "sin botones")
    customer = telegram_client.customer(token, user_id=31)
    [message] = await customer.replies()
    assert isinstance(message, BotMessage) and message.buttons == []
    with pytest.raises(ValueError, match="no button"):
        await customer.press_button("yes", message)
