"""Rolling summaries: each exchange that leaves the recent window is folded in, off the clock."""

from __future__ import annotations

from collections.abc import Callable

from sipai.config import Settings
from sipai.dev import FakeGroqHandle
from sipai.support.domain import Message
from sipai.support.service import ask
from sipai.support.summary import EXTRACT_TOTAL, extractive
from tests.support.conftest import SipFactory

PRIMARY = "openai/gpt-oss-120b"
SUMMARY_MODEL = "openai/gpt-oss-20b"


async def test_an_exchange_leaving_the_window_is_summarised_and_sent(
        groq_settings: Callable[..., Settings], sip_factory: SipFactory,
        fake_groq: FakeGroqHandle) -> None:
    async with sip_factory(groq_settings()) as sip:
        await ask(sip.deps, "ana", "me llamo Ana y uso WireGuard en un Xiaomi")
        await sip.deps.background.drain()
        assert not fake_groq.requests(SUMMARY_MODEL)  # the first exchange is still recent
        await ask(sip.deps, "ana", "el túnel se cierra al apagar la pantalla")
        await sip.deps.background.drain()
        summary_requests = fake_groq.requests(SUMMARY_MODEL)
        await ask(sip.deps, "ana", "¿y ahora qué hago?")
        async with sip.deps.uow() as uow:
            conversation = await uow.conversations.active_for("ana")
            usage = await uow.usage.list()
    assert len(summary_requests) == 1
    transcript = summary_requests[0]["body"]["messages"][-1]["content"]
    assert "me llamo Ana" in transcript and "pantalla" not in transcript
    assert conversation is not None and conversation.summary and conversation.summary_upto == 2
    messages = fake_groq.last_request(PRIMARY)["body"]["messages"]
    # The summary (the emulator echoes the transcript) is in the system message, the last
    # exchange follows as messages, the first exchange is not repeated verbatim.
    assert "Resumen de la conversación" in messages[0]["content"]
    assert "me llamo Ana" in messages[0]["content"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[1]["content"] == "el túnel se cierra al apagar la pantalla"
    assert any(r.purpose == "summary" and r.model == SUMMARY_MODEL for r in usage)


async def test_a_summary_without_text_falls_back_to_the_customers_words(
        groq_settings: Callable[..., Settings], sip_factory: SipFactory,
        fake_groq: FakeGroqHandle) -> None:
    # 950 tokens of reasoning fit the answer's 1000 but not the summary's 400, nor the 912
    # the client retries it with: no text, so the customer's own words are kept.
    async with sip_factory(groq_settings()) as sip:
        await ask(sip.deps, "bea", "me llamo Bea [[reasoning=3800]]")
        await ask(sip.deps, "bea", "uso Outline en Windows")
        await sip.deps.background.drain()
        async with sip.deps.uow() as uow:
            conversation = await uow.conversations.active_for("bea")
            usage = await uow.usage.list()
    assert len(fake_groq.requests(SUMMARY_MODEL)) == 2  # the call and its roomier retry
    assert conversation is not None and conversation.summary == "- me llamo Bea [[reasoning=3800]]"
    assert conversation.summary_upto == 2
    assert not any(r.purpose == "summary" for r in usage)


def test_an_extractive_summary_keeps_the_newest_facts_within_its_size() -> None:
    messages = [Message.from_user("c", "u", f"mensaje {n}: " + "detalle " * 12) for n in range(20)]
    summary = extractive("- me llamo Ana", messages)
    assert len(summary) <= EXTRACT_TOTAL
    assert summary.splitlines()[-1].startswith("- mensaje 19:")
    assert all(line.startswith("- mensaje") for line in summary.splitlines())
