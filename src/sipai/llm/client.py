"""The async Groq client: complete, stream, models, completions and embeddings.

Built on the official async SDK over one shared `httpx.AsyncClient`, with the SDK's own
retries off (`max_retries=0`): :class:`~sipai.llm.retry.RetryPolicy` is the only retry
owner. Every attempt passes through an optional :class:`Gate` (the rate limiter plugs in
there), parameters are checked before sending, errors come out as Sip's error tree, and
usage and cost are attached to every answer. gpt-oss reasoning is kept apart from the
answer text and never shown; an answer left empty because reasoning used the whole budget
is tried once more with more room and low effort.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

import httpx
import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from sipai.errors import EmptyCompletion, ProviderError, StreamInterrupted
from sipai.llm.catalog import PriceTable, model_info
from sipai.llm.gate import Gate, OpenGate, Permit
from sipai.llm.params import check_params
from sipai.llm.retry import RetryPolicy
from sipai.llm.tokens import TokenCounter
from sipai.llm.translate import translate
from sipai.llm.types import (
    ChatMessage,
    Completion,
    RateLimitInfo,
    StreamEnd,
    StreamEvent,
    TextDelta,
    Usage,
)
from sipai.llm.wire import (
    ratelimit_of,
    raw_response_options,
    reasoning_of,
    usage_from,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ModelCard:
    """One entry of the provider's model list."""

    id: str
    owned_by: str | None = None
    active: bool = True
    context_window: int | None = None
    max_completion_tokens: int | None = None


@dataclass(slots=True)
class _Call:
    """One chat request as it will go on the wire."""

    model: str
    messages: list[ChatMessage]
    wire: dict[str, Any]
    tokens: int  # what the call counts against TPM: prompt + max completion


class _RawResponse(Protocol):
    """What `with_raw_response` hands back: the HTTP headers and the parsed body."""

    @property
    def headers(self) -> httpx.Headers: ...

    def parse(self) -> Any: ...


