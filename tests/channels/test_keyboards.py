"""Keyboards, callback data, fixed texts and the small pieces of the Telegram channel."""

from __future__ import annotations

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

import sipai.channels.telegram
from sipai.channels.telegram.app import file_url
from sipai.channels.telegram.delivery import Capabilities
from sipai.channels.telegram.keyboards import (
    FeedbackPress,
    HumanPress,
    TakePress,
    answer_keyboard,
    parse_callback,
    sources_line,
    ticket_keyboard,
    without_feedback,
)
from sipai.channels.telegram.operators import customer_id, telegram_user_id
from sipai.channels.telegram.texts import TEXTS, language_of, say
from sipai.support.reply import Reply, Source

ANSWER_ID = "0123456789abcdef0123456789abcdef"


def reply(**changes: object) -> Reply:
    values: dict[str, object] = {"answer": "ok", "mode": "llm", "conversation_id": "c",
                                 "route": "primary", "message_id": ANSWER_ID}
    values.update(changes)
    return Reply(**values)  # type: ignore[arg-type]


def test_answer_keyboard_has_feedback_a_person_and_linked_sources() -> None:
    sources = (Source("wg-dns", "DNS en WireGuard", "https://help.example/dns"),
               Source("wg-mtu", "MTU en redes móviles"))
    markup = answer_keyboard(reply(sources=sources), "es")
    assert markup is not None
    rows = [[(b.text, b.callback_data, b.url) for b in row] for row in markup.inline_keyboard]
    assert rows == [
        [("👍", f"fb:1:{ANSWER_ID}", None), ("👎", f"fb:-1:{ANSWER_ID}", None)],
        [("Hablar con una persona", "human", None)],
        [("📄 DNS en WireGuard", None, "https://help.example/dns")],
    ]
    assert sources_line(sources, "es") == "📚 Fuentes: MTU en redes móviles"
    assert sources_line(sources[:1], "en") == ""
    for row in markup.inline_keyboard:
        for button in row:
            assert len((button.callback_data or "").encode()) <= 64  # type: ignore[arg-type]


def test_fixed_texts_get_no_rating_and_tickets_no_second_person_button() -> None:
    assert answer_keyboard(reply(route="escalation", escalated=True, ticket_id=3), "es") is None
    refusal = answer_keyboard(reply(route="refusal"), "en")
    assert refusal is not None
    assert [b.text for row in refusal.inline_keyboard for b in row] == ["Talk to a person"]


def test_callback_data_round_trips_and_rejects_strangers() -> None:
    assert parse_callback(f"fb:1:{ANSWER_ID}") == FeedbackPress(1, ANSWER_ID)
    assert parse_callback(f"fb:-1:{ANSWER_ID}") == FeedbackPress(-1, ANSWER_ID)
    assert parse_callback("human") == HumanPress()
    assert parse_callback("take:42") == TakePress(42)
    for strange in (None, "", "fb:2:abc", "fb:1:ZZZ", "take:x", "take:1;drop", "other"):
        assert parse_callback(strange) is None
    take = ticket_keyboard(42, "es").inline_keyboard[0][0]
    assert (take.text, take.callback_data) == ("🙋 Tomar el ticket", "take:42")


def test_without_feedback_keeps_the_other_rows() -> None:
    markup = answer_keyboard(reply(), "es")
    stripped = without_feedback(markup)
    assert stripped is not None
    assert [b.callback_data for row in stripped.inline_keyboard for b in row] == ["human"]
    only_feedback = InlineKeyboardMarkup([[InlineKeyboardButton("👍", callback_data="fb:1:a")]])
    assert without_feedback(only_feedback) is None
    assert without_feedback(None) is None


def test_languages_and_texts() -> None:
    assert language_of("es-ES", "en") == "es"
    assert language_of("en", "es") == "en"
    assert language_of("pt-BR", "es") == "es" and language_of(None, "en") == "en"
    assert say("thanks", "en") == "Thanks for your feedback!"
    assert say("thanks", "fr") == "¡Gracias por tu valoración!"
    for key, variants in TEXTS.items():
        assert set(variants) == {"es", "en"}, key
    start = say("start", "es", name="Ana", service="uSipipo")
    assert all(command in start for command in ("/nuevo", "/humano", "/fin"))
    assert all(command in say("start", "en", name="A", service="S")
               for command in ("/new", "/human", "/end"))


def test_customer_ids_are_namespaced() -> None:
    assert customer_id(42) == "tg:42"
    assert telegram_user_id("tg:42") == 42
    assert telegram_user_id("web:42") is None and telegram_user_id("tg:abc") is None


def test_file_url_sits_next_to_the_bot_url() -> None:
    assert file_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_url("http://127.0.0.1:9000/bot/") == "http://127.0.0.1:9000/file/bot"


async def test_capabilities_forget_a_refusal_after_a_while() -> None:
    now = [0.0]
    capabilities = Capabilities(retry_after=60, clock=lambda: now[0])
    calls: list[str] = []

    async def refused() -> None:
        from telegram.error import NetworkError
        calls.append("x")
        raise NetworkError("API method 'sendMessageDraft' not found")

    assert await capabilities.call("sendMessageDraft", refused) is False
    assert await capabilities.call("sendMessageDraft", refused) is False
    assert calls == ["x"] and not capabilities.allows("sendMessageDraft")
    now[0] = 61
    assert capabilities.allows("sendMessageDraft")


async def test_capabilities_skip_one_call_on_timeouts() -> None:
    from telegram.error import TimedOut

    capabilities = Capabilities()

    async def slow() -> None:
        raise TimedOut()

    assert await capabilities.call("sendChatAction", slow) is False
    assert capabilities.allows("sendChatAction")


def test_exported_members() -> None:
    assert sorted(sipai.channels.telegram.__all__) == sorted([
        "StreamingPolicy", "TelegramChannel", "WebhookEndpoint", "build_channel", "polling",
        "publish_commands", "web_plugin", "webhook", "webhook_router"])
    for name in sipai.channels.telegram.__all__:
        assert getattr(sipai.channels.telegram, name) is not None


@pytest.mark.parametrize("key", sorted(TEXTS))
def test_every_text_formats(key: str) -> None:
    values = {"name": "Ana", "service": "uSipipo", "ticket": 7, "operator": "@ops",
              "channel": "telegram", "user": "tg:1", "reason": "requested", "summary": "s",
              "text": "hola"}
    for language in ("es", "en"):
        assert say(key, language, **values)
