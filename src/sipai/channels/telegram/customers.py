"""Who a Telegram customer is to Sip: one id per private chat, one per (person, group).

    private chat with the bot          tg:<user_id>             e.g. tg:6101
    the same person in a group         tg:<user_id>:<chat_id>   e.g. tg:6101:-1001234567890

Sip keeps one conversation, one ticket and one feedback history per id, so what a customer
told Sip in private (their name, plan, email, troubleshooting) is never in the model's
context when they ask in a group, where the answer is read by everyone. A group id holds
the group's chat id, so a ticket opened there is answered there.

Names never reach storage or logs. Operators see them in the admin chat only: a handler
that has the customer's :class:`~telegram.User` runs the service inside
:func:`on_behalf_of`, and the desk, told of a new ticket in the same task, reads it back
with :func:`current_customer` (a ticket the service opens after repeated failures is
announced from deep inside the turn, where no Telegram object is passed).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from telegram import Chat, User
from telegram.constants import ChatType

CUSTOMER_PREFIX = "tg:"
_CUSTOMER = re.compile(r"tg:(-?\d{1,20})(?::(-?\d{1,20}))?")

_asking: ContextVar[User | None] = ContextVar("sip_telegram_customer", default=None)


def customer_id(telegram_user_id: int, chat_id: int | None = None) -> str:
    """Sip's user id for a Telegram user: ``tg:<user>``, or ``tg:<user>:<chat>`` in a group.

    `chat_id` is the group's id; None, or the user's own id (a private chat's id is the
    user's), gives the private form. Operators are named by the private form.
    """
    if chat_id is None or chat_id == telegram_user_id:
        return f"{CUSTOMER_PREFIX}{telegram_user_id}"
    return f"{CUSTOMER_PREFIX}{telegram_user_id}:{chat_id}"


def customer_for(user: User, chat: Chat | None) -> str:
    """The id of `user` writing in `chat`: private chats share one, each group has its own."""
    if chat is None or chat.type == ChatType.PRIVATE:
        return customer_id(user.id)
    return customer_id(user.id, chat.id)


def _parts(customer: str) -> tuple[int, int | None] | None:
    match = _CUSTOMER.fullmatch(customer)
    if match is None:
        return None
    group = match.group(2)
    return int(match.group(1)), int(group) if group is not None else None


def telegram_user_id(customer: str) -> int | None:
    """The Telegram user id inside ``tg:<id>`` or ``tg:<id>:<chat>``; None for other channels."""
    parts = _parts(customer)
    return parts[0] if parts is not None else None


def telegram_chat_id(customer: str) -> int | None:
    """The chat a customer id talks in: the group's id, else the user's private chat."""
    parts = _parts(customer)
    if parts is None:
        return None
    user, group = parts
    return group if group is not None else user


def in_group(customer: str) -> bool:
    """Whether the id is a (person, group) conversation rather than a private chat."""
    parts = _parts(customer)
    return parts is not None and parts[1] is not None


@contextmanager
def on_behalf_of(user: User) -> Iterator[None]:
    """While the block runs, a ticket opened for `user` is posted to operators with their name."""
    token = _asking.set(user)
    try:
        yield
    finally:
        _asking.reset(token)


def current_customer() -> User | None:
    """The Telegram user the running handler acts for (see :func:`on_behalf_of`), if any."""
    return _asking.get()


def customer_label(customer: str, user: User | None) -> str:
    """The customer as operators read them (HTML): ``Ana (@ana, tg:6101)``, else just the id.

    The name is shown only when `user` is the person behind `customer`.
    """
    code = f"<code>{html.escape(customer)}</code>"
    if user is None or telegram_user_id(customer) != user.id:
        return code
    handle = f"@{html.escape(user.username)}, " if user.username else ""
    return f"{html.escape(user.full_name)} ({handle}{code})"


__all__ = ["CUSTOMER_PREFIX", "current_customer", "customer_for", "customer_id",
           "customer_label", "in_group", "on_behalf_of", "telegram_chat_id",
           "telegram_user_id"]