class LLMClient:
    """Talks to Groq (or any OpenAI-compatible endpoint) without blocking the event loop."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        model: str,
        timeout: float = 15.0,
        defaults: dict[str, Any] | None = None,
        prices: PriceTable | None = None,
        retry: RetryPolicy | None = None,
        gate: Gate | None = None,
        counter: TokenCounter | None = None,
        stall_timeout: float = 10.0,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.default_model = model
        self.defaults = dict(defaults or {})
        self.prices = prices or PriceTable()
        self.retry = retry or RetryPolicy()
        self.gate: Gate = gate or OpenGate()
        self.counter = counter or TokenCounter()
        self.stall_timeout = stall_timeout
        self.last_ratelimit: RateLimitInfo | None = None
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=100),
        )
        self._sdk = openai.AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=0,
                                       timeout=timeout, http_client=self._http)

    async def aclose(self) -> None:
        """Close the HTTP connections this client opened."""
        if self._owns_http:
            await self._http.aclose()

    # -- chat -------------------------------------------------------------------------

    async def complete(self, messages: Sequence[ChatMessage], *, model: str | None = None,
                       retry: RetryPolicy | None = None, **params: Any) -> Completion:
        """One answer for `messages`, retried by the policy; raises a ProviderError."""
        call = self._prepare(messages, model, params)
        policy = retry or self.retry
        started = time.perf_counter()
        completion = await policy.run(lambda attempt: self._complete_once(call, attempt))
        if not completion.text.strip() and completion.finish_reason == "length":
            roomier = self._roomier(call)
            log.info("llm.empty_answer_retry", extra={"model": call.model,
                                                      "max_tokens": roomier.wire.get(
                                                          "max_completion_tokens")})
            completion = await policy.run(lambda attempt: self._complete_once(roomier, attempt))
            if not completion.text.strip():
                raise EmptyCompletion("the model used its whole budget reasoning",
                                      model=call.model)
        if not completion.text.strip():
            # Never hand back a blank answer (as stream() does not either).
            raise EmptyCompletion("the model returned no answer text", model=call.model)
        return _with_latency(completion, time.perf_counter() - started)

    async def stream(self, messages: Sequence[ChatMessage], *, model: str | None = None,
                     retry: RetryPolicy | None = None, **params: Any
                     ) -> AsyncIterator[StreamEvent]:
        """Text deltas as they arrive, then one StreamEnd with usage and cost.

        Failures before the first delta are retried by the policy; after it, never (the
        user has already seen part of the answer) and the error propagates.
        """
        call = self._prepare(messages, model, params)
        policy = retry or self.retry
        started = time.perf_counter()
        widened = False
        attempt = 0
        while True:
            attempt += 1
            sent_text = False
            try:
                # aclosing: a caller that stops reading frees the connection at once.
                async with contextlib.aclosing(self._stream_once(call, attempt)) as events:
                    async for event in events:
                        if isinstance(event, TextDelta):
                            sent_text = True
                            yield event
                        elif not event.completion.text.strip() and not widened and \
                                event.completion.finish_reason == "length":
                            raise EmptyCompletion("reasoning used the whole budget",
                                                  model=call.model)
                        elif not event.completion.text.strip():
                            raise EmptyCompletion("the model returned no answer text",
                                                  model=call.model)
                        else:
                            yield StreamEnd(_with_latency(event.completion,
                                                          time.perf_counter() - started))
                return
            except EmptyCompletion:
                if widened:
                    raise
                widened = True
                call = self._roomier(call)
                attempt = 0
                log.info("llm.empty_answer_retry", extra={"model": call.model, "stream": True})
            except ProviderError as error:
                wait = None if sent_text else policy.delay(error, attempt)
                if wait is None:
                    raise
                log.info("llm.retry", extra={"attempt": attempt, "code": error.code,
                                             "wait_s": round(wait, 3), "stream": True})
                await policy.sleep(wait)

    # -- other endpoints --------------------------------------------------------------

    async def models(self) -> list[ModelCard]:
        """The models the provider offers (GET /models)."""
        try:
            page = await self._sdk.models.list()
        except Exception as exc:
            raise translate(exc, None) from exc
        return [_card(item) for item in page.data]

    async def model(self, model_id: str) -> ModelCard:
        """Details of one model (GET /models/{id}); ModelNotFound if it does not exist."""
        try:
            item = await self._sdk.models.retrieve(model_id)
        except Exception as exc:
            raise translate(exc, model_id) from exc
        return _card(item)

    async def completions(self, prompt: str, *, model: str | None = None,
                          **params: Any) -> Completion:
        """Plain text completion (POST /completions), for tools that still use it."""
        model = model or self.default_model
        wire = check_params(model, {**params})
        if "max_completion_tokens" in wire:
            wire["max_tokens"] = wire.pop("max_completion_tokens")
        started = time.perf_counter()
        try:
            result = await self._sdk.completions.create(model=model, prompt=prompt, **wire)
        except Exception as exc:
            raise translate(exc, model) from exc
        usage = Usage(result.usage.prompt_tokens, result.usage.completion_tokens) \
            if result.usage else Usage()
        text = result.choices[0].text if result.choices else ""
        return Completion(text=text, model=model, usage=usage,
                          cost_usd=self.prices.cost(model, usage),
                          finish_reason=result.choices[0].finish_reason if result.choices else None,
                          latency_s=time.perf_counter() - started)

    async def embeddings(self, inputs: Sequence[str], *, model: str) -> list[list[float]]:
        """Embedding vectors for `inputs` (POST /embeddings)."""
        try:
            result = await self._sdk.embeddings.create(model=model, input=list(inputs))
        except Exception as exc:
            raise translate(exc, model) from exc
        return [list(item.embedding) for item in result.data]

    # -- internals ----------------------------------------------------------------------

    def _prepare(self, messages: Sequence[ChatMessage], model: str | None,
                 params: dict[str, Any]) -> _Call:
        model = model or self.default_model
        wire = check_params(model, {**self.defaults, **params})
        msgs = [ChatMessage(role=m["role"], content=m["content"]) for m in messages]
        max_out = wire.get("max_completion_tokens", 1024)
        return _Call(model, msgs, wire, self.counter.count_messages(msgs) + int(max_out))

    def _roomier(self, call: _Call) -> _Call:
        """The same call with twice the completion room and low reasoning effort."""
        wire = dict(call.wire)
        current = int(wire.get("max_completion_tokens", 1024))
        wire["max_completion_tokens"] = min(model_info(call.model).max_completion_tokens,
                                            max(current * 2, current + 512))
        if "reasoning_effort" in wire or model_info(call.model).reasoning:
            # gpt-oss reasons at medium effort when not told: ask for low explicitly.
            wire["reasoning_effort"] = "low"
        extra = wire["max_completion_tokens"] - current
        return _Call(call.model, call.messages, wire, call.tokens + extra)

    async def _post_chat(self, call: _Call, wire: dict[str, Any], *, stream: bool
                         ) -> _RawResponse:
        """POST /chat/completions as `with_raw_response.create` sends it, minus its params walk.

        `create` walks the messages against the SDK's TypedDicts on every call (about 1.5 ms
        of CPU) only to hand back the same plain dicts; Sip's are already wire-ready.
        """
        options = raw_response_options()
        if options is None or isinstance(wire.get("response_format"), type):
            # The documented path (and its own error for a pydantic class as response_format).
            flag: dict[str, Any] = {"stream": True} if stream else {}
            created = await self._sdk.chat.completions.with_raw_response.create(
                model=call.model, messages=cast(Any, call.messages), **flag, **wire)
            return cast(_RawResponse, created)
        params = {**wire, "stream": True} if stream else wire
        # `create` sends messages, model, then its parameters in alphabetical order.
        body = {"messages": call.messages, "model": call.model,
                **{name: params[name] for name in sorted(params)}}
        raw = await self._sdk.post("/chat/completions", body=body, cast_to=ChatCompletion,
                                   stream=stream,
                                   stream_cls=openai.AsyncStream[ChatCompletionChunk],
                                   options=cast(Any, options))
        return cast(_RawResponse, raw)

    async def _complete_once(self, call: _Call, attempt: int) -> Completion:
        permit = await self.gate.acquire(call.model, call.tokens)
        headers: httpx.Headers | None = None
        try:
            wire = {k: v for k, v in call.wire.items() if k != "stream_options"}
            raw = await self._post_chat(call, wire, stream=False)
            headers = raw.headers
            response = cast(ChatCompletion, raw.parse())
        except Exception as exc:
            error = translate(exc, call.model)
            permit.settle(usage=None, ratelimit=ratelimit_of(exc), error=error)
            raise error from exc
        ratelimit = RateLimitInfo.from_headers(headers) if headers is not None else None
        self.last_ratelimit = ratelimit or self.last_ratelimit
        choice = response.choices[0] if response.choices else None
        message = choice.message if choice else None
        usage = usage_from(response.usage, (response.model_extra or {}).get("x_groq"))
        permit.settle(usage=usage, ratelimit=ratelimit, error=None)
        if usage.prompt_tokens:
            self.counter.observe(call.messages, usage.prompt_tokens)
        return Completion(
            text=(message.content or "") if message else "",
            model=response.model or call.model,
            usage=usage,
            cost_usd=self.prices.cost(call.model, usage),
            finish_reason=choice.finish_reason if choice else None,
            reasoning=reasoning_of(message),
            ratelimit=ratelimit,
            attempts=attempt,
        )

    async def _stream_once(self, call: _Call, attempt: int
                           ) -> AsyncGenerator[StreamEvent, None]:
        permit = await self.gate.acquire(call.model, call.tokens)
        try:
            # The client needs the usage chunk; a caller's own stream_options are merged in.
            wire = {**call.wire, "stream_options": {**(call.wire.get("stream_options") or {}),
                                                    "include_usage": True}}
            raw = await self._post_chat(call, wire, stream=True)
            stream = cast(openai.AsyncStream[ChatCompletionChunk], raw.parse())
        except Exception as exc:
            error = translate(exc, call.model)
            permit.settle(usage=None, ratelimit=ratelimit_of(exc), error=error)
            raise error from exc
        ratelimit = RateLimitInfo.from_headers(raw.headers)
        self.last_ratelimit = ratelimit or self.last_ratelimit
        parts: list[str] = []
        reasoning: list[str] = []
        usage = Usage()
        finish: str | None = None
        chunks = stream.__aiter__()
        loop = asyncio.get_running_loop()
        try:
            # One timer for the whole stream, pushed forward before each chunk and switched
            # off while a delta is with the caller (a task and a timer per chunk cost more).
            async with asyncio.timeout(None) as deadline:
                while True:
                    deadline.reschedule(loop.time() + self.stall_timeout)
                    try:
                        chunk = await chunks.__anext__()
                    except StopAsyncIteration:
                        break
                    deadline.reschedule(None)
                    extra = chunk.model_extra or {}
                    if chunk.usage is not None or extra.get("x_groq"):
                        usage = usage_from(chunk.usage, extra.get("x_groq"), usage)
                    for choice in chunk.choices:
                        delta = choice.delta
                        thought = (delta.model_extra or {}).get("reasoning")
                        if thought:
                            reasoning.append(str(thought))
                        if delta.content:
                            parts.append(delta.content)
                            yield TextDelta(delta.content)
                        if choice.finish_reason:
                            finish = choice.finish_reason
            if finish is None:
                raise StreamInterrupted("the stream ended before the answer did",
                                        model=call.model, code="stream_truncated")
        except Exception as exc:
            error = (StreamInterrupted("the stream stalled", model=call.model,
                                       code="stream_stalled")
                     if isinstance(exc, TimeoutError) else translate(exc, call.model,
                                                                     streaming=True))
            permit.settle(usage=None, ratelimit=ratelimit, error=error)
            await stream.close()
            raise error from exc
        except BaseException:  # cancelled, or the caller stopped reading (GeneratorExit)
            permit.settle(usage=None, ratelimit=ratelimit, error=None)
            await stream.close()
            raise
        permit.settle(usage=usage, ratelimit=ratelimit, error=None)
        if usage.prompt_tokens:
            self.counter.observe(call.messages, usage.prompt_tokens)
        yield StreamEnd(Completion(
            text="".join(parts), model=call.model, usage=usage,
            cost_usd=self.prices.cost(call.model, usage), finish_reason=finish,
            reasoning="".join(reasoning) or None, ratelimit=ratelimit, attempts=attempt))


def _with_latency(completion: Completion, seconds: float) -> Completion:
    return Completion(completion.text, completion.model, completion.usage, completion.cost_usd,
                      completion.finish_reason, completion.reasoning, seconds,
                      completion.ratelimit, completion.attempts)


def _card(item: Any) -> ModelCard:
    extra = item.model_extra or {}
    return ModelCard(id=item.id, owned_by=getattr(item, "owned_by", None),
                     active=bool(extra.get("active", True)),
                     context_window=extra.get("context_window"),
                     max_completion_tokens=extra.get("max_completion_tokens"))


__all__ = ["Gate", "LLMClient", "ModelCard", "OpenGate", "Permit"]
