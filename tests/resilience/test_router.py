"""The router's rules with a scripted client: shrink on 413, skip open breakers, deadlines."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from sipai.errors import (
    BadRequest,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    RequestTooLarge,
    StreamInterrupted,
)
from sipai.llm.retry import RetryPolicy
from sipai.llm.types import ChatMessage, Completion, StreamEnd, StreamEvent, TextDelta
from sipai.resilience.breaker import BreakerBoard, BreakerConfig, CircuitBreaker
from sipai.resilience.clock import ManualClock
from sipai.resilience.router import AllModelsFailed, BoundedRetry, ModelRouter, Routed

A, B = "model-a", "model-b"
Outcome = ProviderError | str | list[str]


class ScriptedClient:
    """Answers each call with the next scripted outcome for its model."""

    def __init__(self, **script: list[Outcome]) -> None:
        self.script = {model.replace("_", "-"): list(items) for model, items in script.items()}
        self.retry = RetryPolicy(max_retries=0)
        self.calls: list[tuple[str, int, RetryPolicy]] = []

    def _next(self, model: str, messages: Sequence[ChatMessage], retry: RetryPolicy) -> Outcome:
        self.calls.append((model, len(messages), retry))
        return self.script[model].pop(0)

    async def complete(self, messages: Sequence[ChatMessage], *, model: str,
                       retry: RetryPolicy, **params: Any) -> Completion:
        outcome = self._next(model, messages, retry)
        if isinstance(outcome, ProviderError):
            raise outcome
        return Completion(text="".join(outcome), model=model)

    async def stream(self, messages: Sequence[ChatMessage], *, model: str,
                     retry: RetryPolicy, **params: Any) -> AsyncIterator[StreamEvent]:
        outcome = self._next(model, messages, retry)
        if isinstance(outcome, ProviderError):
            raise outcome
        pieces = outcome if isinstance(outcome, list) else [outcome]
        for piece in pieces:
            if piece == "!drop":
                raise ProviderTimeout("read timed out mid-stream", model=model)
            yield TextDelta(piece)
        yield StreamEnd(Completion(text="".join(pieces), model=model))


def router(client: ScriptedClient, **kw: Any) -> ModelRouter:
    return ModelRouter(client, [A, B], **kw)  # type: ignore[arg-type]


MESSAGES: list[ChatMessage] = [{"role": "system", "content": "s"},
                               {"role": "user", "content": "q"}]


async def test_a_413_shrinks_the_context_and_retries_the_same_model() -> None:
    client = ScriptedClient(model_a=[RequestTooLarge("413", status=413), "ok"])
    shrinks: list[int] = []

    def shrink() -> list[ChatMessage]:
        shrinks.append(1)
        return MESSAGES[-1:]

    routed = await router(client).complete(MESSAGES, shrink=shrink)
    assert routed.completion.text == "ok" and routed.model == A and not routed.fallback
    assert [(model, size) for model, size, _ in client.calls] == [(A, 2), (A, 1)]
    assert shrinks == [1]


async def test_a_413_that_cannot_shrink_moves_on_to_the_next_model() -> None:
    client = ScriptedClient(model_a=[RequestTooLarge("413", status=413)], model_b=["ok"])
    routed = await router(client).complete(MESSAGES, shrink=lambda: None)
    assert routed.model == B and routed.fallback and routed.failures == ("request_too_large",)


async def test_an_open_breaker_skips_its_model_and_only_health_failures_count() -> None:
    clock = ManualClock()
    board = BreakerBoard(lambda model: CircuitBreaker(
        model, BreakerConfig(failure_threshold=2), clock=clock))
    client = ScriptedClient(
        model_a=[RateLimited("429", status=429), RateLimited("429", status=429),
                 ProviderUnavailable("503"), ProviderUnavailable("503")],
        model_b=["b1", "b2", "b3", "b4", "b5"])
    route = router(client, breakers=board)
    for _ in range(4):  # two 429s (not counted), then two 503s open A's breaker
        assert (await route.complete(MESSAGES)).model == B
    routed = await route.complete(MESSAGES)
    assert routed.model == B and routed.failures == ("circuit_open",)
    assert sum(1 for model, _, _ in client.calls if model == A) == 4


async def test_a_bad_request_stops_the_chain() -> None:
    client = ScriptedClient(model_a=[BadRequest("400", status=400)], model_b=["never"])
    with pytest.raises(AllModelsFailed) as caught:
        await router(client).complete(MESSAGES)
    assert [e.code for e in caught.value.errors] == ["invalid_request_error"]
    assert client.script["model-b"] == ["never"]


async def collect(stream: AsyncIterator[TextDelta | Routed]) -> tuple[str, Routed | None]:
    text, routed = "", None
    async for event in stream:
        if isinstance(event, TextDelta):
            text += event.text
        else:
            routed = event
    return text, routed


async def test_a_stream_falls_back_before_its_first_token() -> None:
    client = ScriptedClient(model_a=[StreamInterrupted("stalled", code="stream_stalled")],
                            model_b=[["hel", "lo"]])
    text, routed = await collect(router(client).stream(MESSAGES))
    assert text == "hello" and routed is not None and routed.model == B and routed.fallback


async def test_after_the_first_token_any_failure_is_a_cut_stream() -> None:
    client = ScriptedClient(model_a=[["par", "!drop"]], model_b=["never"])
    shown: list[str] = []
    with pytest.raises(StreamInterrupted) as caught:
        async for event in router(client).stream(MESSAGES):
            assert isinstance(event, TextDelta)
            shown.append(event.text)
    assert shown == ["par"] and caught.value.code == "timeout"
    assert client.script["model-b"] == ["never"]


async def test_each_model_gets_a_policy_bounded_by_its_deadline() -> None:
    client = ScriptedClient(model_a=[ProviderUnavailable("503")], model_b=["ok"])
    await router(client, model_deadline=30.0).complete(MESSAGES)
    (_, _, first), (_, _, last) = client.calls
    assert isinstance(first, BoundedRetry) and isinstance(last, BoundedRetry)
    assert first.reroute_slow and not last.reroute_slow  # the last model keeps retrying


def test_bounded_retry_reroutes_slow_models_and_respects_the_deadline() -> None:
    now = [100.0]
    base = RetryPolicy(max_retries=3, base_delay=1.0, max_delay=1.0)
    policy = BoundedRetry.around(base, deadline=103.0, reroute_slow=True, now=lambda: now[0])
    assert policy.delay(ProviderTimeout("slow"), 1) is None
    assert policy.delay(StreamInterrupted("stalled", code="stream_stalled"), 1) is None
    assert policy.delay(StreamInterrupted("dropped"), 1) is not None
    assert policy.delay(ProviderUnavailable("503", retry_after=1.5), 1) is not None  # ≤ 102.5
    now[0] = 102.0
    assert policy.delay(ProviderUnavailable("503", retry_after=1.5), 1) is None  # past 103
    patient = BoundedRetry.around(base, deadline=1e9, reroute_slow=False, now=lambda: now[0])
    assert patient.delay(ProviderTimeout("slow"), 1) is not None
    assert patient.max_retries == 3 and patient.sleep is base.sleep
