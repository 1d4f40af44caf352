"""Fault injection against the Groq emulator through the real service path.

Every scripted fault, streamed and not: the customer always gets an answer, the reply says
which path produced it (primary, fallback or offline), the emulator's log shows which
models were asked, and nothing is lost — the question and the exact answer the customer
saw are both stored.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from sipai.bootstrap import Sip, build_sip
from sipai.config import Settings
from sipai.dev import FakeGroqHandle
from sipai.dev.replies import REASONING_TEXT
from sipai.knowledge.base import KnowledgeBase
from sipai.support.texts import text

from .helpers import FALLBACK, PRIMARY, QUICK, UNLIMITED, assert_kept, calls, take_turn

#: The role chunk, then gpt-oss's reasoning (16 characters a chunk at the default 4 tokens).
BEFORE_CONTENT = 1 + math.ceil(len(REASONING_TEXT) / 16)
STREAMING = pytest.mark.parametrize("streaming", [False, True], ids=["complete", "stream"])


@pytest.fixture(scope="session")
async def kb() -> KnowledgeBase:
    """The bundled knowledge base, indexed once for the whole session."""
    return await KnowledgeBase.open(None)  # type: ignore[arg-type]


@pytest.fixture
async def sip(groq_settings: Callable[..., Settings], kb: KnowledgeBase,
              fake_groq: FakeGroqHandle) -> AsyncIterator[Sip]:
    """Sip built from settings by the composition root, talking to the emulator."""
    built = await build_sip(groq_settings(**UNLIMITED, **QUICK), kb=kb)
    try:
        yield built
    finally:
        await built.aclose()


async def one_turn(sip: Sip, user: str, streaming: bool, question: str | None = None) -> Any:
    # A question of its own per user, so that the answer cache never answers instead.
    question = question or f"WireGuard conecta pero no navega, dice {user}"
    turn = await take_turn(sip, user, question, streaming=streaming)
    assert_kept(turn, question)
    if streaming:
        assert turn.shown == turn.reply.answer  # every answer here reaches the screen
    return turn


@STREAMING
async def test_a_short_429_is_waited_out_on_the_primary(
        sip: Sip, fake_groq: FakeGroqHandle, streaming: bool) -> None:
    fake_groq.add_fault("429", model=PRIMARY, retry_after=1)
    turn = await one_turn(sip, "u429", streaming)
    assert (turn.reply.route, turn.reply.model) == ("primary", PRIMARY)
    assert [r["status"] for r in fake_groq.requests(PRIMARY)] == [429, 200]


@STREAMING
async def test_a_daily_429_switches_to_the_fallback_without_waiting(
        sip: Sip, fake_groq: FakeGroqHandle, streaming: bool) -> None:
    fake_groq.add_fault("429", model=PRIMARY, retry_after=3600)
    first = await one_turn(sip, "uday1", streaming)
    second = await one_turn(sip, "uday2", streaming)
    assert [t.reply.route for t in (first, second)] == ["fallback", "fallback"]
    assert first.reply.model == FALLBACK
    # The limiter remembers the retry-after: the second turn never asked the primary.
    assert calls(fake_groq.requests(), PRIMARY) == 1


@STREAMING
async def test_a_503_once_is_retried_on_the_primary(
        sip: Sip, fake_groq: FakeGroqHandle, streaming: bool) -> None:
    fake_groq.add_fault("503", model=PRIMARY)
    turn = await one_turn(sip, "u503", streaming)
    assert (turn.reply.route, turn.reply.model) == ("primary", PRIMARY)


@STREAMING
async def test_a_primary_failing_all_run_answers_from_the_fallback_and_opens_its_breaker(
        sip: Sip, fake_groq: FakeGroqHandle, streaming: bool) -> None:
    fake_groq.add_fault("503", model=PRIMARY, times=None)
    replies = []
    for i in range(7):
        replies.append((await one_turn(sip, f"udown{i}", streaming,
                                       f"pregunta {i} sobre wireguard")).reply)
        if i == 4:
            primary_calls = calls(fake_groq.requests(), PRIMARY)
    assert all((r.route, r.model) == ("fallback", FALLBACK) for r in replies)
    # Five failed turns open the breaker: the last two did not knock on the primary.
    assert calls(fake_groq.requests(), PRIMARY) == primary_calls
    assert calls(fake_groq.requests(), FALLBACK) == 7


@STREAMING
async def test_a_timeout_reroutes_to_the_fallback(
        sip: Sip, fake_groq: FakeGroqHandle, streaming: bool) -> None:
    fake_groq.add_fault("timeout", model=PRIMARY, seconds=6)
    turn = await one_turn(sip, "utimeout", streaming)
    assert (turn.reply.route, turn.reply.model) == ("fallback", FALLBACK)
    # The held request is still in flight (the log records it when it ends); a retry
    # would have found the fault used up and answered from the primary.
    assert fake_groq.stats()["faults_injected"] == {"timeout": 1}


async def test_a_stream_that_stalls_before_its_first_token_is_rerouted(
        sip: Sip, fake_groq: FakeGroqHandle) -> None:
    fake_groq.add_fault("timeout", model=PRIMARY, stream=True, after_chunks=1, seconds=6)
    turn = await one_turn(sip, "ustall", True)
    assert (turn.reply.route, turn.reply.model) == ("fallback", FALLBACK)
    assert fake_groq.stats()["faults_injected"] == {"timeout": 1}


@STREAMING
async def test_a_connection_dropped_before_the_answer_is_retried(
        sip: Sip, fake_groq: FakeGroqHandle, streaming: bool) -> None:
    fake_groq.add_fault("drop", model=PRIMARY, after_chunks=1)
    turn = await one_turn(sip, "udrop", streaming)
    assert (turn.reply.route, turn.reply.model) == ("primary", PRIMARY)
    assert calls(fake_groq.requests(), PRIMARY) == 2


async def test_a_stream_dropped_mid_answer_keeps_what_the_customer_saw(
        sip: Sip, fake_groq: FakeGroqHandle) -> None:
    fake_groq.add_fault("drop", model=PRIMARY, stream=True, after_chunks=BEFORE_CONTENT + 1)
    turn = await one_turn(sip, "ucut", True)
    cut = text("stream_cut", turn.reply.language)
    assert turn.reply.route == "primary" and turn.reply.answer.endswith(cut)
    assert turn.reply.answer.startswith("Echo: ")  # the part that had arrived
    assert calls(fake_groq.requests(), PRIMARY) == 1  # never re-sent after the first token


@STREAMING
async def test_a_malformed_chunk_or_body_is_retried(
        sip: Sip, fake_groq: FakeGroqHandle, streaming: bool) -> None:
    fake_groq.add_fault("malformed", model=PRIMARY, after_chunks=1)
    turn = await one_turn(sip, "umalformed", streaming)
    assert (turn.reply.route, turn.reply.model) == ("primary", PRIMARY)
    assert turn.reply.answer.startswith("Echo: ")
    assert calls(fake_groq.requests(), PRIMARY) == 2


@STREAMING
async def test_an_error_event_is_retried_before_the_first_token(
        sip: Sip, fake_groq: FakeGroqHandle, streaming: bool) -> None:
    fake_groq.add_fault("stream_error", model=PRIMARY, after_chunks=1)
    turn = await one_turn(sip, "uerror", streaming)
    assert (turn.reply.route, turn.reply.model) == ("primary", PRIMARY)
    assert calls(fake_groq.requests(), PRIMARY) == 2


@STREAMING
async def test_a_decommissioned_primary_hands_over_to_the_fallback(
        groq_settings: Callable[..., Settings], kb: KnowledgeBase,
        fake_groq: FakeGroqHandle, streaming: bool) -> None:
    settings = groq_settings(**UNLIMITED, **QUICK, groq_model="llama-3.3-70b-versatile")
    sip = await build_sip(settings, kb=kb)
    try:
        turn = await one_turn(sip, "uretired", streaming)
    finally:
        await sip.aclose()
    assert (turn.reply.route, turn.reply.model) == ("fallback", FALLBACK)
    assert [r["error_code"] for r in fake_groq.requests("llama-3.3-70b-versatile")] == [
        "model_decommissioned"]


@STREAMING
async def test_a_reasoning_only_reply_is_asked_again_with_more_room(
        sip: Sip, fake_groq: FakeGroqHandle, streaming: bool) -> None:
    fake_groq.add_fault("reasoning_only", model=PRIMARY)
    turn = await one_turn(sip, "ureasoning", streaming)
    assert (turn.reply.route, turn.reply.model) == ("primary", PRIMARY)
    bodies = [r["body"] for r in fake_groq.requests(PRIMARY)]
    assert len(bodies) == 2
    assert bodies[1]["max_completion_tokens"] > bodies[0]["max_completion_tokens"]


@STREAMING
async def test_a_full_outage_is_answered_by_the_offline_brain_with_a_human_offer(
        sip: Sip, fake_groq: FakeGroqHandle, streaming: bool) -> None:
    fake_groq.add_fault("outage")
    turns = [await one_turn(sip, f"uoutage{i}", streaming, f"wireguard no conecta {i}")
             for i in range(3)]
    for turn in turns:
        assert (turn.reply.route, turn.reply.mode) == ("offline", "offline")
        assert turn.reply.answer.startswith(text("provider_down", "es"))
        assert "/humano" in turn.reply.answer
        assert [m.status for m in turn.stored if m.role == "user"] == ["unanswered"]


@STREAMING
async def test_every_model_failing_gives_offline_answers(
        sip: Sip, fake_groq: FakeGroqHandle, streaming: bool) -> None:
    fake_groq.add_fault("503", times=None)
    for i in range(2):
        turn = await one_turn(sip, f"uall{i}", streaming, f"my VPN is slow, help {i}")
        assert turn.reply.route == "offline" and "/human" in turn.reply.answer
    assert calls(fake_groq.requests(), PRIMARY) > 0 and calls(fake_groq.requests(), FALLBACK) > 0
