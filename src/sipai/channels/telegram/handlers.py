"""The customer's side of the bot: thin handlers that call the support service.

    /start /ayuda /help      greeting in the customer's language, what Sip can do
    any text                 Sip's answer, streamed (private chats; groups when mentioned
                             or replied to), with 👍/👎, "talk to a person" and sources
    /nuevo /new              a new conversation
    /humano /human           a ticket for a person (also the "talk to a person" button)
    /fin /end                end the conversation (and close an open ticket)

Each handler talks for the customer id of the chat it runs in
(:func:`~sipai.channels.telegram.customers.customer_for`): a person's private chat and each
group they use are separate conversations, tickets and ratings, so nothing said in private
is in the model's context (or the answer) in a group. While an operator has the customer's
ticket, their messages go to the operator instead
(:class:`~sipai.channels.telegram.operators.OperatorDesk`). Domain errors the customer can
fix (empty or too long text) get their fixed explanation here; anything else goes to the
error handler.
"""

from __future__ import annotations

import logging
import time

from telegram import Bot, Chat, Message, Update, User
from telegram.constants import ChatType, MessageEntityType
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from sipai.channels.telegram.customers import customer_for, on_behalf_of
from sipai.channels.telegram.delivery import Capabilities, send_plain
from sipai.channels.telegram.keyboards import (
    FeedbackPress,
    HumanPress,
    answer_keyboard,
    parse_callback,
    sources_line,
    without_feedback,
)
from sipai.channels.telegram.operators import OperatorDesk
from sipai.channels.telegram.streaming import LiveAnswer, StreamingPolicy
from sipai.channels.telegram.texts import language_of, say
from sipai.errors import NotFound
from sipai.llm.types import TextDelta
from sipai.support import conversations
from sipai.support.hygiene import InputProblem
from sipai.support.reply import Reply
from sipai.support.service import SupportDeps, stream
from sipai.support.texts import text as service_text

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
SERVICE_NAME = "uSipipo"


def addressed_to_bot(message: Message, bot: Bot) -> bool:
    """In a group: the message mentions the bot or replies to one of its messages."""
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot.id:
        return True
    mention = f"@{bot.username}".lower()
    return any(text.lower() == mention for text in
               message.parse_entities([MessageEntityType.MENTION]).values())


def without_mention(text: str, bot: Bot) -> str:
    """The text with the bot's @username taken out."""
    mention = f"@{bot.username}"
    return " ".join(text.replace(mention, " ").split()) if bot.username else text


