"""Every error status and body shape the emulator sends, over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sipai.dev import FakeGroqConfig, FakeGroqHandle

from .conftest import KEY, serve

CHAT = "chat/completions"


def _chat(**extra: Any) -> dict[str, Any]:
    return {"model": "openai/gpt-oss-120b",
            "messages": [{"role": "user", "content": "hola"}], **extra}


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error


@pytest.mark.parametrize("auth", [None, "Bearer", "Bearer sk-not-groq", "Basic gsk_x"])
async def test_missing_or_wrong_key_is_401_invalid_api_key(
    fake_groq: FakeGroqHandle, auth: str | None
) -> None:
    headers = {"authorization": auth} if auth is not None else {}
    async with httpx.AsyncClient(base_url=fake_groq.base_url + "/", headers=headers) as client:
        for response in (await client.post(CHAT, json=_chat()), await client.get("models")):
            error = _error(response, 401)
            assert error == {"message": "Invalid API Key", "type": "invalid_request_error",
                             "code": "invalid_api_key"}
            assert "x-ratelimit-limit-tokens" not in response.headers
            assert response.headers["x-request-id"].startswith("req_")


async def test_configured_key_is_the_only_one_accepted() -> None:
    async with serve(FakeGroqConfig(api_key="gsk_right"), key=None) as (_, client):
        good = await client.get("models", headers={"authorization": "Bearer gsk_right"})
        bad = await client.get("models", headers={"authorization": "Bearer gsk_wrong"})
    assert good.status_code == 200
    assert _error(bad, 401)["code"] == "invalid_api_key"


async def test_unknown_model_and_bare_alias_are_404(http: httpx.AsyncClient) -> None:
    for model in ("gpt-oss-120b", "no/such-model"):
        error = _error(await http.post(CHAT, json=_chat(model=model)), 404)
        assert error["code"] == "model_not_found"
        assert error["type"] == "invalid_request_error"
        assert f"`{model}`" in error["message"]
    assert _error(await http.get("models/gpt-oss-120b"), 404)["code"] == "model_not_found"


@pytest.mark.parametrize(("model", "successor"), [
    ("llama-3.3-70b-versatile", "openai/gpt-oss-120b"),
    ("llama-3.1-8b-instant", "openai/gpt-oss-20b"),
])
async def test_decommissioned_models_are_400_naming_the_successor(
    http: httpx.AsyncClient, model: str, successor: str
) -> None:
    error = _error(await http.post(CHAT, json=_chat(model=model)), 400)
    assert error["code"] == "model_decommissioned"
    assert "decommissioned" in error["message"] and f"`{successor}`" in error["message"]


async def test_malformed_json_is_400(http: httpx.AsyncClient) -> None:
    for raw in (b"{not json", b"[1, 2]", b"", b'{"model": NaN}'):
        response = await http.post(CHAT, content=raw,
                                   headers={"content-type": "application/json"})
        assert _error(response, 400)["type"] == "invalid_request_error"


@pytest.mark.parametrize(("extra", "needle"), [
    ({"n": 2}, "'n'"),
    ({"logprobs": True}, "logprobs"),
    ({"top_logprobs": 2}, "logprobs"),
    ({"logit_bias": {"50256": -100}}, "logit_bias"),
    ({"stop": ["a", "b", "c", "d", "e"]}, "maximum number of items is 4"),
    ({"temperature": 2.5}, "'temperature' : number must be at most 2"),
    ({"temperature": -0.1}, "'temperature' : number must be at least 0"),
    ({"top_p": 1.5}, "'top_p' : number must be at most 1"),
    ({"max_completion_tokens": 0}, "at least 1"),
    ({"max_completion_tokens": 70_000}, "less than or equal to `65536`"),
    ({"reasoning_effort": "extreme"}, "reasoning_effort"),
    ({"stream_options": {"include_usage": True}}, "stream_options"),
    ({"frobnicate": True}, "property 'frobnicate' is unsupported"),
    ({"messages": []}, "minimum number of items is 1"),
    ({"messages": [{"role": "wizard", "content": "x"}]}, "'role'"),
])
async def test_invalid_parameters_are_400_like_groq(
    http: httpx.AsyncClient, extra: dict[str, Any], needle: str
) -> None:
    error = _error(await http.post(CHAT, json=_chat(**extra)), 400)
    assert error["type"] == "invalid_request_error"
    assert needle in error["message"]


async def test_four_stop_strings_and_edge_values_are_fine(http: httpx.AsyncClient) -> None:
    response = await http.post(CHAT, json=_chat(stop=["a", "b", "c", "d"], temperature=2,
                                                top_p=0, n=1, logprobs=False))
    assert response.status_code == 200, response.text


async def test_context_window_overflow_is_400(http: httpx.AsyncClient) -> None:
    huge = "x" * (4 * 131_072)
    body = _chat(messages=[{"role": "user", "content": huge}])
    error = _error(await http.post(CHAT, json=body), 400)
    assert error["code"] == "context_length_exceeded"


async def test_models_of_the_wrong_kind_are_refused(http: httpx.AsyncClient) -> None:
    assert _error(await http.post(CHAT, json=_chat(model="nomic-embed-text-v1_5")), 400)
    embedding = await http.post("embeddings", json={"model": "openai/gpt-oss-120b",
                                                     "input": "x"})
    assert "embeddings" in _error(embedding, 400)["message"]


async def test_unknown_urls_and_methods_get_json_errors(http: httpx.AsyncClient) -> None:
    assert _error(await http.get("nope"), 404)["code"] == "unknown_url"
    assert _error(await http.delete("models"), 405)["code"] == "unknown_url"


async def test_errors_after_auth_carry_rate_limit_headers(http: httpx.AsyncClient) -> None:
    response = await http.post(CHAT, json=_chat(model="no/such-model"))
    assert response.status_code == 404
    assert response.headers["x-ratelimit-limit-requests"] == "1000"
    assert response.headers["x-ratelimit-limit-tokens"] == "8000"


async def test_an_unlimited_server_is_still_strict_about_keys() -> None:
    async with serve(FakeGroqConfig.unlimited(), key=None) as (_, client):
        ok = await client.get("models", headers={"authorization": f"Bearer {KEY}"})
        assert ok.status_code == 200
        assert "x-ratelimit-limit-tokens" not in ok.headers
        assert (await client.get("models")).status_code == 401
