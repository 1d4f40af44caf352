"""The human handoff on Telegram: tickets in the operators' admin chat, replies relayed both ways.

    customer: /humano ──> ticket stored ──> 🎫 posted to SIP_ADMIN_CHAT_ID with "Tomar"
    operator: presses "Tomar", or replies to the 🎫 message ──> relayed to the customer
    customer: next messages ──> 💬 posted to the admin chat (quoting the 🎫) instead of Sip
    operator: /cerrar (replying to a 🎫/💬, or /cerrar N) ──> ticket closed, Sip resumes

Only members of the admin chat can act: every operator action is accepted only when it comes
from that chat (a button under a message there, a message or command sent there), and
Telegram delivers those only from the chat's members. A reply identifies its ticket by the
🎫 message id stored on the ticket, or by the `#N` tag the bot writes at the start of every
message it posts there, so it works across restarts and workers. Operators' replies are
stored in the conversation as answers with mode "human".

A ticket belongs to one customer id (:mod:`~sipai.channels.telegram.customers`): a ticket
opened in a group is the (person, group)'s, is answered in that group, and is never mixed
with the person's private conversation. Posts name the customer (``Ana (@ana, tg:6101)``)
when the handler that opened the ticket knew who they are; names go to the admin chat only.
"""

from __future__ import annotations

import contextlib
import html
import logging
import re

from telegram import Bot, Message, Update, User
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from sipai.channels.telegram.customers import (
    CUSTOMER_PREFIX,
    current_customer,
    customer_id,
    customer_label,
    in_group,
    telegram_chat_id,
    telegram_user_id,
)
from sipai.channels.telegram.delivery import send_html, send_plain
from sipai.channels.telegram.keyboards import TakePress, parse_callback, ticket_keyboard
from sipai.channels.telegram.texts import language_of, say
from sipai.storage.unit_of_work import UnitOfWork
from sipai.support.domain import Message as StoredMessage
from sipai.support.domain import Ticket
from sipai.support.service import SupportDeps

log = logging.getLogger(__name__)

_TAG = re.compile(r"#(\d{1,12})\b")
_SUMMARY_CHARS = 2500


def display_name(user: User | None) -> str:
    """How an operator is named in the admin chat: @username, else their name."""
    if user is None:
        return "?"
    return f"@{user.username}" if user.username else user.full_name