class CustomerChat:
    """Handlers for customers; holds the service deps and the channel's shared state."""

    def __init__(self, deps: SupportDeps, desk: OperatorDesk, *,
                 capabilities: Capabilities | None = None,
                 policy: StreamingPolicy | None = None) -> None:
        self.deps = deps
        self.desk = desk
        self.capabilities = capabilities or Capabilities()
        self.policy = policy or StreamingPolicy()
        self.default_language = deps.settings.sip_language

    def language(self, user: User | None) -> str:
        """The customer's language for fixed texts (their Telegram language, else Sip's)."""
        return language_of(user.language_code if user else None, self.default_language)

    # --- commands ----------------------------------------------------------------------------

    async def start(self, update: Update, context: Context) -> None:
        """Greet the customer and say what Sip can do."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None:
            return
        name = user.first_name if user else ""
        await send_plain(context.bot, chat.id, say("start", self.language(user), name=name,
                                                   service=SERVICE_NAME))

    async def new(self, update: Update, context: Context) -> None:
        """Start a fresh conversation (in this chat only: a group's is not the private one)."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None:
            return
        language = self.language(user)
        await conversations.new_conversation(self.deps, customer_for(user, chat),
                                             channel="telegram", language=language)
        await send_plain(context.bot, chat.id, service_text("new_conversation", language))

    async def human(self, update: Update, context: Context) -> None:
        """Open a ticket for a person (or point at the one already open)."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None:
            return
        await self._escalate(context.bot, chat, user)

    async def end(self, update: Update, context: Context) -> None:
        """End this chat's conversation; its open ticket is closed and the operators told."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None:
            return
        user_id = customer_for(user, chat)
        closed = await self.desk.customer_ended(user_id)
        ended = await conversations.end_conversation(self.deps, user_id) or closed
        language = self.language(user)
        await send_plain(context.bot, chat.id,
                         service_text("ended", language) if ended else say("not_ended", language))

    async def unknown_command(self, update: Update, context: Context) -> None:
        """A command Sip does not have (private chats only)."""
        chat = update.effective_chat
        if chat is not None:
            await send_plain(context.bot, chat.id,
                             say("unknown_command", self.language(update.effective_user)))

    async def not_text(self, update: Update, context: Context) -> None:
        """Photos, stickers, voice notes… in a private chat."""
        chat = update.effective_chat
        if chat is not None:
            await send_plain(context.bot, chat.id,
                             say("text_only", self.language(update.effective_user)))

    # --- questions ---------------------------------------------------------------------------

    async def text(self, update: Update, context: Context) -> None:
        """A customer's message: to the operator while one has the ticket, else to Sip."""
        message, chat, user = update.effective_message, update.effective_chat, \
            update.effective_user
        if message is None or chat is None or user is None or not message.text:
            return
        private = chat.type == ChatType.PRIVATE
        if not private and not addressed_to_bot(message, context.bot):
            return
        text = message.text if private else without_mention(message.text, context.bot)
        user_id = customer_for(user, chat)
        if text.strip() and await self.desk.forward_if_taken(user_id, text, chat.id, user=user):
            return
        await self.answer(context.bot, chat, user, text,
                          quote=None if private else message.message_id,
                          update_id=update.update_id)

    async def answer(self, bot: Bot, chat: Chat, user: User, text: str, *,
                     quote: int | None = None, update_id: int | None = None) -> Reply | None:
        """Stream Sip's answer to `text` into `chat`; None when the text was rejected.

        The turn belongs to `user` in `chat` (their group conversation in a group); a ticket
        the service opens meanwhile is posted to operators with `user`'s name.
        """
        started = time.perf_counter()
        user_id = customer_for(user, chat)
        reply: Reply | None = None
        live = LiveAnswer(bot, chat.id, private=chat.type == ChatType.PRIVATE,
                          capabilities=self.capabilities, policy=self.policy, quote=quote)
        async with live:
            try:
                with on_behalf_of(user):
                    async for event in stream(self.deps, user_id, text, channel="telegram"):
                        if isinstance(event, TextDelta):
                            live.push(event.text)
                        else:
                            reply = event
            except InputProblem as problem:
                await live.finish(problem.for_user(self.language(user)))
                return None
            assert reply is not None  # the service always ends with a Reply
            markdown = reply.answer
            extra = sources_line(reply.sources, reply.language)
            if extra:
                markdown = f"{markdown}\n\n{extra}"
            sent = await live.finish(markdown, answer_keyboard(reply, reply.language))
        if reply.ticket_id is not None and chat.type != ChatType.PRIVATE:
            await self._remember_chat(reply.ticket_id, chat.id)
        log.info("tg.answered", extra={
            "update_id": update_id, "chat_id": chat.id, "user_id": user_id,
            "route": reply.route, "chars": len(reply.answer), "parts": len(sent),
            "drafts": live.drafts, "edits": live.edits, "ticket_id": reply.ticket_id,
            "latency_ms": int((time.perf_counter() - started) * 1000)})
        return reply

    # --- buttons -----------------------------------------------------------------------------

    async def button(self, update: Update, context: Context) -> None:
        """👍 / 👎 and "talk to a person" under an answer (for the chat the answer is in)."""
        query = update.callback_query
        if query is None:
            return
        press = parse_callback(query.data)
        user = query.from_user
        language = self.language(user)
        message = query.message if isinstance(query.message, Message) else None
        if isinstance(press, FeedbackPress):
            # The pressed message's chat: a rating in a group is for the group's answer.
            chat = query.message.chat if query.message is not None else None
            try:
                await conversations.feedback(self.deps, customer_for(user, chat), press.rating,
                                             message_id=press.message_id)
            except NotFound:
                await query.answer(say("not_yours", language))
                return
            await query.answer(say("thanks", language))
            if message is not None:
                try:
                    await message.edit_reply_markup(without_feedback(message.reply_markup))
                except TelegramError as error:  # cosmetic: the rating is stored
                    log.info("tg.keyboard_edit_failed", extra={"error": type(error).__name__})
        elif isinstance(press, HumanPress) and message is not None:
            await query.answer()
            await self._escalate(context.bot, message.chat, user)
        else:
            await query.answer()

    # --- helpers -----------------------------------------------------------------------------

    async def _escalate(self, bot: Bot, chat: Chat, user: User) -> None:
        language = self.language(user)
        with on_behalf_of(user):
            ticket, created = await conversations.escalate(
                self.deps, customer_for(user, chat), "requested", channel="telegram",
                chat_id=chat.id, language=language)
        key = "ticket_opened" if created else "ticket_exists"
        await send_plain(bot, chat.id, service_text(key, language, ticket=ticket.id))

    async def _remember_chat(self, ticket_id: int, chat_id: int) -> None:
        """A ticket opened by the service from a group: relay the operator's answers there."""
        async with self.deps.uow() as uow:
            ticket = await uow.tickets.get(ticket_id)
            if ticket is not None and ticket.chat_id is None:
                ticket.chat_id = chat_id
                await uow.tickets.update(ticket)
                await uow.commit()


__all__ = ["SERVICE_NAME", "CustomerChat", "addressed_to_bot", "without_mention"]
