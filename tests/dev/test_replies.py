"""The emulator's reply rules and token estimate (pure functions)."""

from __future__ import annotations

import json
import math

from sipai.dev.replies import (
    REASONING_TEXT,
    chat_reply,
    embed,
    estimate_tokens,
    paragraphs,
    prompt_tokens,
    reasoning_only,
)


def _body(text: str, **extra: object) -> dict[str, object]:
    return {"model": "m", "messages": [{"role": "system", "content": "Be kind."},
                                       {"role": "user", "content": text}], **extra}


def test_echo_keeps_special_characters_verbatim() -> None:
    reply = chat_reply(_body("¿Qué es <b>WireGuard</b> & OpenVPN?"), reasoning_model=False)
    assert reply.content == "Echo: ¿Qué es <b>WireGuard</b> & OpenVPN?"
    assert reply.reasoning == "" and reply.finish_reason == "stop"


def test_echo_uses_the_last_user_message_and_text_parts() -> None:
    body = {"messages": [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "Echo: first"},
        {"role": "user", "content": [{"type": "text", "text": "second "},
                                     {"type": "image_url", "image_url": {"url": "x"}},
                                     {"type": "text", "text": "part"}]},
    ]}
    assert chat_reply(body, reasoning_model=False).content == "Echo: second part"


def test_token_estimate_is_ceil_chars_over_four_plus_four_per_message() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    messages = [{"role": "system", "content": "x" * 10}, {"role": "user", "content": "y" * 4}]
    assert prompt_tokens(messages) == (3 + 4) + (1 + 4)
    reply = chat_reply({"messages": messages}, reasoning_model=True)
    assert reply.prompt_tokens == 12
    assert reply.completion_tokens == (
        math.ceil(len(REASONING_TEXT) / 4) + math.ceil(len("Echo: yyyy") / 4)
    )


def test_length_marker_gives_exact_length_in_paragraphs() -> None:
    reply = chat_reply(_body("Long please [[len=6000]]"), reasoning_model=False)
    assert len(reply.content) == 6000
    assert reply.content.count("\n\n") >= 10
    assert reply.content == paragraphs(6000)
    assert chat_reply(_body("[[len=6000]]"), reasoning_model=False).content == reply.content


def test_reasoning_depends_on_effort_and_marker() -> None:
    low = chat_reply(_body("hi"), reasoning_model=True).reasoning
    high = chat_reply(_body("hi", reasoning_effort="high"), reasoning_model=True).reasoning
    assert low == REASONING_TEXT
    assert high == " ".join([REASONING_TEXT] * 4)
    assert len(chat_reply(_body("hi [[reasoning=500]]"), reasoning_model=True).reasoning) == 500
    assert chat_reply(_body("hi [[reasoning=0]]"), reasoning_model=True).reasoning == ""


def test_small_budget_is_eaten_by_reasoning_like_gpt_oss() -> None:
    reply = chat_reply(_body("hi", max_completion_tokens=10), reasoning_model=True)
    assert reply.content == ""
    assert reply.finish_reason == "length"
    assert reply.completion_tokens == 10
    assert reply.reasoning == REASONING_TEXT[:40]


def test_budget_left_after_reasoning_cuts_the_content() -> None:
    reasoning_tokens = estimate_tokens(REASONING_TEXT)
    reply = chat_reply(_body("[[len=400]]", max_tokens=reasoning_tokens + 5),
                       reasoning_model=True)
    assert reply.content == paragraphs(400)[:20]
    assert reply.finish_reason == "length"
    roomy = chat_reply(_body("[[len=400]]", max_completion_tokens=1000), reasoning_model=True)
    assert roomy.finish_reason == "stop" and len(roomy.content) == 400


def test_stop_string_cuts_before_it() -> None:
    reply = chat_reply(_body("alpha STOP beta", stop=["zzz", "STOP"]), reasoning_model=False)
    assert reply.content == "Echo: alpha "
    assert reply.finish_reason == "stop"


def test_json_response_format_returns_json() -> None:
    reply = chat_reply(_body("a \"quoted\" ñ", response_format={"type": "json_object"}),
                       reasoning_model=False)
    assert json.loads(reply.content) == {"echo": "a \"quoted\" ñ"}


def test_hidden_reasoning_still_counts() -> None:
    reply = chat_reply(_body("hi", include_reasoning=False), reasoning_model=True)
    assert not reply.show_reasoning
    assert reply.reasoning_tokens > 0


def test_reasoning_only_fills_the_budget() -> None:
    reply = reasoning_only(chat_reply(_body("hi"), reasoning_model=True), budget=300)
    assert reply.content == "" and reply.finish_reason == "length"
    assert reply.completion_tokens == 300


def test_embeddings_are_deterministic_unit_vectors_with_shared_words_closer() -> None:
    a = embed("WireGuard connects but no internet", 768)
    assert a == embed("WireGuard connects but no internet", 768)
    assert math.isclose(sum(v * v for v in a), 1.0, rel_tol=1e-4)
    b = embed("WireGuard has no internet", 768)
    c = embed("billing invoice refund", 768)

    def cosine(x: list[float], y: list[float]) -> float:
        return sum(p * q for p, q in zip(x, y, strict=True))

    assert cosine(a, b) > 0.5 > cosine(a, c)
