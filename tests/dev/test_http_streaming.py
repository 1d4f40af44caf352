"""Response shapes, streaming frames, pacing and concurrency over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import time
from typing import Any

import httpx
import pytest

from sipai.dev import FakeGroqConfig, FakeGroqHandle, run_fake_groq
from sipai.dev.replies import REASONING_TEXT, paragraphs

from .conftest import KEY, serve
from .sse import read_stream

CHAT = "chat/completions"
MODEL = "openai/gpt-oss-120b"
USAGE_KEYS = ["queue_time", "prompt_tokens", "prompt_time", "completion_tokens",
              "completion_time", "total_tokens", "total_time"]


def _chat(text: str = "¿Por qué <b>no</b> conecta & qué hago?", **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "system", "content": "Eres Sip."},
                                         {"role": "user", "content": text}], **extra}


async def test_non_streamed_chat_completion_has_groqs_shape(http: httpx.AsyncClient) -> None:
    response = await http.post(CHAT, json=_chat())
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["id", "object", "created", "model", "choices", "usage",
                          "system_fingerprint", "x_groq", "service_tier"]
    assert body["id"].startswith("chatcmpl-") and body["object"] == "chat.completion"
    assert body["model"] == MODEL and body["system_fingerprint"].startswith("fp_")
    assert body["x_groq"] == {"id": response.headers["x-request-id"]}
    choice = body["choices"][0]
    assert choice == {
        "index": 0,
        "message": {"role": "assistant",
                    "content": "Echo: ¿Por qué <b>no</b> conecta & qué hago?",
                    "reasoning": REASONING_TEXT},
        "logprobs": None,
        "finish_reason": "stop",
    }
    usage = body["usage"]
    assert list(usage)[:7] == USAGE_KEYS
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["completion_tokens_details"]["reasoning_tokens"] > 0


async def test_plain_models_have_no_reasoning(http: httpx.AsyncClient) -> None:
    body = (await http.post(CHAT, json=_chat(model="qwen/qwen3-32b"))).json()
    assert "reasoning" not in body["choices"][0]["message"]
    assert "completion_tokens_details" not in body["usage"]


async def test_stream_frames_in_groqs_order(http: httpx.AsyncClient) -> None:
    body = _chat(stream=True, stream_options={"include_usage": True})
    result = await read_stream(http, CHAT, body)
    assert result.status == 200 and result.done and result.raw[-1] == "[DONE]"
    assert result.headers["content-type"].startswith("text/event-stream")
    chunks = result.chunks
    first, final, usage_chunk = chunks[0], chunks[-2], chunks[-1]
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert first["x_groq"] == {"id": result.headers["x-request-id"]}
    assert {c["id"] for c in chunks} == {first["id"]}
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    kinds = [next(iter(c["choices"][0]["delta"])) for c in chunks[1:-2]]
    assert kinds == sorted(kinds, key=lambda k: k != "reasoning")  # reasoning first
    assert result.reasoning == REASONING_TEXT
    assert result.content == "Echo: ¿Por qué <b>no</b> conecta & qué hago?"
    assert final["choices"][0] == {"index": 0, "delta": {}, "logprobs": None,
                                   "finish_reason": "stop"}
    assert list(final["x_groq"]["usage"])[:7] == USAGE_KEYS
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"] == final["x_groq"]["usage"]


async def test_stream_without_include_usage_has_no_usage_chunk(http: httpx.AsyncClient) -> None:
    result = await read_stream(http, CHAT, _chat(stream=True))
    assert result.done
    assert all(c["choices"] for c in result.chunks)
    assert "usage" in result.chunks[-1]["x_groq"]


async def test_reasoning_budget_exhaustion_streams_no_content(http: httpx.AsyncClient) -> None:
    result = await read_stream(http, CHAT, _chat(stream=True, max_completion_tokens=8))
    assert result.content == "" and result.reasoning == REASONING_TEXT[:32]
    assert result.chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert result.chunks[-1]["x_groq"]["usage"]["completion_tokens"] == 8


async def test_long_answers_arrive_whole(http: httpx.AsyncClient) -> None:
    result = await read_stream(http, CHAT, _chat("[[len=6000]]", stream=True))
    assert result.content == paragraphs(6000)


async def test_ttft_and_tokens_per_second_pace_the_stream() -> None:
    config = FakeGroqConfig(ttft_ms=200, tps=400)
    async with serve(config) as (_, client):
        result = await read_stream(client, CHAT, _chat("[[len=400]]", stream=True))
        started = time.perf_counter()
        plain = await client.post(CHAT, json=_chat("[[len=400]]"))
        plain_elapsed = time.perf_counter() - started
    tokens = result.chunks[-1]["x_groq"]["usage"]["completion_tokens"]
    expected = 0.2 + tokens / 400
    assert result.arrivals[0] >= 0.19
    assert expected - 0.05 <= result.arrivals[-1] <= expected + 0.5
    # Frames are spread over the generation, not sent in one burst.
    assert result.arrivals[len(result.arrivals) // 2] < expected - 0.1
    assert expected - 0.05 <= plain_elapsed <= expected + 0.5
    assert plain.json()["usage"]["completion_time"] == pytest.approx(tokens / 400)


async def _raw_stream(port: int, text: str) -> bytes:
    """One streamed request over a bare socket (httpx is slower than the server here)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    payload = json.dumps(_chat(text, stream=True)).encode()
    writer.write(
        b"POST /openai/v1/chat/completions HTTP/1.1\r\nHost: fake\r\n"
        + f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n".encode()
        + f"Connection: close\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
        + payload
    )
    await writer.drain()
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    return data


