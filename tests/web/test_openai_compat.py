"""The official `openai` and `groq` SDKs, unmodified, against Sip's OpenAI-compatible endpoint.

Offline Sip answers from the knowledge base; `llm_server` answers through the Groq emulator
(so deltas really stream from a model). Both SDKs run with their retries off, so every
error surfaces as the SDK's own exception.
"""

from __future__ import annotations

import json
import uuid

import groq
import httpx
import openai
import pytest

from .conftest import API_KEY, LiveServer
from .sse_client import parse_frames

QUESTION = "mi wireguard conecta pero no tengo internet"


def openai_client(server: LiveServer, key: str = API_KEY, **kw: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0, **kw)


def groq_client(server: LiveServer, key: str = API_KEY) -> groq.Groq:
    return groq.Groq(base_url=server.url, api_key=key, max_retries=0)


def test_models_list_only_sip(offline_server: LiveServer) -> None:
    assert [m.id for m in openai_client(offline_server).models.list()] == ["sip"]
    assert [m.id for m in groq_client(offline_server).models.list().data] == ["sip"]
    assert openai_client(offline_server).models.retrieve("sip").owned_by == "sip"


def test_openai_sdk_complete_offline(offline_server: LiveServer) -> None:
    completion = openai_client(offline_server).chat.completions.create(
        model="sip", messages=[{"role": "system", "content": "ignored"},
                               {"role": "user", "content": QUESTION}],
        user=f"sdk-{uuid.uuid4().hex[:8]}")

    assert completion.object == "chat.completion" and completion.model == "sip"
    assert "WireGuard" in (completion.choices[0].message.content or "")
    assert completion.choices[0].finish_reason == "stop"
    extra = completion.model_extra or {}
    assert extra["sip"]["sources"][0]["id"] == "wg-no-internet-es"


def test_openai_sdk_stream_offline_without_user(offline_server: LiveServer) -> None:
    stream = openai_client(offline_server).chat.completions.create(
        model="sip", messages=[{"role": "user", "content": QUESTION}], stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "WireGuard" in text
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None


def test_groq_sdk_complete_and_stream_offline(offline_server: LiveServer) -> None:
    client = groq_client(offline_server)
    completion = client.chat.completions.create(
        model="sip",
        messages=[{"role": "user", "content": "how do I install WireGuard on Windows?"}])
    assert "Windows" in (completion.choices[0].message.content or "")

    parts = [c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model="sip", messages=[{"role": "user", "content": QUESTION}], stream=True) if c.choices]
    assert "WireGuard" in "".join(parts)


def test_stream_framing_is_exactly_openais(offline_server: LiveServer) -> None:
    response = httpx.post(f"{offline_server.url}/v1/chat/completions", timeout=30, json={
        "model": "sip", "stream": True, "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": [{"type": "text", "text": QUESTION}]}]})

    frames = parse_frames(response.text)
    assert all(event == "message" for event, _ in frames)
    assert frames[-1][1] == "[DONE]"
    chunks = [json.loads(data) for _, data in frames[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert all("usage" in c for c in chunks)  # null until the usage chunk, as OpenAI does
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 0
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-2]["sip"]["route"] == "offline"


def test_user_header_names_the_customer(offline_server: LiveServer) -> None:
    uid = f"hdr-{uuid.uuid4().hex[:8]}"
    openai_client(offline_server, default_headers={"X-Sip-User": uid}).chat.completions.create(
        model="sip", messages=[{"role": "user", "content": QUESTION}])

    history = httpx.get(f"{offline_server.url}/api/users/{uid}/history").json()
    assert [m["text"] for m in history["messages"]][:1] == [QUESTION]


def test_sdk_errors(offline_server: LiveServer, keyed_server: LiveServer) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        openai_client(offline_server).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hola"}])
    assert missing.value.code == "model_not_found"

    with pytest.raises(openai.BadRequestError):
        openai_client(offline_server).chat.completions.create(
            model="sip", messages=[{"role": "assistant", "content": "hola"}])

    with pytest.raises(openai.AuthenticationError):
        openai_client(keyed_server, key="wrong").models.list()
    with pytest.raises(groq.AuthenticationError):
        groq_client(keyed_server, key="wrong").models.list()
    assert [m.id for m in openai_client(keyed_server).models.list()] == ["sip"]


def test_openai_sdk_streams_a_model_answer(llm_server: LiveServer) -> None:
    stream = openai_client(llm_server).chat.completions.create(
        model="sip", messages=[{"role": "user", "content": "[[len=600]] WireGuard help"}],
        stream=True, stream_options={"include_usage": True}, user=f"llm-{uuid.uuid4().hex[:6]}")
    chunks = list(stream)

    deltas = [c.choices[0].delta.content for c in chunks if c.choices and
              c.choices[0].delta.content]
    assert len(deltas) > 3, "the model's answer arrives in several chunks"
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason == "stop")
    sip = (final.model_extra or {})["sip"]
    assert sip["mode"] == "llm" and sip["route"] == "primary"
    assert sip["model"] == "openai/gpt-oss-120b"
    assert "".join(deltas).strip() == sip["answer"]  # the service trims the final text
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_groq_sdk_complete_and_stream_a_model_answer(llm_server: LiveServer) -> None:
    client = groq_client(llm_server)
    completion = client.chat.completions.create(
        model="sip", messages=[{"role": "user", "content": "[[len=200]] hola"}])
    assert completion.usage is not None and completion.usage.prompt_tokens > 0
    assert len(completion.choices[0].message.content or "") >= 150

    chunks = list(client.chat.completions.create(
        model="sip", messages=[{"role": "user", "content": "[[len=300]] otra pregunta"}],
        stream=True))
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 2
