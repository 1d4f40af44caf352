"""Sip's bot end to end: the emulator plays Telegram and the customer, fake Groq the model.

The bot is the real one (`build_channel` on a real Sip over SQLite); nothing in it is mocked.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from itertools import pairwise
from typing import Any

import pytest

from sipai.channels.telegram import StreamingPolicy
from sipai.channels.telegram.formatting import utf16_len
from sipai.dev import FakeGroqHandle
from sipai.dev.replies import paragraphs
from sipai.knowledge.base import KnowledgeBase
from tests.telegram.harness import TelegramTestClient, telegram_client, telegram_emulator
from tests.telegram.sipbot import (
    ADMIN_CHAT,
    is_final,
    kb,
    raw_logs,
    settings_for,
    sip_bot,
)

pytestmark = pytest.mark.telegram
_FIXTURES = (telegram_client, telegram_emulator, kb, settings_for)


# --- the customer's flow ----------------------------------------------------------------------


async def test_start_then_a_question_gets_the_answer(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase
) -> None:
    token, settings = settings_for()
    async with sip_bot(telegram_client, settings, kb=kb) as bot:
        customer = telegram_client.customer(token, user_id=4101, first_name="Lucía")
        await customer.send_command("/start")
        greeting = await customer.wait_for_reply()
        assert greeting.text.startswith("¡Hola, Lucía! Soy Sip")
        assert "/nuevo" in greeting.text and "/humano" in greeting.text
        assert "/fin" in greeting.text

        await customer.send_text("WireGuard conecta pero no hay internet")
        answer = await customer.wait_for_reply(is_final)
        assert answer.plain_text.startswith("Echo: WireGuard conecta pero no hay internet")
        assert answer.parse_mode == "HTML"
        labels = [b.text for b in answer.buttons]
        assert labels[:3] == ["👍", "👎", "Hablar con una persona"]
        assert all(b.url for b in answer.buttons[3:])
        # No sources have links in the bundled articles: their titles close the answer.
        assert "📚 Fuentes: " in answer.plain_text
    assert bot.running.errors == []
    # The emulator refuses sendChatAction: the bot tried once, then carried on without it.
    assert len(await telegram_client.calls(token, "sendChatAction")) >= 1
    async with bot.sip.deps.uow() as uow:
        conversation = await uow.conversations.active_for("tg:4101")
        assert conversation is not None and conversation.channel == "telegram"
        stored = await uow.messages.all(conversation.id)
    assert [m.role for m in stored] == ["user", "assistant"]
    assert stored[0].text == "WireGuard conecta pero no hay internet"


async def test_start_speaks_english_to_english_clients(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase
) -> None:
    token, settings = settings_for()
    async with sip_bot(telegram_client, settings, kb=kb) as bot:
        customer = telegram_client.customer(token, first_name="Sam", language_code="en-GB")
        await customer.send_command("/start")
        greeting = await customer.wait_for_reply()
        assert greeting.text.startswith("Hi Sam! I'm Sip")
        assert "/human" in greeting.text and "/new" in greeting.text
        await customer.send_text("My WireGuard tunnel connects but there is no internet at all")
        answer = await customer.wait_for_reply(is_final)
        assert "Talk to a person" in [b.text for b in answer.buttons]
    assert bot.running.errors == []


async def test_html_in_an_answer_arrives_escaped(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase
) -> None:
    token, settings = settings_for()
    async with sip_bot(telegram_client, settings, kb=kb) as bot:
        customer = telegram_client.customer(token)
        await customer.send_text("¿Qué hace <b>negrita</b> & <script>x</script> en el DNS?")
        answer = await customer.wait_for_reply(is_final)
    assert bot.running.errors == []
    assert "&lt;b&gt;negrita&lt;/b&gt; &amp; &lt;script&gt;" in answer.text
    assert "<b>negrita</b> & <script>x</script>" in answer.plain_text
    assert not any(e["type"] == "bold" for e in answer.telegram.get("entities", []))


async def test_a_long_answer_arrives_in_parts_of_at_most_4096(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase
) -> None:
    token, settings = settings_for()
    async with sip_bot(telegram_client, settings, kb=kb) as bot:
        customer = telegram_client.customer(token)
        await customer.send_text("Explícamelo todo [[len=9500]]")
        last = await customer.wait_for_reply(lambda m: bool(m.buttons), timeout=30)
        messages = await customer.messages()
    assert bot.running.errors == []
    parts = [m for m in messages if m.message_id <= last.message_id]
    assert len(parts) == 3
    assert all(utf16_len(m.plain_text) <= 4096 for m in parts)
    assert all(m.parse_mode == "HTML" for m in parts)
    assert [bool(m.buttons) for m in parts] == [False, False, True]
    # Split between paragraphs: every part starts a paragraph ("Part N.") and none is cut.
    assert all(re.match(r"Part \d+\. ", m.plain_text) for m in parts)
    body = "\n\n".join(m.plain_text for m in parts).split("\n\n📚")[0]
    assert body == paragraphs(9500).strip()


async def test_thumbs_up_is_recorded(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase
) -> None:
    token, settings = settings_for()
    async with sip_bot(telegram_client, settings, kb=kb) as bot:
        customer = telegram_client.customer(token, user_id=4102)
        await customer.send_text("¿Cómo cambio el DNS en WireGuard?")
        answer = await customer.wait_for_reply(is_final)
        thumbs_up = answer.buttons[0]
        assert thumbs_up.text == "👍" and thumbs_up.callback_data is not None
        await customer.press_button(thumbs_up.callback_data, answer)
        rated = await customer.wait_for_edit(
            answer.message_id, lambda m: "👍" not in [b.text for b in m.buttons])
        assert rated.buttons[0].text == "Hablar con una persona"
        async with bot.sip.deps.uow() as uow:
            [feedback] = await uow.feedback.list()
            conversation = await uow.conversations.active_for("tg:4102")
            assert conversation is not None
            [_, stored_answer] = await uow.messages.all(conversation.id)
    assert bot.running.errors == []
    assert (feedback.user_id, feedback.rating) == ("tg:4102", 1)
    assert feedback.message_id == stored_answer.id == thumbs_up.callback_data.split(":")[2]
    [ack] = await telegram_client.calls(token, "answerCallbackQuery")
    assert ack.params["text"] == "¡Gracias por tu valoración!"


async def test_someone_else_cannot_rate_an_answer(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase
) -> None:
    token, settings = settings_for()
    async with sip_bot(telegram_client, settings, kb=kb) as bot:
        asker = telegram_client.group_member(token, -4201, user_id=4201)
        other = telegram_client.group_member(token, -4201, user_id=4202)
        await asker.mention_bot("¿Outline funciona en iPhone?")
        answer = await asker.wait_for_reply(is_final)
        await other.press_button(answer.buttons[1].callback_data or "", answer)
        while not await telegram_client.calls(token, "answerCallbackQuery"):
            await asyncio.sleep(0.05)
        async with bot.sip.deps.uow() as uow:
            assert await uow.feedback.list() == []
    [ack] = await telegram_client.calls(token, "answerCallbackQuery")
    assert ack.params["text"] == "Solo quien hizo la pregunta puede valorarla."


async def test_new_and_end_commands(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase
) -> None:
    token, settings = settings_for()
    async with sip_bot(telegram_client, settings, kb=kb) as bot:
        customer = telegram_client.customer(token, user_id=4103)
        await customer.send_text("Hola, mi VPN va lenta")
        await customer.wait_for_reply(is_final)
        async with bot.sip.deps.uow() as uow:
            first = await uow.conversations.active_for("tg:4103")
        await customer.send_command("/nuevo")
        assert (await customer.wait_for_reply()).text.startswith("Listo, empezamos")
        async with bot.sip.deps.uow() as uow:
            second = await uow.conversations.active_for("tg:4103")
        assert first is not None and second is not None and second.id != first.id
        await customer.send_command("/end")
        assert (await customer.wait_for_reply()).text.startswith("Conversación terminada")
        await customer.send_command("/fin")
        assert (await customer.wait_for_reply()).text.startswith("No había ninguna")
        await customer.send_command("/desconocido")
        assert (await customer.wait_for_reply()).text.startswith("No conozco ese comando")
        async with bot.sip.deps.uow() as uow:
            assert await uow.conversations.active_for("tg:4103") is None
    assert bot.running.errors == []


async def test_empty_text_gets_the_fixed_explanation(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase
) -> None:
    token, settings = settings_for()
    async with sip_bot(telegram_client, settings, kb=kb) as bot:
        customer = telegram_client.customer(token)
        await customer.send_text("\u200b\u200b")  # only format characters: empty once cleaned
        reply = await customer.wait_for_reply()
    assert bot.running.errors == []
    assert reply.plain_text == "Tu mensaje está vacío. Escribe tu pregunta, por favor."


# --- streaming ----------------------------------------------------------------------------------


async def test_private_chat_streams_drafts_then_sends_the_answer(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase,
    fake_groq: FakeGroqHandle,
) -> None:
    token, settings = settings_for()
    await telegram_client.accept_methods(token, "sendMessageDraft", "sendChatAction")
    fake_groq.configure(tps=120, chunk_tokens=2)
    async with sip_bot(telegram_client, settings, kb=kb) as bot:
        customer = telegram_client.customer(token, user_id=4104)
        await customer.send_text("**Paso a paso** por favor [[len=900]]")
        answer = await customer.wait_for_reply(is_final, timeout=30)
    assert bot.running.errors == []
    drafts = await telegram_client.calls(token, "sendMessageDraft")
    assert len(drafts) >= 3
    texts = [d.params["text"] for d in drafts]
    assert all(len(b) > len(a) for a, b in pairwise(texts))  # only growth
    assert all("parse_mode" not in d.params for d in drafts)  # plain text while streaming
    assert {d.params["draft_id"] for d in drafts} == {drafts[0].params["draft_id"]}
    gaps = [b.at - a.at for a, b in pairwise(drafts)]
    assert min(gaps) >= 0.4  # throttled (policy: one draft per 0.5 s)
    [typing, *_] = await telegram_client.calls(token, "sendChatAction")
    assert typing.params["action"] == "typing" and typing.at <= drafts[0].at
    # The final message is a new, formatted message: the only one in the chat.
    assert [m.message_id for m in await customer.messages()] == [answer.message_id]
    assert answer.parse_mode == "HTML" and answer.edit_count == 0
    assert answer.plain_text.startswith("Part 1. WireGuard")


async def test_group_streams_by_throttled_edits_of_one_message(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase,
    fake_groq: FakeGroqHandle,
) -> None:
    token, settings = settings_for()
    fake_groq.configure(tps=120, chunk_tokens=2)
    async with sip_bot(telegram_client, settings, kb=kb) as bot:
        member = telegram_client.group_member(token, -4301, user_id=4301)
        await member.send_text("hola a todos, ¿alguien usa Outline?")
        mention = await member.mention_bot("¿mi VPN va lenta? [[len=1500]]")
        answer = await member.wait_for_reply(is_final, timeout=30)
        await member.assert_silent(0.3)
    assert bot.running.errors == []
    assert answer.reply_to_message_id == mention.message_id
    assert answer.edit_count >= 2
    edits = await telegram_client.calls(token, "editMessageText")
    streamed = [e for e in edits if "parse_mode" not in e.params]
    assert len(streamed) >= 1
    sends = [c for c in await telegram_client.calls(token, "sendMessage")
             if c.params["chat_id"] == -4301]
    assert len(sends) == 1 and "parse_mode" not in sends[0].params  # plain first text
    moments = [sends[0].at] + [e.at for e in edits]
    assert min(b - a for a, b in pairwise(moments[:-1])) >= 0.9
    texts = [sends[0].params["text"]] + [e.params["text"] for e in streamed]
    assert all(len(b) > len(a) for a, b in pairwise(texts))
    assert edits[-1].params["parse_mode"] == "HTML"  # formatted on the final edit
    assert [m.message_id for m in await member.messages()] == [answer.message_id]


async def test_unparseable_html_falls_back_to_plain_text(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase
) -> None:
    token, settings = settings_for()
    no_previews = StreamingPolicy(draft_interval=60, edit_interval=60)
    async with sip_bot(telegram_client, settings, kb=kb, policy=no_previews) as bot:
        customer = telegram_client.customer(token)
        await telegram_client.fail_next(
            token, "sendMessage", status=400,
            description="Bad Request: can't parse entities: Unsupported start tag \"x\"")
        await customer.send_text("**Hola** & adiós")
        answer = await customer.wait_for_reply(lambda m: bool(m.buttons))
    assert bot.running.errors == []
    assert answer.parse_mode is None
    assert answer.text.startswith("Echo: Hola & adiós")


async def test_refused_chat_actions_and_drafts_never_stop_an_answer(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase,
    fake_groq: FakeGroqHandle,
) -> None:
    token, settings = settings_for()
    fake_groq.configure(tps=200, chunk_tokens=2)
    async with sip_bot(telegram_client, settings, kb=kb) as bot:
        customer = telegram_client.customer(token)
        await customer.send_text("Necesito ayuda [[len=700]]")
        answer = await customer.wait_for_reply(is_final, timeout=30)
        await customer.send_text("Otra pregunta [[len=300]]")
        second = await customer.wait_for_reply(is_final, timeout=30)
    assert bot.running.errors == []
    assert answer.plain_text.startswith("Part 1.") and second.plain_text.startswith("Part 1.")
    # Each refused once, then left alone; the next best thing (one edited message) took over.
    assert len(await telegram_client.calls(token, "sendMessageDraft")) == 1
    assert len(await telegram_client.calls(token, "sendChatAction")) == 1
    assert answer.edit_count >= 1


# --- errors and flood limits --------------------------------------------------------------------


async def test_a_failing_update_gets_the_friendly_message_and_the_bot_goes_on(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase
) -> None:
    token, settings = settings_for()
    async with raw_logs() as logs, sip_bot(telegram_client, settings, kb=kb) as bot:
        customer = telegram_client.customer(token, user_id=4105)
        await telegram_client.fail_next(token, "sendMessage", status=400,
                                        description="Bad Request: something unexpected")
        sent = await customer.send_command("/start")
        apology = await customer.wait_for_reply()
        assert apology.text.startswith("Lo siento, algo ha fallado por mi parte")
        await customer.send_command("/start")
        assert (await customer.wait_for_reply()).text.startswith("¡Hola")
    [failure] = [r for r in logs.records if r.getMessage() == "tg.update_failed"]
    facts = vars(failure)
    assert (facts["update_id"], facts["chat_id"], facts["user_id"]) == (sent.update_id, 4105, 4105)
    assert facts["error"] == "BadRequest"
    assert "something unexpected" not in logs.text()
    assert len(bot.running.errors) == 1  # the harness saw the same single failure


async def test_retry_after_is_honoured(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase
) -> None:
    token, settings = settings_for()
    async with sip_bot(telegram_client, settings, kb=kb) as bot:
        customer = telegram_client.customer(token)
        await telegram_client.fail_next(token, "sendMessage", status=429,
                                        description="Too Many Requests: retry after 1",
                                        retry_after=1)
        await customer.send_command("/start")
        greeting = await customer.wait_for_reply()
    assert bot.running.errors == []
    assert greeting.text.startswith("¡Hola")
    first, second = await telegram_client.calls(token, "sendMessage")
    assert second.at - first.at >= 1.0


# --- many customers at once --------------------------------------------------------------------


async def test_fifty_customers_at_once_each_get_their_own_answer(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase
) -> None:
    token, settings = settings_for()
    async with sip_bot(telegram_client, settings, kb=kb) as bot:
        customers = [telegram_client.customer(token, user_id=5000 + n) for n in range(50)]
        await asyncio.gather(*(
            c.send_text(f"Hola, soy el cliente {n}; mi código es K{n:03d}Z, ¿me ayudas?")
            for n, c in enumerate(customers)))

        # One reader for all chats (50 pollers would load the loop more than the bot does).
        deadline = asyncio.get_running_loop().time() + 90
        while True:
            sent = await telegram_client.bot_messages(token)
            finals = {m.chat_id: m for m in sent if is_final(m)}
            if len(finals) == 50 or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.25)
        async with bot.sip.deps.uow() as uow:
            stored = {}
            for n in (0, 17, 49):
                conversation = await uow.conversations.active_for(f"tg:{5000 + n}")
                assert conversation is not None
                stored[n] = await uow.messages.all(conversation.id)
    assert bot.running.errors == []
    assert sorted(finals) == [5000 + n for n in range(50)]
    for n in range(50):
        assert re.findall(r"K\d{3}Z", finals[5000 + n].plain_text) == [f"K{n:03d}Z"]
    assert len(sent) == 50  # one message per customer: no stray previews, no duplicates
    for n, messages in stored.items():
        assert [m.role for m in messages] == ["user", "assistant"]
        assert f"K{n:03d}Z" in messages[1].text


# --- the admin chat is not a customer chat ------------------------------------------------------


async def test_operators_chatting_in_the_admin_chat_get_no_answers(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase
) -> None:
    token, settings = settings_for()
    async with sip_bot(telegram_client, settings, kb=kb) as bot:
        operator = telegram_client.group_member(token, ADMIN_CHAT, user_id=4901)
        await operator.mention_bot("¿alguien ha visto el ticket de ayer?")
        await operator.send_command("/start")
        await operator.assert_silent(1.0)
    assert bot.running.errors == []
