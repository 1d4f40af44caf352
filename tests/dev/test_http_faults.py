"""Every scripted fault, streamed and not, and the control API that scripts them."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest

from sipai.dev import FakeGroqConfig, FakeGroqHandle, Fault, run_fake_groq
from sipai.dev.replies import REASONING_TEXT

from .conftest import serve
from .sse import read_stream

CHAT = "chat/completions"
PRIMARY = "openai/gpt-oss-120b"
FALLBACK = "openai/gpt-oss-20b"


def _chat(model: str = PRIMARY, stream: bool = False, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hola"}],
            "stream": stream, **extra}


async def _status(http: httpx.AsyncClient, stream: bool, model: str = PRIMARY) -> int:
    if stream:
        return (await read_stream(http, CHAT, _chat(model, stream=True))).status
    return (await http.post(CHAT, json=_chat(model))).status_code


@pytest.mark.parametrize("stream", [False, True])
async def test_scripted_429_with_retry_after_then_recovery(
    fake_groq: FakeGroqHandle, http: httpx.AsyncClient, stream: bool
) -> None:
    fake_groq.add_fault("429:times=2,retry_after=3")
    for _ in range(2):
        response = await http.post(CHAT, json=_chat(stream=stream))
        assert response.status_code == 429
        assert response.headers["retry-after"] == "3"
        error = response.json()["error"]
        assert error["code"] == "rate_limit_exceeded"
        assert "Please try again in 3s." in error["message"]
        # A scripted refusal consumes no quota.
        assert response.headers["x-ratelimit-remaining-requests"] == "1000"
    assert await _status(http, stream) == 200
    assert fake_groq.stats()["faults_injected"] == {"rate_limit": 2}


@pytest.mark.parametrize("stream", [False, True])
async def test_503_on_the_primary_lets_the_fallback_answer(
    fake_groq: FakeGroqHandle, http: httpx.AsyncClient, stream: bool
) -> None:
    fake_groq.add_fault("503", model=PRIMARY)
    assert await _status(http, stream, FALLBACK) == 200
    response = await http.post(CHAT, json=_chat(stream=stream))
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["type"] == "internal_server_error"
    assert error["message"].startswith(f"{PRIMARY} is currently over capacity.")
    assert "retry-after" not in response.headers
    assert await _status(http, stream) == 200


async def test_503_can_carry_retry_after_and_a_custom_message(
    fake_groq: FakeGroqHandle, http: httpx.AsyncClient
) -> None:
    fake_groq.add_fault(Fault("over_capacity", retry_after=2.5, message="busy"))
    response = await http.post(CHAT, json=_chat())
    assert response.headers["retry-after"] == "3"
    assert response.json()["error"]["message"] == "busy"


@pytest.mark.parametrize(("spec", "status", "code"), [
    ("498", 498, "capacity_exceeded"),
    ("500", 500, "internal_server_error"),
])
@pytest.mark.parametrize("stream", [False, True])
async def test_flex_and_internal_errors(
    fake_groq: FakeGroqHandle, http: httpx.AsyncClient, stream: bool,
    spec: str, status: int, code: str
) -> None:
    fake_groq.add_fault(spec)
    response = await http.post(CHAT, json=_chat(stream=stream))
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert await _status(http, stream) == 200


async def test_outage_fails_everything_until_cleared(
    fake_groq: FakeGroqHandle, http: httpx.AsyncClient
) -> None:
    control = fake_groq.root_url + "/_fake/faults"
    await http.post(control, json={"kind": "outage"})
    for _ in range(3):
        assert await _status(http, False) == 503
        assert await _status(http, True, FALLBACK) == 503
        assert (await http.get("models")).status_code == 503
        assert (await http.post(CHAT, json=_chat("no/such"))).status_code == 503
    assert (await http.delete(control)).json()["pending"] == []
    assert await _status(http, False) == 200
    assert (await http.get("models")).status_code == 200


async def test_faults_can_target_one_mode(
    fake_groq: FakeGroqHandle, http: httpx.AsyncClient
) -> None:
    fake_groq.add_fault("503:stream=true")
    assert await _status(http, False) == 200
    assert await _status(http, True) == 503
    fake_groq.add_fault("503:stream=false")
    assert await _status(http, True) == 200
    assert await _status(http, False) == 503


async def test_timeout_holds_a_plain_request(
    fake_groq: FakeGroqHandle, http: httpx.AsyncClient
) -> None:
    fake_groq.add_fault("timeout:seconds=0.6")
    with pytest.raises(httpx.ReadTimeout):
        await http.post(CHAT, json=_chat(), timeout=0.2)
    fake_groq.add_fault("timeout:seconds=0.3")
    started = time.perf_counter()
    response = await http.post(CHAT, json=_chat())
    assert response.status_code == 200 and time.perf_counter() - started >= 0.29


async def test_timeout_holds_a_stream_before_headers_or_mid_way(
    fake_groq: FakeGroqHandle, http: httpx.AsyncClient
) -> None:
    fake_groq.add_fault("timeout:seconds=0.6,stream=true")
    async with httpx.AsyncClient(base_url=http.base_url, headers=http.headers,
                                 timeout=0.2) as impatient:
        with pytest.raises(httpx.ReadTimeout):
            await read_stream(impatient, CHAT, _chat(stream=True))
    fake_groq.add_fault("timeout:seconds=0.4,after=3")
    result = await read_stream(http, CHAT, _chat(stream=True))
    assert result.done
    gaps = [b - a for a, b in zip(result.arrivals, result.arrivals[1:], strict=False)]
    assert max(gaps) >= 0.35
    assert gaps.index(max(gaps)) == 2  # between the third and fourth frames


async def test_drop_closes_the_stream_without_done(
    fake_groq: FakeGroqHandle, http: httpx.AsyncClient
) -> None:
    fake_groq.add_fault("drop:after=3")
    result = await read_stream(http, CHAT, _chat(stream=True))
    assert isinstance(result.error, httpx.RemoteProtocolError)
    assert len(result.raw) == 3 and not result.done
    assert (await read_stream(http, CHAT, _chat(stream=True))).done
    assert fake_groq.last_request()["fault"] is None
    assert fake_groq.requests()[0]["fault"] == "drop"


async def test_drop_late_never_sends_done(
    fake_groq: FakeGroqHandle, http: httpx.AsyncClient
) -> None:
    fake_groq.add_fault("drop:after=1000")
    result = await read_stream(http, CHAT, _chat(stream=True))
    assert result.error is not None and not result.done
    assert result.chunks[-1]["choices"][0]["finish_reason"] == "stop"


async def test_drop_on_a_plain_request_cuts_the_body(
    fake_groq: FakeGroqHandle, http: httpx.AsyncClient
) -> None:
    fake_groq.add_fault("drop")
    with pytest.raises(httpx.RemoteProtocolError):
        await http.post(CHAT, json=_chat())
    assert (await http.post(CHAT, json=_chat())).status_code == 200


async def test_malformed_chunk_mid_stream_then_the_rest(
    fake_groq: FakeGroqHandle, http: httpx.AsyncClient
) -> None:
    fake_groq.add_fault("malformed:after=2")
    result = await read_stream(http, CHAT, _chat(stream=True))
    assert result.done
    bad = [raw for raw in result.raw if raw != "[DONE]" and not _parses(raw)]
    assert len(bad) == 1 and result.raw.index(bad[0]) == 2
    assert result.content == "Echo: hola"


async def test_malformed_plain_body(fake_groq: FakeGroqHandle, http: httpx.AsyncClient) -> None:
    fake_groq.add_fault("malformed")
    response = await http.post(CHAT, json=_chat())
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


def _parses(raw: str) -> bool:
    try:
        json.loads(raw)
    except json.JSONDecodeError:
        return False
    return True


async def test_error_event_mid_stream(fake_groq: FakeGroqHandle, http: httpx.AsyncClient) -> None:
    fake_groq.add_fault("error:after=2,message=Service Unavailable")
    result = await read_stream(http, CHAT, _chat(stream=True))
    assert result.error is None and not result.done
    assert len(result.chunks) == 3
    assert result.chunks[-1] == {"error": {"message": "Service Unavailable",
                                           "type": "internal_server_error",
                                           "code": "internal_server_error"}}


async def test_error_fault_on_a_plain_request_is_500(
    fake_groq: FakeGroqHandle, http: httpx.AsyncClient
) -> None:
    fake_groq.add_fault("stream_error")
    response = await http.post(CHAT, json=_chat())
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "internal_server_error"


@pytest.mark.parametrize("stream", [False, True])
async def test_reasoning_only_reply(
    fake_groq: FakeGroqHandle, http: httpx.AsyncClient, stream: bool
) -> None:
    fake_groq.add_fault("reasoning_only")
    body = _chat(stream=stream, max_completion_tokens=200)
    if stream:
        result = await read_stream(http, CHAT, body)
        content, reasoning = result.content, result.reasoning
        finish = result.chunks[-1]["choices"][0]["finish_reason"]
        usage = result.chunks[-1]["x_groq"]["usage"]
    else:
        reply = (await http.post(CHAT, json=body)).json()
        choice = reply["choices"][0]
        content, reasoning = choice["message"]["content"], choice["message"]["reasoning"]
        finish, usage = choice["finish_reason"], reply["usage"]
    assert content == "" and finish == "length"
    assert reasoning.startswith(REASONING_TEXT) and len(reasoning) == 800
    assert usage["completion_tokens"] == 200


async def test_control_api_adds_lists_replaces_and_validates(
    fake_groq: FakeGroqHandle, http: httpx.AsyncClient
) -> None:
    control = fake_groq.root_url + "/_fake/faults"
    added = await http.post(control, json=[{"kind": "429"}, {"kind": "drop", "after": 1}])
    assert [f["kind"] for f in added.json()["pending"]] == ["rate_limit", "drop"]
    replaced = await http.post(control, json={"faults": [{"kind": "503", "times": 3}],
                                              "replace": True})
    assert replaced.json()["pending"] == [Fault("over_capacity", times=3).to_json()]
    for bad in ({"kind": "nope"}, {"kind": "429", "times": 0}, {"kind": "429", "x": 1}, [1]):
        response = await http.post(control, json=bad)
        assert response.status_code == 400 and "error" in response.json()
    assert (await http.post(control, content=b"{oops")).status_code == 400
    assert len(fake_groq.pending_faults()) == 1
    assert (await http.post(fake_groq.root_url + "/_fake/reset")).json() == {"ok": True}
    assert (await http.get(control)).json() == {"pending": [], "injected": {}}


async def test_faults_from_config_and_runtime_latency() -> None:
    config = FakeGroqConfig(faults=[Fault("over_capacity", times=1)])
    async with serve(config) as (groq, client):
        assert (await client.post(CHAT, json=_chat())).status_code == 503
        assert (await client.post(CHAT, json=_chat())).status_code == 200
        changed = await client.post(groq.root_url + "/_fake/config", json={"ttft_ms": 300})
        assert changed.json()["ttft_ms"] == 300
        started = time.perf_counter()
        await client.post(CHAT, json=_chat())
        assert time.perf_counter() - started >= 0.29
        bad = await client.post(groq.root_url + "/_fake/config", json={"time_scale": 2})
        assert bad.status_code == 400
    # The config's own fault list is a template: the server consumed a copy.
    assert config.faults[0].times == 1


async def test_streams_in_flight_when_the_server_stops_do_not_hang_shutdown() -> None:
    async with run_fake_groq(FakeGroqConfig(tps=5)) as groq:
        client = httpx.AsyncClient(base_url=groq.base_url + "/",
                                   headers={"authorization": "Bearer gsk_k"})
        task = asyncio.create_task(read_stream(client, CHAT, _chat(stream=True)))
        await asyncio.sleep(0.2)
        started = time.perf_counter()
    assert time.perf_counter() - started < 3
    result = await task
    assert not result.done
    await client.aclose()
