"""Rate limits over real HTTP, with the clock compressed so a "minute" lasts one second."""

from __future__ import annotations

import asyncio
import re
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest

from sipai.dev import FakeGroqConfig, FakeGroqHandle, RateLimits
from sipai.llm.types import parse_go_duration

from .conftest import serve

CHAT = "chat/completions"
MODEL = "openai/gpt-oss-120b"
RATE_MESSAGE = re.compile(
    r"Rate limit reached for model `(?P<model>[^`]+)` in organization `org_\w+` service tier "
    r"`on_demand` on (?P<what>[a-z ]+) \((?P<name>[RT]P[MD])\): Limit (?P<limit>\d+), "
    r"Used (?P<used>\d+), Requested (?P<requested>\d+)\. Please try again in "
    r"(?P<wait>[0-9hms.]+)\. Need more tokens\?"
)


def _chat(model: str = MODEL, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hola"}], **extra}


def _server(**fields: Any) -> AbstractAsyncContextManager[
        tuple[FakeGroqHandle, httpx.AsyncClient]]:
    return serve(FakeGroqConfig(**fields))


async def test_rpm_refusal_message_headers_and_recovery() -> None:
    limits = RateLimits(rpm=3, tpm=0, rpd=1000, tpd=0)
    async with _server(limits=limits, time_scale=60) as (_, client):
        for _ in range(3):
            assert (await client.post(CHAT, json=_chat())).status_code == 200
        refused = await client.post(CHAT, json=_chat())
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert (error["type"], error["code"]) == ("requests", "rate_limit_exceeded")
        match = RATE_MESSAGE.match(error["message"])
        assert match is not None, error["message"]
        assert match["what"] == "requests per minute" and match["name"] == "RPM"
        assert (match["limit"], match["used"], match["requested"]) == ("3", "3", "1")
        wait = parse_go_duration(match["wait"])
        assert wait is not None and 0.1 < wait <= 0.34  # at most 20 emulated s, / 60
        assert refused.headers["retry-after"] == "1"
        assert refused.headers["x-ratelimit-limit-requests"] == "1000"
        assert refused.headers["x-ratelimit-remaining-requests"] == "997"
        await asyncio.sleep(wait + 0.05)
        assert (await client.post(CHAT, json=_chat())).status_code == 200


async def test_max_completion_tokens_counts_against_tpm() -> None:
    limits = RateLimits(rpm=0, tpm=1000, rpd=0, tpd=0)
    async with _server(limits=limits, time_scale=60) as (_, client):
        first = await client.post(CHAT, json=_chat(max_completion_tokens=600))
        assert first.status_code == 200
        prompt = first.json()["usage"]["prompt_tokens"]
        assert int(first.headers["x-ratelimit-remaining-tokens"]) in range(
            1000 - prompt - 600, 1000 - prompt - 600 + 3)
        refused = await client.post(CHAT, json=_chat(max_tokens=600))
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert error["type"] == "tokens"
        match = RATE_MESSAGE.match(error["message"])
        assert match is not None and match["name"] == "TPM"
        assert match["requested"] == str(prompt + 600)
        # Used: what the first request took, minus what flowed back since (1000/s here).
        assert prompt + 600 - 50 <= int(match["used"]) <= prompt + 600
        reset = parse_go_duration(refused.headers["x-ratelimit-reset-tokens"])
        assert reset is not None and 0 < reset <= 1.0


async def test_without_a_budget_the_actual_completion_is_counted() -> None:
    limits = RateLimits(rpm=0, tpm=1000, rpd=0, tpd=0)
    async with _server(limits=limits) as (_, client):
        response = await client.post(CHAT, json=_chat())
        usage = response.json()["usage"]
        remaining = int(response.headers["x-ratelimit-remaining-tokens"])
        assert 1000 - usage["total_tokens"] <= remaining <= 1000 - usage["total_tokens"] + 2


async def test_request_larger_than_tpm_is_413() -> None:
    async with _server() as (_, client):
        response = await client.post(CHAT, json=_chat(max_completion_tokens=9000))
        assert response.status_code == 413
        error = response.json()["error"]
        assert (error["type"], error["code"]) == ("tokens", "rate_limit_exceeded")
        prompt = 1 + 4  # "hola": ceil(4 / 4) + 4 per message
        assert error["message"].startswith(
            f"Request too large for model `{MODEL}` in organization `org_")
        assert (f"on tokens per minute (TPM): Limit 8000, Requested {prompt + 9000}, please "
                "reduce your message size and try again.") in error["message"]
        assert "retry-after" not in response.headers
        # Nothing was consumed by the refused request.
        assert response.headers["x-ratelimit-remaining-tokens"] == "8000"


async def test_limits_are_per_model() -> None:
    limits = RateLimits(rpm=1, tpm=0, rpd=0, tpd=0)
    async with _server(limits=limits,
                       model_limits={"openai/gpt-oss-20b": RateLimits.unlimited()}) as (_, c):
        assert (await c.post(CHAT, json=_chat())).status_code == 200
        assert (await c.post(CHAT, json=_chat())).status_code == 429
        for _ in range(5):
            assert (await c.post(CHAT, json=_chat("openai/gpt-oss-20b"))).status_code == 200
        assert (await c.post(CHAT, json=_chat("qwen/qwen3-32b"))).status_code == 200


async def test_requests_per_day_header_counts_down_and_rpd_refuses() -> None:
    limits = RateLimits(rpm=0, tpm=0, rpd=2, tpd=0)
    async with _server(limits=limits) as (_, client):
        first = await client.post(CHAT, json=_chat())
        assert first.headers["x-ratelimit-remaining-requests"] == "1"
        reset = parse_go_duration(first.headers["x-ratelimit-reset-requests"])
        assert reset == pytest.approx(43_200, rel=0.001)  # half a day refills one of two
        await client.post(CHAT, json=_chat())
        refused = await client.post(CHAT, json=_chat())
        assert refused.status_code == 429
        assert "requests per day (RPD)" in refused.json()["error"]["message"]
        assert int(refused.headers["retry-after"]) == pytest.approx(43_200, abs=2)


async def test_stats_count_admissions_per_minute_window() -> None:
    limits = RateLimits(rpm=2, tpm=0, rpd=0, tpd=0)
    async with _server(limits=limits, time_scale=60) as (groq, client):
        statuses = [(await client.post(CHAT, json=_chat())).status_code for _ in range(4)]
        assert statuses == [200, 200, 429, 429]
        await asyncio.sleep(1.05)  # past the first emulated minute, bucket full again
        statuses = [(await client.post(CHAT, json=_chat())).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        stats = (await client.get(groq.root_url + "/_fake/stats")).json()
        assert stats["admitted_per_window"][MODEL] == {"0": 2, "1": 2}
        assert stats["by_status"] == {"200": 4, "429": 3}
        assert stats["by_model"][MODEL]["total"] == 7


async def test_limits_change_at_runtime_through_the_control_api() -> None:
    async with _server() as (groq, client):
        changed = await client.post(groq.root_url + "/_fake/limits",
                                    json={"model": MODEL, "rpm": 1})
        assert changed.json() == {"model": MODEL, "rpm": 1, "tpm": 8000, "rpd": 1000,
                                  "tpd": 200000}
        assert (await client.post(CHAT, json=_chat())).status_code == 200
        assert (await client.post(CHAT, json=_chat())).status_code == 429
        bad = await client.post(groq.root_url + "/_fake/limits", json={"rpm": -1})
        assert bad.status_code == 400
        await client.post(groq.root_url + "/_fake/limits", json={"rpm": 0, "tpm": 0})
        assert (await client.post(CHAT, json=_chat("openai/gpt-oss-20b"))).status_code == 200
        assert "x-ratelimit-limit-tokens" not in (
            await client.post(CHAT, json=_chat("openai/gpt-oss-20b"))).headers


async def test_reset_refills_every_bucket() -> None:
    limits = RateLimits(rpm=1, tpm=0, rpd=0, tpd=0)
    async with _server(limits=limits) as (groq, client):
        assert (await client.post(CHAT, json=_chat())).status_code == 200
        assert (await client.post(CHAT, json=_chat())).status_code == 429
        groq.reset()
        assert (await client.post(CHAT, json=_chat())).status_code == 200
        assert groq.stats()["total"] == 1
