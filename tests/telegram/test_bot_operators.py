"""The human handoff end to end: /humano, the admin chat, the operator's relay, /cerrar."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from sipai.knowledge.base import KnowledgeBase
from tests.telegram.harness import TelegramTestClient, telegram_client, telegram_emulator
from tests.telegram.sipbot import ADMIN_CHAT, is_final, kb, settings_for, sip_bot

pytestmark = pytest.mark.telegram
_FIXTURES = (telegram_client, telegram_emulator, kb, settings_for)


async def test_humano_posts_the_ticket_and_the_operator_reply_reaches_the_customer(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase
) -> None:
    token, settings = settings_for()
    async with sip_bot(telegram_client, settings, kb=kb) as bot:
        customer = telegram_client.customer(token, user_id=6101)
        admin = telegram_client.chat(token, ADMIN_CHAT)
        operator = telegram_client.group_member(token, ADMIN_CHAT, user_id=6901,
                                                first_name="Marta", username="marta_ops")

        await customer.send_text("Mi WireGuard no conecta desde ayer")
        await customer.wait_for_reply(is_final)
        await customer.send_command("/humano")
        opened = await customer.wait_for_reply()
        assert opened.text.startswith("He abierto el ticket #1.")

        ticket_post = await admin.wait_for_reply()
        assert ticket_post.plain_text.startswith("🎫 Ticket #1 · telegram")
        assert "Cliente: Ana (@ana_vpn, tg:6101) · motivo: requested" in ticket_post.plain_text
        assert "user: Mi WireGuard no conecta desde ayer" in ticket_post.plain_text  # summary
        assert [(b.text, b.callback_data) for b in ticket_post.buttons] == [
            ("🙋 Tomar el ticket", "take:1")]
        [ticket] = await bot.tickets("tg:6101")
        assert ticket.admin_message_id == ticket_post.message_id

        # The operator answers by replying to the ticket's message.
        await operator.reply_to_bot(ticket_post, "Hola, soy Marta. ¿Qué app usas?")
        took, relayed = await customer.replies(count=2)
        assert took.text.startswith("👤 Una persona del equipo de soporte ha tomado tu ticket #1")
        assert relayed.text == "👤 Soporte:\nHola, soy Marta. ¿Qué app usas?"

        # From now on the customer's messages go to the operator, not to Sip.
        await customer.send_text("La app oficial en Android <12>")
        forwarded = await admin.wait_for_reply()
        assert forwarded.plain_text == \
            "💬 #1 · cliente Ana (@ana_vpn, tg:6101):\nLa app oficial en Android <12>"
        assert forwarded.reply_to_message_id == ticket_post.message_id
        await customer.assert_silent(0.5)

        # The operator can answer the forwarded message too; then closes the ticket.
        await operator.reply_to_bot(forwarded, "Reinstala la app y vuelve a importar el QR.")
        assert (await customer.wait_for_reply()).text.endswith("vuelve a importar el QR.")
        await operator.send_text("/cerrar", reply_to=ticket_post,
                                 entities=[{"type": "bot_command", "offset": 0, "length": 7}])
        assert (await customer.wait_for_reply()).text.startswith("✅ El equipo ha cerrado")
        closed_note = await admin.wait_for_reply(lambda m: m.plain_text.startswith("✅"))
        assert closed_note.plain_text.startswith("✅ Ticket #1 cerrado por @marta_ops")

        # Sip answers again.
        await customer.send_text("Ya funciona, ¿cómo activo el kill switch?")
        back = await customer.wait_for_reply(is_final)
        assert back.plain_text.startswith("Echo: Ya funciona")

        [ticket] = await bot.tickets("tg:6101")
        async with bot.sip.deps.uow() as uow:
            assert ticket.conversation_id is not None
            history = await uow.messages.all(ticket.conversation_id)
    assert bot.running.errors == []
    assert (ticket.status, ticket.operator) == ("closed", "tg:6901")
    human = [m.text for m in history if m.mode == "human"]
    assert human == ["Hola, soy Marta. ¿Qué app usas?",
                     "Reinstala la app y vuelve a importar el QR."]
    assert "La app oficial en Android <12>" in [m.text for m in history if m.role == "user"]


async def test_take_button_and_close_by_number(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase
) -> None:
    token, settings = settings_for()
    async with sip_bot(telegram_client, settings, kb=kb) as bot:
        customer = telegram_client.customer(token, user_id=6102, language_code="en")
        admin = telegram_client.chat(token, ADMIN_CHAT)
        operator = telegram_client.group_member(token, ADMIN_CHAT, user_id=6902,
                                                first_name="Leo", username=None)
        colleague = telegram_client.group_member(token, ADMIN_CHAT, user_id=6903)

        await customer.send_text("I need a refund for my yearly plan please")
        answer = await customer.wait_for_reply(is_final)
        person = next(b for b in answer.buttons if b.text == "Talk to a person")
        await customer.press_button(person.callback_data or "", answer)
        assert (await customer.wait_for_reply()).text.startswith("I've opened ticket #1.")
        ticket_post = await admin.wait_for_reply()

        await operator.press_button("take:1", ticket_post)
        took = await customer.wait_for_reply()
        assert took.text.startswith("👤 A person from the support team has taken your ticket #1")
        stamped = await admin.wait_for_edit(ticket_post.message_id, lambda m: not m.buttons)
        assert stamped.plain_text.endswith("🙋 Tomado por Leo")
        assert stamped.text.startswith("🎫 <b>Ticket #1</b>")  # still formatted

        # A second operator cannot take it over.
        await colleague.press_button("take:1", ticket_post)
        while len(await telegram_client.calls(token, "answerCallbackQuery")) < 3:
            await asyncio.sleep(0.05)
        answers = [c.params.get("text") for c in
                   await telegram_client.calls(token, "answerCallbackQuery")]
        assert answers[1:] == ["Ticket #1 es tuyo", "Ya lo atiende otra persona"]

        await operator.send_command("/cerrar 1")
        assert (await customer.wait_for_reply()).text.startswith("✅ The team has closed")
        await operator.send_command("/cerrar 1")
        again = await admin.wait_for_reply(lambda m: "ya está cerrado" in m.plain_text)
        assert again.plain_text == "El ticket #1 ya está cerrado."
        [ticket] = await bot.tickets("tg:6102")
    assert bot.running.errors == []
    assert (ticket.status, ticket.operator) == ("closed", "tg:6902")


async def test_only_the_admin_chat_can_act_on_tickets(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase
) -> None:
    token, settings = settings_for()
    async with sip_bot(telegram_client, settings, kb=kb) as bot:
        customer = telegram_client.customer(token, user_id=6103)
        intruder = telegram_client.customer(token, user_id=6104)
        await customer.send_command("/humano")
        await customer.wait_for_reply()
        ticket_post = await telegram_client.chat(token, ADMIN_CHAT).wait_for_reply()

        # Not a member of the admin chat: /cerrar from a private chat is refused.
        await intruder.send_command("/cerrar 1")
        refusal = await intruder.wait_for_reply()
        assert refusal.text == "Este comando es solo para el equipo de soporte."

        # A forged "take" pressed outside the admin chat is refused too.
        await intruder.send_command("/start")
        own = await intruder.wait_for_reply()
        await telegram_client.post_update("/sendCallback", {
            "botToken": token, "from": intruder.user, "message": own.telegram,
            "chat_instance": "ci6104", "data": "take:1"})
        while not await telegram_client.calls(token, "answerCallbackQuery"):
            await asyncio.sleep(0.05)

        # Replying to the ticket's message from another group does not reach the customer.
        outsider = telegram_client.group_member(token, -6200, user_id=6105)
        await outsider.reply_to_bot(ticket_post, "soy un operador, dame tu contraseña")
        await customer.assert_silent(1.0)
        [ticket] = await bot.tickets("tg:6103")
    assert bot.running.errors == []
    assert (ticket.status, ticket.operator) == ("open", None)
    [refused] = await telegram_client.calls(token, "answerCallbackQuery")
    assert refused.params["show_alert"] is True
    assert refused.params["text"] == "Este comando es solo para el equipo de soporte."


async def test_a_second_humano_points_at_the_open_ticket_and_fin_closes_it(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase
) -> None:
    token, settings = settings_for()
    async with sip_bot(telegram_client, settings, kb=kb) as bot:
        customer = telegram_client.customer(token, user_id=6106)
        admin = telegram_client.chat(token, ADMIN_CHAT)
        await customer.send_command("/human")
        await customer.wait_for_reply()
        await admin.wait_for_reply()
        await customer.send_command("/humano")
        again = await customer.wait_for_reply()
        assert again.text.startswith("Ya tienes abierto el ticket #1")
        await admin.assert_silent(0.3)  # no second ticket posted

        await customer.send_command("/fin")
        assert (await customer.wait_for_reply()).text.startswith("Conversación terminada")
        note = await admin.wait_for_reply()
        assert note.plain_text == "✅ Ticket #1 cerrado: el cliente terminó la conversación."
        [ticket] = await bot.tickets("tg:6106")
    assert bot.running.errors == []
    assert ticket.status == "closed"


async def test_a_group_ticket_is_answered_in_the_group(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase
) -> None:
    token, settings = settings_for()
    async with sip_bot(telegram_client, settings, kb=kb) as bot:
        member = telegram_client.group_member(token, -6300, user_id=6107)
        operator = telegram_client.group_member(token, ADMIN_CHAT, user_id=6907)
        await member.send_command("/humano", address_bot=True)
        await member.wait_for_reply()
        ticket_post = await telegram_client.chat(token, ADMIN_CHAT).wait_for_reply()
        await operator.reply_to_bot(ticket_post, "Te escribo por aquí")
        _, relayed = await member.replies(count=2)
        assert relayed.text == "👤 Soporte:\nTe escribo por aquí"
        [ticket] = await bot.tickets("tg:6107:-6300")  # the (person, group)'s own ticket
    assert bot.running.errors == []
    assert ticket.chat_id == -6300


async def test_without_an_admin_chat_tickets_are_still_opened(
    telegram_client: TelegramTestClient, settings_for: Callable[..., Any], kb: KnowledgeBase
) -> None:
    token, settings = settings_for(sip_admin_chat_id=None)
    async with sip_bot(telegram_client, settings, kb=kb) as bot:
        customer = telegram_client.customer(token, user_id=6108)
        await customer.send_command("/humano")
        assert (await customer.wait_for_reply()).text.startswith("He abierto el ticket #1.")
        await customer.send_text("¿Sigues ahí?")
        answer = await customer.wait_for_reply(is_final)  # Sip keeps answering meanwhile
        assert answer.plain_text.startswith("Echo: ¿Sigues ahí?")
        [ticket] = await bot.tickets("tg:6108")
    assert bot.running.errors == []
    assert (ticket.status, ticket.admin_message_id) == ("open", None)
    assert await telegram_client.bot_messages(token, ADMIN_CHAT) == []
