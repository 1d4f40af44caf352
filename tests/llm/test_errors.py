"""Every provider failure comes out of the client as the right class of Sip's error tree.

Real HTTP against the Groq emulator on a free port; retries are off (NO_RETRY) so each
test sees the first failure, and no message, repr or log line ever contains the key.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sipai.dev import FakeGroqConfig, FakeGroqHandle, RateLimits, run_fake_groq
from sipai.errors import (
    AuthenticationError,
    CapacityExceeded,
    ModelDecommissioned,
    ModelNotFound,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    Rejected,
    RequestTooLarge,
    RetryableError,
    StreamInterrupted,
)
from sipai.llm.client import LLMClient
from sipai.llm.retry import NO_RETRY
from sipai.llm.translate import from_status, retry_after
from sipai.llm.types import TextDelta

from .conftest import KEY, MODEL, chat_requests, user


def assert_no_key(error: BaseException) -> None:
    """The key appears in none of the ways an error can be shown."""
    for text in (str(error), repr(error), getattr(error, "message", "")):
        assert KEY not in text
        assert KEY[4:] not in text


async def failing_complete(client: LLMClient, **params: Any) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await client.complete(user("hola"), retry=NO_RETRY, **params)
    assert_no_key(caught.value)
    return caught.value


async def failing_stream(client: LLMClient, text: str = "hola") -> tuple[ProviderError, str]:
    """The error a stream raised and the text that reached the caller before it."""
    seen: list[str] = []
    with pytest.raises(ProviderError) as caught:
        async for event in client.stream(user(text), retry=NO_RETRY):
            if isinstance(event, TextDelta):
                seen.append(event.text)
    assert_no_key(caught.value)
    return caught.value, "".join(seen)


async def test_401_is_authentication_error_with_groq_code(
    make_client: Callable[..., LLMClient],
) -> None:
    async with run_fake_groq(FakeGroqConfig(api_key="gsk_the0only0accepted0key")) as groq:
        client = make_client(groq.base_url)
        error = await failing_complete(client)
        with pytest.raises(AuthenticationError) as listing:
            await client.models()
    assert isinstance(error, AuthenticationError) and isinstance(error, Rejected)
    assert error.status == 401
    assert error.code == "invalid_api_key"
    assert error.message == "Invalid API Key"
    assert not error.retryable
    assert_no_key(listing.value)


async def test_404_unknown_model_is_model_not_found(client: LLMClient) -> None:
    error = await failing_complete(client, model="no-such/model")
    assert isinstance(error, ModelNotFound)
    assert (error.status, error.code, error.model) == (404, "model_not_found", "no-such/model")
    with pytest.raises(ModelNotFound):
        await client.model("no-such/model")


async def test_bare_alias_is_404_on_the_wire(client: LLMClient) -> None:
    """Groq answers 404 to the bare `gpt-oss-120b`: settings normalise it, the wire does not."""
    error = await failing_complete(client, model="gpt-oss-120b")
    assert isinstance(error, ModelNotFound)


@pytest.mark.parametrize(("model", "replacement"), [
    ("llama-3.3-70b-versatile", "openai/gpt-oss-120b"),
    ("llama-3.1-8b-instant", "openai/gpt-oss-20b"),
])
async def test_400_decommissioned_carries_the_replacement(
    client: LLMClient, model: str, replacement: str,
) -> None:
    error = await failing_complete(client, model=model)
    assert isinstance(error, ModelDecommissioned)
    assert (error.status, error.code) == (400, "model_decommissioned")
    assert error.replacement == replacement
    assert "decommissioned" in error.message


async def test_413_request_too_large_is_not_retryable(
    make_client: Callable[..., LLMClient],
) -> None:
    async with run_fake_groq(FakeGroqConfig(limits=RateLimits(0, 500, 0, 0))) as groq:
        error = await failing_complete(make_client(groq.base_url), max_completion_tokens=600)
    assert isinstance(error, RequestTooLarge)
    assert error.status == 413
    assert not error.retryable
    assert "Request too large" in error.message


async def test_429_scripted_carries_retry_after_and_minute_scope(
    client: LLMClient, fake_groq: FakeGroqHandle,
) -> None:
    fake_groq.add_fault("429:retry_after=3")
    error = await failing_complete(client)
    assert isinstance(error, RateLimited) and isinstance(error, RetryableError)
    assert (error.status, error.code) == (429, "rate_limit_exceeded")
    assert error.retry_after == 3.0
    assert error.scope == "minute"
    assert error.request_id is not None and error.request_id.startswith("req_")


async def test_429_from_a_real_tpm_limit_reports_the_wait(
    make_client: Callable[..., LLMClient],
) -> None:
    async with run_fake_groq(FakeGroqConfig(limits=RateLimits(0, 1000, 0, 0))) as groq:
        client = make_client(groq.base_url)
        await client.complete(user("hola"), retry=NO_RETRY, max_completion_tokens=900)
        error = await failing_complete(client, max_completion_tokens=900)
    assert isinstance(error, RateLimited)
    assert error.scope == "minute"
    assert error.retry_after is not None and 1 <= error.retry_after <= 60
    assert "tokens per minute" in error.message


async def test_429_from_a_daily_limit_has_day_scope(
    make_client: Callable[..., LLMClient],
) -> None:
    async with run_fake_groq(FakeGroqConfig(limits=RateLimits(0, 0, 1, 0))) as groq:
        client = make_client(groq.base_url)
        await client.complete(user("hola"), retry=NO_RETRY)
        error = await failing_complete(client)
    assert isinstance(error, RateLimited)
    assert error.scope == "day"
    assert error.retry_after is not None and error.retry_after > 3600


async def test_498_is_capacity_exceeded_and_not_retryable(
    client: LLMClient, fake_groq: FakeGroqHandle,
) -> None:
    fake_groq.add_fault("498")
    error = await failing_complete(client)
    assert isinstance(error, CapacityExceeded)
    assert (error.status, error.code) == (498, "capacity_exceeded")
    assert not error.retryable and error.fallback


@pytest.mark.parametrize(("fault", "status"), [("503", 503), ("500", 500)])
async def test_5xx_is_provider_unavailable(
    client: LLMClient, fake_groq: FakeGroqHandle, fault: str, status: int,
) -> None:
    fake_groq.add_fault(fault)
    error = await failing_complete(client)
    assert isinstance(error, ProviderUnavailable) and error.retryable
    assert error.status == status


async def test_503_outage_also_fails_the_model_list(
    client: LLMClient, fake_groq: FakeGroqHandle,
) -> None:
    fake_groq.add_fault("outage:times=1")
    with pytest.raises(ProviderUnavailable) as caught:
        await client.models()
    assert caught.value.status == 503


async def test_slow_provider_is_provider_timeout(
    make_client: Callable[..., LLMClient], fake_groq: FakeGroqHandle,
) -> None:
    fake_groq.add_fault("timeout:seconds=3")
    client = make_client(fake_groq.base_url, timeout=0.3)
    error = await failing_complete(client)
    assert isinstance(error, ProviderTimeout) and error.retryable
    assert error.code == "timeout"


async def test_refused_connection_is_provider_connection_error(
    make_client: Callable[..., LLMClient],
) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nobody listens on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(f"http://127.0.0.1:{port}/openai/v1")
    error = await failing_complete(client)
    assert isinstance(error, ProviderConnectionError) and error.retryable
    with pytest.raises(ProviderConnectionError):
        await client.models()
    error, _ = await failing_stream(client)
    assert isinstance(error, ProviderConnectionError)


async def test_connection_dropped_before_the_body_is_a_connection_error(
    client: LLMClient, fake_groq: FakeGroqHandle,
) -> None:
    fake_groq.add_fault("drop:stream=false")
    error = await failing_complete(client)
    assert isinstance(error, ProviderConnectionError)


async def test_truncated_json_body_is_a_retryable_malformed_response(
    client: LLMClient, fake_groq: FakeGroqHandle,
) -> None:
    fake_groq.add_fault("malformed:stream=false")
    error = await failing_complete(client)
    assert isinstance(error, ProviderUnavailable) and error.retryable
    assert error.code == "malformed_response"


# -- mid-stream failures ---------------------------------------------------------------
# `[[reasoning=0]]` turns the reasoning off, so with `after=3` the role chunk and two
# content chunks reach the client before the fault.

LONG = "[[reasoning=0]] [[len=400]]"


async def test_error_event_mid_stream_is_stream_interrupted_with_its_code(
    client: LLMClient, fake_groq: FakeGroqHandle,
) -> None:
    fake_groq.add_fault("stream_error:after=3,message=upstream broke")
    error, seen = await failing_stream(client, LONG)
    assert isinstance(error, StreamInterrupted)
    assert error.code == "internal_server_error"
    assert error.message == "upstream broke"
    assert seen and "Part 1." in seen


async def test_dropped_stream_is_stream_interrupted(
    client: LLMClient, fake_groq: FakeGroqHandle,
) -> None:
    fake_groq.add_fault("drop:after=3,stream=true")
    error, seen = await failing_stream(client, LONG)
    assert isinstance(error, StreamInterrupted)
    assert seen


async def test_malformed_chunk_is_stream_interrupted(
    client: LLMClient, fake_groq: FakeGroqHandle,
) -> None:
    fake_groq.add_fault("malformed:after=3,stream=true")
    error, seen = await failing_stream(client, LONG)
    assert isinstance(error, StreamInterrupted)
    assert error.code == "malformed_chunk"
    assert seen


async def test_stalled_stream_is_stream_interrupted(
    make_client: Callable[..., LLMClient], fake_groq: FakeGroqHandle,
) -> None:
    fake_groq.add_fault("timeout:after=3,seconds=3,stream=true")
    client = make_client(fake_groq.base_url, stall_timeout=0.3)
    error, seen = await failing_stream(client, LONG)
    assert isinstance(error, StreamInterrupted)
    assert error.code == "stream_stalled"
    assert seen


@pytest.mark.parametrize("fault", ["429", "503", "498"])
async def test_errors_before_a_stream_starts_keep_their_class(
    client: LLMClient, fake_groq: FakeGroqHandle, fault: str,
) -> None:
    fake_groq.add_fault(fault + ":stream=true")
    error, seen = await failing_stream(client)
    expected = {"429": RateLimited, "503": ProviderUnavailable, "498": CapacityExceeded}
    assert isinstance(error, expected[fault])
    assert seen == ""
    assert [r["status"] for r in chat_requests(fake_groq)] == [int(fault)]


async def test_the_key_is_never_in_errors_for_any_fault(
    make_client: Callable[..., LLMClient],
) -> None:
    """The emulator only accepts another key: the 401 and all later texts stay key-free."""
    async with run_fake_groq(FakeGroqConfig(api_key="gsk_someone0else0s0key")) as groq:
        client = make_client(groq.base_url)
        for model in (MODEL, "no/such", "llama-3.3-70b-versatile"):
            await failing_complete(client, model=model)


# -- statuses the emulator has no fault for ------------------------------------------------

@pytest.mark.parametrize(("status", "body", "cls", "retryable"), [
    (408, {}, ProviderUnavailable, True),
    (409, {}, ProviderUnavailable, True),
    (502, {}, ProviderUnavailable, True),
    (403, {"error": {"message": "no", "code": "permission_denied"}}, Rejected, False),
    (422, {"error": {"message": "bad", "type": "invalid_request_error"}}, Rejected, False),
    (400, {"error": {"message": "`n` must be 1", "type": "invalid_request_error"}},
     Rejected, False),
])
def test_status_mapping_without_the_emulator(
    status: int, body: dict[str, Any], cls: type[ProviderError], retryable: bool,
) -> None:
    error = from_status(status, body, httpx.Headers({"x-request-id": "req_1"}), MODEL)
    assert isinstance(error, cls)
    assert error.retryable is retryable
    assert (error.status, error.request_id, error.model) == (status, "req_1", MODEL)


def test_retry_after_header_forms() -> None:
    assert retry_after(httpx.Headers({"retry-after": "7"})) == 7.0
    assert retry_after(httpx.Headers({"retry-after": "2m30s"})) == 150.0
    assert retry_after(httpx.Headers({"retry-after": "-3"})) == 0.0
    assert retry_after(httpx.Headers({})) is None
    error = from_status(429, {"error": {"message": "Rate limit reached ... requests per day "
                                                   "(RPD)", "code": "rate_limit_exceeded"}},
                        httpx.Headers({"retry-after": "600"}), MODEL)
    assert isinstance(error, RateLimited)
    assert (error.scope, error.retry_after) == ("day", 600.0)