async def test_hundreds_of_concurrent_streams_are_served_together() -> None:
    config = FakeGroqConfig.unlimited(ttft_ms=300, tps=200)
    async with run_fake_groq(config) as groq:
        started = time.perf_counter()
        replies = await asyncio.gather(*(_raw_stream(groq.port, f"user {i}")
                                         for i in range(500)))
        elapsed = time.perf_counter() - started
        stats = groq.stats()
    for i, reply in enumerate(replies):
        assert reply.startswith(b"HTTP/1.1 200 OK")
        assert f'"content":"Echo: user {i}"'.encode() in reply
        assert reply.endswith(b"data: [DONE]\n\n\r\n0\r\n\r\n")  # chunked end
    assert stats["max_in_flight"] >= 450
    assert stats["in_flight"] == 0
    # One stream lasts about 0.5 s; serving them one by one would take minutes.
    assert elapsed < 10


async def test_a_client_disconnect_ends_the_stream_on_the_server() -> None:
    async with serve(FakeGroqConfig(tps=20)) as (groq, client):
        result = await read_stream(client, CHAT, _chat("[[len=4000]]", stream=True),
                                   max_events=2)
        assert len(result.raw) == 2
        for _ in range(100):
            if groq.stats()["in_flight"] == 0:
                break
            await asyncio.sleep(0.02)
        assert groq.stats()["in_flight"] == 0


async def test_legacy_completions_plain_and_streamed(http: httpx.AsyncClient) -> None:
    body = {"model": MODEL, "prompt": "Say <hi> & bye", "max_tokens": 50}
    plain = (await http.post("completions", json=body)).json()
    assert plain["object"] == "text_completion" and plain["id"].startswith("cmpl-")
    assert plain["choices"][0] == {"text": "Echo: Say <hi> & bye", "index": 0,
                                   "logprobs": None, "finish_reason": "stop"}
    result = await read_stream(http, "completions", {**body, "stream": True})
    assert result.done
    assert "".join(c["choices"][0]["text"] for c in result.chunks) == "Echo: Say <hi> & bye"
    assert result.chunks[-1]["choices"][0]["finish_reason"] == "stop"


async def test_embeddings_as_floats_and_base64(http: httpx.AsyncClient) -> None:
    body = {"model": "nomic-embed-text-v1_5", "input": ["WireGuard sin internet", "pagos"]}
    floats = (await http.post("embeddings", json=body)).json()
    assert floats["object"] == "list" and floats["model"] == "nomic-embed-text-v1_5"
    assert [d["index"] for d in floats["data"]] == [0, 1]
    assert len(floats["data"][0]["embedding"]) == 768
    assert floats["usage"] == {"prompt_tokens": 6 + 2, "total_tokens": 8}
    packed = (await http.post("embeddings", json={**body, "encoding_format": "base64"})).json()
    decoded = struct.unpack("<768f", base64.b64decode(packed["data"][0]["embedding"]))
    assert decoded == pytest.approx(floats["data"][0]["embedding"], abs=1e-6)
    short = (await http.post("embeddings", json={**body, "dimensions": 64})).json()
    assert len(short["data"][1]["embedding"]) == 64


async def test_model_listing_and_retrieval(http: httpx.AsyncClient,
                                           fake_groq: FakeGroqHandle) -> None:
    listing = (await http.get("models")).json()
    ids = [m["id"] for m in listing["data"]]
    assert ids[:2] == ["openai/gpt-oss-120b", "openai/gpt-oss-20b"]
    assert listing["data"][0] == {
        "id": "openai/gpt-oss-120b", "object": "model", "created": 1754408224,
        "owned_by": "OpenAI", "active": True, "context_window": 131072,
        "public_apps": None, "max_completion_tokens": 65536,
    }
    one = (await http.get("models/openai%2Fgpt-oss-20b")).json()
    assert one["id"] == "openai/gpt-oss-20b"
    assert (await http.get("models/openai/gpt-oss-20b")).json() == one
    assert (await http.get("models/llama-3.3-70b-versatile")).status_code == 404