class OperatorDesk:
    """Tickets on Telegram: announced to the admin chat, taken, answered, closed."""

    def __init__(self, deps: SupportDeps, bot: Bot, admin_chat_id: int | None) -> None:
        self.deps = deps
        self.bot = bot
        self.admin_chat_id = admin_chat_id
        self.language = deps.settings.sip_language

    def is_admin_chat(self, chat_id: int | None) -> bool:
        """Whether `chat_id` is the operators' chat (the only place tickets are acted on)."""
        return self.admin_chat_id is not None and chat_id == self.admin_chat_id

    # --- tickets into the admin chat ------------------------------------------------------

    async def announce(self, ticket: Ticket, language: str) -> None:
        """Post a new ticket to the admin chat with its summary and "take"; store the post's id.

        The customer is named when the handler that opened it runs
        :func:`~sipai.channels.telegram.customers.on_behalf_of` them.
        """
        if self.admin_chat_id is None or ticket.id is None:
            return
        summary = ticket.summary.strip()[-_SUMMARY_CHARS:] or say("admin_no_summary",
                                                                   self.language)
        channel = html.escape(ticket.channel)
        if in_group(ticket.user_id):
            channel += say("admin_in_group", self.language)
        body = say("admin_ticket", self.language, ticket=ticket.id, channel=channel,
                   user=customer_label(ticket.user_id, current_customer()),
                   reason=html.escape(ticket.reason), summary=html.escape(summary))
        posted = await send_html(self.bot, self.admin_chat_id, body,
                                 reply_markup=ticket_keyboard(ticket.id, self.language))
        async with self.deps.uow() as uow:
            stored = await uow.tickets.get(ticket.id)
            if stored is not None:
                stored.admin_message_id = posted.message_id
                await uow.tickets.update(stored)
                await uow.commit()
        log.info("tg.ticket_posted", extra={"ticket_id": ticket.id,
                                            "admin_message_id": posted.message_id})

    # --- operators' actions -----------------------------------------------------------------

    async def on_take(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The "take" button: assign the ticket to the operator who pressed it."""
        query = update.callback_query
        if query is None:
            return
        press = parse_callback(query.data)
        message = query.message if isinstance(query.message, Message) else None
        if not isinstance(press, TakePress) or message is None or \
                not self.is_admin_chat(message.chat.id):
            await query.answer(say("operators_only", self.language), show_alert=True)
            return
        operator = query.from_user
        refusal: str | None = None
        async with self.deps.uow() as uow:
            ticket = await uow.tickets.get(press.ticket_id)
            if ticket is None or not ticket.is_active:
                refusal = say("admin_ticket_closed", self.language, ticket=press.ticket_id)
            elif ticket.status == "taken" and ticket.operator != customer_id(operator.id):
                refusal = say("admin_already_taken", self.language)
            else:
                ticket.take(customer_id(operator.id))
                await uow.tickets.update(ticket)
                await uow.commit()
        if refusal is not None or ticket is None:
            await query.answer(refusal)
            return
        await query.answer(say("admin_taken_toast", self.language, ticket=ticket.id))
        await self._stamp(message, say("admin_taken", self.language,
                                       operator=html.escape(display_name(operator))))
        await self._tell_customer(ticket, "operator_took")
        log.info("tg.ticket_taken", extra={"ticket_id": ticket.id, "operator_id": operator.id})

    async def on_admin_message(self, update: Update,
                               context: ContextTypes.DEFAULT_TYPE) -> None:
        """An operator's reply to a ticket's message: relay it to the customer."""
        message = update.effective_message
        if message is None or not self.is_admin_chat(message.chat.id) or not message.text:
            return
        if message.text.startswith("/"):
            return  # a mistyped command is never relayed to a customer
        ticket = await self._ticket_replied_to(message, context.bot.id)
        if ticket is None:
            return  # operators chatting among themselves
        if not ticket.is_active:
            await send_plain(self.bot, message.chat.id,
                             say("admin_ticket_closed", self.language, ticket=ticket.id),
                             quote=message.message_id)
            return
        operator = message.from_user
        chat_id = self.customer_chat(ticket)
        if chat_id is None:
            await send_plain(self.bot, message.chat.id,
                             say("admin_not_telegram", self.language, ticket=ticket.id),
                             quote=message.message_id)
            return
        first_reply = ticket.status == "open"
        language = await self._customer_language(ticket)
        try:
            if first_reply:
                await send_plain(self.bot, chat_id,
                                 say("operator_took", language, ticket=ticket.id))
            await send_plain(self.bot, chat_id,
                             say("operator_says", language, text=message.text))
        except TelegramError as error:
            log.warning("tg.relay_failed", extra={"ticket_id": ticket.id,
                                                  "error": type(error).__name__})
            await send_plain(self.bot, message.chat.id,
                             say("admin_undelivered", self.language, ticket=ticket.id),
                             quote=message.message_id)
            return
        async with self.deps.uow() as uow:
            current = (await uow.tickets.get(ticket.id) if ticket.id is not None else None) \
                or ticket
            if current.status == "open":
                current.take(customer_id(operator.id) if operator else "operator")
                await uow.tickets.update(current)
            conversation_id = await self._conversation_for(uow, current)
            if conversation_id is not None:
                await uow.messages.add(StoredMessage.from_assistant(
                    conversation_id, current.user_id, message.text, mode="human"))
            await uow.commit()
        log.info("tg.operator_reply", extra={"ticket_id": ticket.id, "chars": len(message.text),
                                             "operator_id": operator.id if operator else None})

    async def on_close(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/cerrar` in the admin chat (replying to a ticket's message, or `/cerrar N`)."""
        message = update.effective_message
        if message is None:
            return
        if not self.is_admin_chat(message.chat.id):
            user = message.from_user
            language = language_of(user.language_code if user else None, self.language)
            await send_plain(self.bot, message.chat.id, say("operators_only", language))
            return
        ticket: Ticket | None = None
        if context.args and context.args[0].lstrip("#").isdigit():
            async with self.deps.uow() as uow:
                ticket = await uow.tickets.get(int(context.args[0].lstrip("#")))
        else:
            ticket = await self._ticket_replied_to(message, context.bot.id)
        if ticket is None:
            await send_plain(self.bot, message.chat.id, say("admin_unknown_ticket", self.language),
                             quote=message.message_id)
            return
        if not ticket.is_active:
            await send_plain(self.bot, message.chat.id,
                             say("admin_ticket_closed", self.language, ticket=ticket.id),
                             quote=message.message_id)
            return
        await self.close(ticket)
        await send_plain(self.bot, message.chat.id,
                         say("admin_closed_ok", self.language, ticket=ticket.id,
                             operator=display_name(message.from_user)),
                         quote=message.message_id)
        await self._drop_buttons(ticket.admin_message_id)
        await self._tell_customer(ticket, "ticket_closed")
        log.info("tg.ticket_closed", extra={"ticket_id": ticket.id, "by": "operator"})

    # --- the customer's side ----------------------------------------------------------------

    async def forward_if_taken(self, user_id: str, text: str, chat_id: int, *,
                               user: User | None = None) -> bool:
        """While an operator has the customer's ticket, post the message to them instead of Sip.

        `user_id` is the customer id of the chat written in (a group's own id in a group);
        `user`, when given, names the customer in the admin chat.
        """
        if self.admin_chat_id is None:
            return False
        async with self.deps.uow() as uow:
            ticket = await uow.tickets.active_for_user(user_id)
            if ticket is None or ticket.status != "taken":
                return False
            conversation_id = await self._conversation_for(uow, ticket)
            if conversation_id is not None:
                stored = StoredMessage.from_user(conversation_id, user_id, text)
                stored.status = "answered"  # a person answers it, not the model
                await uow.messages.add(stored)
            if ticket.chat_id is None:
                ticket.chat_id = chat_id
                await uow.tickets.update(ticket)
            await uow.commit()
        body = say("admin_customer_says", self.language, ticket=ticket.id,
                   user=customer_label(user_id, user), text=html.escape(text))
        await send_html(self.bot, self.admin_chat_id, body, quote=ticket.admin_message_id)
        log.info("tg.customer_forwarded", extra={"ticket_id": ticket.id, "chars": len(text)})
        return True

    async def customer_ended(self, user_id: str) -> bool:
        """The customer ended the conversation: close their active ticket, tell operators.

        Returns whether there was a ticket to close.
        """
        async with self.deps.uow() as uow:
            ticket = await uow.tickets.active_for_user(user_id)
        if ticket is None:
            return False
        await self.close(ticket)
        if self.admin_chat_id is not None:
            await send_plain(self.bot, self.admin_chat_id,
                             say("admin_customer_ended", self.language, ticket=ticket.id),
                             quote=ticket.admin_message_id)
        log.info("tg.ticket_closed", extra={"ticket_id": ticket.id, "by": "customer"})
        return True

    async def close(self, ticket: Ticket) -> None:
        """Close the ticket in storage."""
        async with self.deps.uow() as uow:
            current = await uow.tickets.get(ticket.id) if ticket.id is not None else None
            if current is not None:
                current.close()
                await uow.tickets.update(current)
                await uow.commit()
        ticket.close()

    def customer_chat(self, ticket: Ticket) -> int | None:
        """Where the customer of a ticket reads Sip: the ticket's chat, else the chat its id names.

        A ticket of a (person, group) id falls back to that group, never to the person's
        private chat; a private id to the private chat.
        """
        if ticket.channel != "telegram" and telegram_user_id(ticket.user_id) is None:
            return None
        return ticket.chat_id if ticket.chat_id is not None else telegram_chat_id(ticket.user_id)

    # --- helpers ----------------------------------------------------------------------------

    async def _ticket_replied_to(self, message: Message, bot_id: int) -> Ticket | None:
        replied = message.reply_to_message
        if replied is None or replied.from_user is None or replied.from_user.id != bot_id:
            return None
        async with self.deps.uow() as uow:
            ticket = await uow.tickets.by_admin_message(replied.message_id)
            if ticket is None and replied.text:
                tag = _TAG.search(replied.text.split("\n", 1)[0])
                if tag:
                    ticket = await uow.tickets.get(int(tag.group(1)))
        return ticket

    async def _customer_language(self, ticket: Ticket) -> str:
        if ticket.conversation_id is None:
            return self.language
        async with self.deps.uow() as uow:
            conversation = await uow.conversations.get(ticket.conversation_id)
        return conversation.language if conversation else self.language

    @staticmethod
    async def _conversation_for(uow: UnitOfWork, ticket: Ticket) -> str | None:
        active = await uow.conversations.active_for(ticket.user_id)
        return active.id if active is not None else ticket.conversation_id

    async def _tell_customer(self, ticket: Ticket, key: str) -> None:
        chat_id = self.customer_chat(ticket)
        if chat_id is None:
            return
        language = await self._customer_language(ticket)
        try:
            await send_plain(self.bot, chat_id, say(key, language, ticket=ticket.id))
        except TelegramError as error:
            log.warning("tg.customer_notice_failed", extra={"ticket_id": ticket.id,
                                                            "error": type(error).__name__})

    async def _stamp(self, message: Message, line: str) -> None:
        """Append a status line to a ticket's post and drop its buttons."""
        try:
            await message.edit_text(f"{message.text_html}\n\n{line}", parse_mode=ParseMode.HTML,
                                    reply_markup=None)
        except TelegramError as error:
            log.info("tg.ticket_stamp_failed", extra={"message_id": message.message_id,
                                                      "error": type(error).__name__})

    async def _drop_buttons(self, message_id: int | None) -> None:
        """Remove "take" from a ticket's post (a no-op when it was already taken)."""
        if self.admin_chat_id is None or message_id is None:
            return
        with contextlib.suppress(TelegramError):
            await self.bot.edit_message_reply_markup(self.admin_chat_id, message_id,
                                                     reply_markup=None)


__all__ = ["CUSTOMER_PREFIX", "OperatorDesk", "customer_id", "display_name", "telegram_chat_id",
           "telegram_user_id"]
