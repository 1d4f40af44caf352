"""Private chats and groups are separate conversations: nothing said in one reaches the other.

The same Telegram user talks to Sip in private and in a group. Fake Groq records every model
request, so the tests read exactly what the model was given for the group's turn.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from sipai.dev import FakeGroqHandle
from sipai.knowledge.base import KnowledgeBase
from tests.telegram.harness import TelegramTestClient, telegram_client, telegram_emulator
from tests.telegram.sipbot import ADMIN_CHAT, is_final, kb, raw_logs, settings_for, sip_bot

pytestmark = pytest.mark.telegram
_FIXTURES = (telegram_client, telegram_emulator, kb, settings_for)

SECRET_FACTS = "me llamo Ana y mi correo es ana@example.com"
GROUP_QUESTION = "¿Cómo cambio el DNS en WireGuard?"


def model_prompts(groq: FakeGroqHandle, since: int = 0, *, about: str = "") -> list[str]:
    """The messages of each chat-completion request fake Groq received, as JSON text.

    `about` keeps the requests that carry that text: the turn's own request and any summary
    of its conversation, but not a background summary of another conversation.
    """
    prompts = [json.dumps(entry["body"]["messages"], ensure_ascii=False)
               for entry in groq.requests(path="/chat/completions")[since:]
               if entry.get("body")]
    return [p for p in prompts if about in p]


async def test_what_was_said_in_private_never_reaches_the_model_in_a_group(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase,
    fake_groq: FakeGroqHandle,
) -> None:
    token, settings = settings_for()
    async with raw_logs() as logs, sip_bot(telegram_client, settings, kb=kb) as bot:
        private = telegram_client.customer(token, user_id=7101, first_name="Ana",
                                           last_name=None, username="ana_vpn")
        group = telegram_client.group_member(token, -7100, user_id=7101, first_name="Ana",
                                             username="ana_vpn")
        await private.send_text(SECRET_FACTS)
        await private.wait_for_reply(is_final)
        assert any("ana@example.com" in p for p in model_prompts(fake_groq))  # the control

        before = len(model_prompts(fake_groq))
        await group.mention_bot(GROUP_QUESTION)
        answer = await group.wait_for_reply(is_final)
        group_prompts = model_prompts(fake_groq, before, about=GROUP_QUESTION)

        # Back in private, Sip still has the earlier turn: the history is scoped, not dropped.
        before = len(model_prompts(fake_groq))
        await private.send_text("¿Y en Outline?")
        await private.wait_for_reply(is_final)
        private_prompts = model_prompts(fake_groq, before, about="¿Y en Outline?")

        async with bot.sip.deps.uow() as uow:
            in_private = await uow.conversations.active_for("tg:7101")
            in_group = await uow.conversations.active_for("tg:7101:-7100")
            group_texts = [m.text for m in await uow.messages.all(in_group.id)] \
                if in_group is not None else []
    assert bot.running.errors == []
    assert group_prompts  # the group's turn reached the model
    assert not [p for p in group_prompts if "ana@example.com" in p or "me llamo Ana" in p]
    assert "ana@example.com" not in answer.plain_text
    assert in_private is not None and in_group is not None and in_private.id != in_group.id
    assert group_texts[0] == GROUP_QUESTION and len(group_texts) == 2
    assert any("ana@example.com" in p for p in private_prompts)
    assert "ana@example.com" not in logs.text()
    assert "me llamo" not in logs.text()


async def test_new_and_end_in_a_group_leave_the_private_conversation_alone(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase
) -> None:
    token, settings = settings_for()
    async with sip_bot(telegram_client, settings, kb=kb) as bot:
        private = telegram_client.customer(token, user_id=7201)
        group = telegram_client.group_member(token, -7200, user_id=7201)

        async def active(user_id: str) -> str | None:
            async with bot.sip.deps.uow() as uow:
                conversation = await uow.conversations.active_for(user_id)
            return conversation.id if conversation is not None else None

        await private.send_text("Mi WireGuard va lento")
        await private.wait_for_reply(is_final)
        await group.mention_bot("¿Outline funciona en iPhone?")
        await group.wait_for_reply(is_final)
        private_first, group_first = await active("tg:7201"), await active("tg:7201:-7200")
        assert private_first is not None and group_first is not None

        # /nuevo in the group starts a new group conversation only.
        await group.send_command("/nuevo", address_bot=True)
        assert (await group.wait_for_reply()).text.startswith("Listo, empezamos")
        group_second = await active("tg:7201:-7200")
        assert group_second not in (None, group_first)
        assert await active("tg:7201") == private_first

        # /fin in the group ends the group conversation only.
        await group.send_command("/fin", address_bot=True)
        assert (await group.wait_for_reply()).text.startswith("Conversación terminada")
        assert await active("tg:7201:-7200") is None
        assert await active("tg:7201") == private_first

        # And the other way round: /nuevo and /fin in private leave the group alone.
        await group.mention_bot("Otra pregunta sobre el DNS")
        await group.wait_for_reply(is_final)
        group_third = await active("tg:7201:-7200")
        await private.send_command("/nuevo")
        assert (await private.wait_for_reply()).text.startswith("Listo, empezamos")
        private_second = await active("tg:7201")
        assert private_second not in (None, private_first)
        await private.send_command("/fin")
        assert (await private.wait_for_reply()).text.startswith("Conversación terminada")
        assert await active("tg:7201") is None
        assert await active("tg:7201:-7200") == group_third is not None
    assert bot.running.errors == []


async def test_a_ticket_in_a_group_stays_in_the_group(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase
) -> None:
    token, settings = settings_for()
    async with sip_bot(telegram_client, settings, kb=kb) as bot:
        private = telegram_client.customer(token, user_id=7301, first_name="Ana",
                                           username="ana_vpn")
        group = telegram_client.group_member(token, -7300, user_id=7301, first_name="Ana",
                                             username="ana_vpn")
        admin = telegram_client.chat(token, ADMIN_CHAT)
        operator = telegram_client.group_member(token, ADMIN_CHAT, user_id=7901)

        # A private ticket first: the group's /humano must open its own, not point at this one.
        await private.send_command("/humano")
        assert (await private.wait_for_reply()).text.startswith("He abierto el ticket #1.")
        private_post = await admin.wait_for_reply()
        assert "Ana (@ana_vpn, tg:7301) · motivo" in private_post.plain_text
        assert "grupo" not in private_post.plain_text.split("\n")[0]

        await group.send_command("/humano", address_bot=True)
        assert (await group.wait_for_reply()).text.startswith("He abierto el ticket #2.")
        group_post = await admin.wait_for_reply()
        assert group_post.plain_text.startswith("🎫 Ticket #2 · telegram · 👥 en un grupo")
        assert "Ana (@ana_vpn, tg:7301:-7300)" in group_post.plain_text

        # The operator's reply goes to the group; the private chat hears nothing of it.
        await operator.reply_to_bot(group_post, "Te respondo en el grupo")
        took, relayed = await group.replies(count=2)
        assert took.text.startswith("👤 Una persona del equipo de soporte ha tomado tu ticket #2")
        assert relayed.text == "👤 Soporte:\nTe respondo en el grupo"
        await private.assert_silent(0.5)

        # In the group the customer now talks to the operator; in private, Sip still answers.
        await group.mention_bot("Uso Android")
        forwarded = await admin.wait_for_reply()
        assert forwarded.plain_text == "💬 #2 · cliente Ana (@ana_vpn, tg:7301:-7300):\nUso Android"
        await private.send_text("¿Cómo activo el kill switch?")
        assert (await private.wait_for_reply(is_final)).plain_text.startswith("Echo: ¿Cómo")

        # /fin in private closes the private ticket, not the group's.
        await private.send_command("/fin")
        await private.wait_for_reply()
        [private_ticket] = await bot.tickets("tg:7301")
        [group_ticket] = await bot.tickets("tg:7301:-7300")
    assert bot.running.errors == []
    assert (private_ticket.id, private_ticket.status) == (1, "closed")
    assert (group_ticket.id, group_ticket.status, group_ticket.chat_id) == (2, "taken", -7300)
    assert group_ticket.operator == "tg:7901"


async def test_a_ticket_the_service_opens_in_a_group_names_the_customer(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase
) -> None:
    token, settings = settings_for()
    async with raw_logs() as logs, sip_bot(telegram_client, settings, kb=kb) as bot:
        group = telegram_client.group_member(token, -7400, user_id=7401, first_name="Bruno",
                                             last_name="Díaz", username=None)
        private = telegram_client.customer(token, user_id=7401, first_name="Bruno",
                                           last_name="Díaz", username=None)
        admin = telegram_client.chat(token, ADMIN_CHAT)
        operator = telegram_client.group_member(token, ADMIN_CHAT, user_id=7902)

        await group.mention_bot("quiero hablar con una persona, por favor")
        opened = await group.wait_for_reply(is_final)
        assert "#1" in opened.plain_text
        post = await admin.wait_for_reply()
        assert "Cliente: Bruno Díaz (tg:7401:-7400) · motivo: requested" in post.plain_text

        await operator.reply_to_bot(post, "Hola Bruno")
        _, relayed = await group.replies(count=2)
        assert relayed.text == "👤 Soporte:\nHola Bruno"
        await private.assert_silent(0.5)
        [ticket] = await bot.tickets("tg:7401:-7400")
    assert bot.running.errors == []
    assert ticket.chat_id == -7400
    assert await bot.tickets("tg:7401") == []
    assert "Bruno" not in logs.text() and "Díaz" not in logs.text()
