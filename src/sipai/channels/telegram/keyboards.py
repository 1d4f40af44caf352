"""Inline keyboards under Sip's answers and tickets, and the callback data they carry.

Under an answer: 👍 / 👎 (feedback on that stored answer), "Hablar con una persona" and one
URL button per source that has a link. Under a ticket in the admin chat: "Tomar". Callback
data stays well under Telegram's 64 bytes:

    fb:1:<answer id>   fb:-1:<answer id>   human   take:<ticket id>
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from sipai.channels.telegram.texts import say
from sipai.support.reply import Reply, Source

#: Routes whose answers can be rated (fixed texts such as "ticket opened" cannot).
RATED_ROUTES = frozenset({"primary", "fallback", "cache", "offline"})
MAX_SOURCE_BUTTONS = 3
MAX_BUTTON_TEXT = 60

_FEEDBACK = re.compile(r"^fb:(-?1):([0-9a-f]{1,40})$")
_TAKE = re.compile(r"^take:(\d{1,12})$")
HUMAN = "human"
TAKE_PATTERN = _TAKE.pattern


@dataclass(frozen=True, slots=True)
class FeedbackPress:
    """👍 (+1) or 👎 (-1) pressed on the stored answer `message_id`."""

    rating: int
    message_id: str


@dataclass(frozen=True, slots=True)
class HumanPress:
    """"Talk to a person" pressed."""


@dataclass(frozen=True, slots=True)
class TakePress:
    """An operator pressed "take" on ticket `ticket_id`."""

    ticket_id: int


Press = FeedbackPress | HumanPress | TakePress


def parse_callback(data: str | None) -> Press | None:
    """What a button's callback data means, or None for data Sip never sends."""
    if not data:
        return None
    if data == HUMAN:
        return HumanPress()
    feedback = _FEEDBACK.match(data)
    if feedback:
        return FeedbackPress(int(feedback.group(1)), feedback.group(2))
    take = _TAKE.match(data)
    if take:
        return TakePress(int(take.group(1)))
    return None


def _label(text: str) -> str:
    return text if len(text) <= MAX_BUTTON_TEXT else text[: MAX_BUTTON_TEXT - 1] + "…"


def answer_keyboard(reply: Reply, language: str) -> InlineKeyboardMarkup | None:
    """The buttons under an answer: feedback, a person, and the sources that have a link."""
    rows: list[list[InlineKeyboardButton]] = []
    if reply.route in RATED_ROUTES and reply.message_id:
        rows.append([InlineKeyboardButton("👍", callback_data=f"fb:1:{reply.message_id}"),
                     InlineKeyboardButton("👎", callback_data=f"fb:-1:{reply.message_id}")])
    if not reply.escalated and reply.route != "escalation":
        rows.append([InlineKeyboardButton(say("talk_to_person", language),
                                          callback_data=HUMAN)])
    for source in linked_sources(reply.sources):
        rows.append([InlineKeyboardButton(f"📄 {_label(source.title)}", url=source.url)])
    return InlineKeyboardMarkup(rows) if rows else None


def without_feedback(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """The same keyboard with the 👍/👎 row removed (once the customer has rated)."""
    if markup is None:
        return None
    rows = [list(row) for row in markup.inline_keyboard
            if not any((b.callback_data or "").startswith("fb:") for b in row
                       if isinstance(b.callback_data, str | None))]
    return InlineKeyboardMarkup(rows) if rows else None


def linked_sources(sources: tuple[Source, ...]) -> list[Source]:
    """Sources with a URL, at most :data:`MAX_SOURCE_BUTTONS` of them."""
    return [s for s in sources if s.url][:MAX_SOURCE_BUTTONS]


def sources_line(sources: tuple[Source, ...], language: str) -> str:
    """A closing line naming the sources that have no link (they get no button)."""
    titles = [s.title for s in sources if not s.url][:MAX_SOURCE_BUTTONS]
    if not titles:
        return ""
    return f"📚 {say('sources', language)}: " + " · ".join(titles)


def ticket_keyboard(ticket_id: int, language: str) -> InlineKeyboardMarkup:
    """The "take" button under a ticket announced in the admin chat."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(say("take", language), callback_data=f"take:{ticket_id}")]])


__all__ = [
    "HUMAN", "RATED_ROUTES", "TAKE_PATTERN", "FeedbackPress", "HumanPress", "Press",
    "TakePress", "answer_keyboard", "linked_sources", "parse_callback", "sources_line",
    "ticket_keyboard", "without_feedback",
]
