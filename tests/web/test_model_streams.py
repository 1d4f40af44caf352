"""Sip's SSE stream when a model answers (Groq emulator): deltas, failures, disconnects."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from sipai.dev.server import FakeGroqHandle

from .conftest import API_KEY, LiveServer
from .sse_client import read_events


@pytest.fixture
def api(llm_server: LiveServer, fake_groq: FakeGroqHandle) -> Iterator[httpx.Client]:
    fake_groq.reset()
    with httpx.Client(base_url=llm_server.url, headers={"X-API-Key": API_KEY},
                      timeout=30) as client:
        yield client
    fake_groq.reset()
    fake_groq.configure(ttft_ms=0, tps=0)


def user() -> str:
    return f"stream-{uuid.uuid4().hex[:10]}"


def stream_turn(api: httpx.Client, uid: str, message: str) -> list[tuple[str, dict]]:
    with api.stream("POST", "/api/chat", json={"user_id": uid, "message": message,
                                               "stream": True}) as response:
        assert response.status_code == 200
        return read_events(response)


def test_model_answer_streams_in_many_deltas(api: httpx.Client) -> None:
    events = stream_turn(api, user(), "[[len=800]] WireGuard sin internet")

    deltas = [data["text"] for name, data in events if name == "delta"]
    name, reply = events[-1]
    assert name == "reply" and len(deltas) > 5
    assert reply["mode"] == "llm" and reply["route"] == "primary"
    assert reply["usage"]["completion_tokens"] > 0 and reply["cost_usd"] > 0
    assert "".join(deltas).strip() == reply["answer"]


def test_provider_failure_before_the_first_token_falls_back_to_the_offline_brain(
        api: httpx.Client, fake_groq: FakeGroqHandle) -> None:
    fake_groq.add_fault("outage")

    events = stream_turn(api, user(), "mi wireguard conecta pero no tengo internet")

    name, reply = events[-1]
    assert name == "reply" and reply["route"] == "offline"
    assert reply["sources"] and [n for n, _ in events].count("delta") >= 1


def test_a_stream_cut_midway_keeps_what_was_shown(api: httpx.Client,
                                                  fake_groq: FakeGroqHandle) -> None:
    # The connection drops after 40 chunks: well into the answer's text.
    fake_groq.add_fault("drop", after_chunks=40, stream=True, times=10)

    events = stream_turn(api, user(), "[[len=800]] hola")

    deltas = [data["text"] for name, data in events if name == "delta"]
    name, reply = events[-1]
    assert name == "reply" and reply["route"] == "primary"
    assert len(deltas) > 10 and "se cortó" in deltas[-1], "the customer is told it was cut"
    assert reply["answer"] == "".join(deltas)


def test_a_stream_that_fails_before_any_text_falls_back(api: httpx.Client,
                                                        fake_groq: FakeGroqHandle) -> None:
    # Dropped after the role and reasoning chunks, before any answer text was shown.
    fake_groq.add_fault("drop", after_chunks=4, stream=True, times=10)

    events = stream_turn(api, user(), "[[len=800]] hola")

    assert [name for name, _ in events] == ["delta", "reply"]
    assert events[-1][1]["route"] == "offline"


def test_answer_is_stored_even_if_the_client_goes_away(api: httpx.Client,
                                                       fake_groq: FakeGroqHandle) -> None:
    fake_groq.configure(ttft_ms=50, tps=200)  # about 5 s for the whole answer
    uid = user()
    with api.stream("POST", "/api/chat", json={"user_id": uid, "stream": True,
                                               "message": "[[len=4000]] una pregunta larga"}
                    ) as response:
        for line in response.iter_lines():
            if line.startswith("event: delta"):
                break  # the customer closes the tab after the first words

    for _ in range(200):
        history = api.get(f"/api/users/{uid}/history").json()["messages"]
        if len(history) == 2:
            break
        time.sleep(0.1)
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert len(history[1]["text"]) > 3000 and history[1]["mode"] == "llm"
