"""Rolling summaries: lazy (only when the unsummarised messages overflow), and nothing is lost."""

from __future__ import annotations

from collections.abc import Callable

from sipai.config import Settings
from sipai.dev import FakeGroqHandle
from sipai.support.domain import Message
from sipai.support.prompts import SUMMARY_HEADER
from sipai.support.service import ask
from sipai.support.summary import EXTRACT_TOTAL, extractive
from tests.support.conftest import SipFactory

PRIMARY = "openai/gpt-oss-120b"
SUMMARY_MODEL = "openai/gpt-oss-20b"
# About 20 tokens each: the emulator echoes them, so an exchange is about 45 tokens sent.
ANA = [
    "me llamo Ana y uso WireGuard en un Xiaomi Redmi Note, el túnel se corta al apagar la "
    "pantalla",
    "ya desactivé el ahorro de batería de la app y también activé el inicio automático en "
    "los ajustes",
    "ahora el túnel aguanta más, pero a la media hora vuelve a cortarse igual que antes",
    "¿cómo me llamo y qué teléfono uso?",
]
# A chat of short and long messages; [[len=800]] makes the emulator answer 800 characters.
WALK = [
    "hola, me llamo Ana", "mi wireguard conecta pero no tengo internet [[len=800]]",
    "sigue igual", "uso un Xiaomi con Android 13 y el túnel dice activo [[len=800]]",
    "probé con datos móviles y tampoco carga nada, ni siquiera whatsapp", "ok",
    "ahora carga 1.1.1.1 pero no las páginas normales [[len=800]]", "¿es el DNS?",
    "puse DNS = 1.1.1.1 y funciona, gracias [[len=800]]", "y en el portátil con Windows?",
    "me sale Unable to create network adapter [[len=800]]", "gracias, ya está",
]


async def test_older_exchanges_are_summarised_only_when_they_overflow(
        groq_settings: Callable[..., Settings], sip_factory: SipFactory,
        fake_groq: FakeGroqHandle) -> None:
    async with sip_factory(groq_settings()) as sip:
        for text in ANA[:2]:
            await ask(sip.deps, "ana", text)
            await sip.deps.background.drain()
        assert not fake_groq.requests(SUMMARY_MODEL)  # two exchanges still fit the prompt
        assert [m["content"] for m in fake_groq.last_request(PRIMARY)["body"]["messages"]
                if m["role"] == "user"] == ANA[:2]
        await ask(sip.deps, "ana", ANA[2])
        await sip.deps.background.drain()
        summary_requests = fake_groq.requests(SUMMARY_MODEL)
        await ask(sip.deps, "ana", ANA[3])
        async with sip.deps.uow() as uow:
            conversation = await uow.conversations.active_for("ana")
            usage = await uow.usage.list()
    # Three do not: the first two are folded in, one call, the last exchange stays.
    assert len(summary_requests) == 1
    transcript = summary_requests[0]["body"]["messages"][-1]["content"]
    assert ANA[0] in transcript and ANA[1] in transcript and ANA[2] not in transcript
    assert conversation is not None and conversation.summary_upto == 4
    messages = fake_groq.last_request(PRIMARY)["body"]["messages"]
    # The summary (the emulator echoes the transcript) is in the system message, the last
    # exchange follows as messages, the first two are not repeated verbatim.
    assert SUMMARY_HEADER["es"] in messages[0]["content"]
    assert "me llamo Ana" in messages[0]["content"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[1]["content"] == ANA[2]
    assert any(r.purpose == "summary" and r.model == SUMMARY_MODEL for r in usage)


async def test_every_earlier_exchange_is_in_the_prompt_or_in_the_summary(
        groq_settings: Callable[..., Settings], sip_factory: SipFactory,
        fake_groq: FakeGroqHandle) -> None:
    async with sip_factory(groq_settings(sip_user_rpm=10**6)) as sip:
        for turn, text in enumerate(WALK):
            async with sip.deps.uow() as uow:
                conversation = await uow.conversations.active_for("walk")
                earlier = (await uow.messages.all(conversation.id)) if conversation else []
            upto = conversation.summary_upto if conversation else 0
            await ask(sip.deps, "walk", text)
            messages = fake_groq.last_request(PRIMARY)["body"]["messages"]
            sent = [m["content"] for m in messages[1:-1] if m["role"] == "user"]
            assert messages[-1]["content"] == text
            for message in earlier:
                if message.role == "user":
                    # Folded into the summary, or sent whole as it was written.
                    assert message.seq <= upto or message.text in sent, (turn, message.seq)
            # Exactly the unsummarised messages are sent, and the summary once there is one.
            unsummarised = [m for m in earlier if m.seq > upto]
            assert len(messages) - 2 == len(unsummarised), turn
            assert (SUMMARY_HEADER["es"] in messages[0]["content"]) == (upto > 0), turn
            await sip.deps.background.drain()  # the customer reads and types meanwhile
    calls = len(fake_groq.requests(SUMMARY_MODEL))
    assert 1 <= calls <= len(WALK) // 2  # at most one summary every two exchanges


async def test_a_summary_without_text_falls_back_to_the_customers_words(
        groq_settings: Callable[..., Settings], sip_factory: SipFactory,
        fake_groq: FakeGroqHandle) -> None:
    # 950 tokens of reasoning fit the answer's 1000 but not the summary's 400, nor the 912
    # the client retries it with: no text, so the customer's own words are kept.
    first = "me llamo Bea [[reasoning=3800]]"
    async with sip_factory(groq_settings()) as sip:
        for text in (first, *ANA[1:3], ANA[0]):  # the fourth overflows
            await ask(sip.deps, "bea", text)
            await sip.deps.background.drain()
        async with sip.deps.uow() as uow:
            conversation = await uow.conversations.active_for("bea")
            usage = await uow.usage.list()
    assert len(fake_groq.requests(SUMMARY_MODEL)) == 2  # the call and its roomier retry
    assert conversation is not None
    assert conversation.summary == f"- {first}\n- {ANA[1]}\n- {ANA[2]}"
    assert conversation.summary_upto == 6
    assert not any(r.purpose == "summary" for r in usage)


def test_an_extractive_summary_keeps_the_newest_facts_within_its_size() -> None:
    messages = [Message.from_user("c", "u", f"mensaje {n}: " + "detalle " * 12) for n in range(20)]
    summary = extractive("- me llamo Ana", messages)
    assert len(summary) <= EXTRACT_TOTAL
    assert summary.splitlines()[-1].startswith("- mensaje 19:")
    assert all(line.startswith("- mensaje") for line in summary.splitlines())
