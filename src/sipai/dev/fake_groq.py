"""Sip's Groq emulator: a Starlette app that speaks Groq's OpenAI-compatible API.

Routes under `/openai/v1`: `POST /chat/completions` (streamed or not), `POST /completions`
(legacy), `POST /embeddings`, `GET /models`, `GET /models/{id}` (ids contain a slash).
The control API lives under `/_fake` (see :mod:`sipai.dev.control`).

Every request goes through the same steps, in Groq's order: bearer key (401), JSON body
(400), scripted outage (503), model (400 decommissioned / 404 unknown), parameters (400),
scripted faults, rate limits (413 / 429), then the reply. Latency follows
`ttft_ms` and `tps` (0 = instant) with `asyncio.sleep` only. Every answer after the key
check carries `x-request-id` and Groq's `x-ratelimit-*` headers; every request is logged
(:mod:`sipai.dev.recorder`).

Replies are deterministic (full rules and the token estimate in :mod:`sipai.dev.replies`):
content is `Echo: <last user message>` verbatim; `[[len=N]]` in the message asks for
exactly N characters of paragraphs; gpt-oss models add a fixed `reasoning` (longer for
higher `reasoning_effort`, `[[reasoning=N]]` to size it); a `max_completion_tokens`
below the reasoning's size leaves content empty with finish_reason "length"; `stop`
strings cut the content. Tokens are estimated as ceil(characters / 4), plus 4 per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sipai.dev import control
from sipai.dev.catalog import ModelCard
from sipai.dev.emulator import Emulator, FakeGroqConfig
from sipai.dev.faults import STATUS_FAULTS, Fault
from sipai.dev.recorder import key_fingerprint
from sipai.dev.replies import (
    Reply,
    chat_reply,
    completion_budget,
    embed,
    encode_base64,
    estimate_tokens,
    reasoning_only,
    text_reply,
)
from sipai.dev.streaming import (
    DroppedResponse,
    Pacing,
    SseResponse,
    silence_dropped_streams,
)
from sipai.dev.validation import (
    parse_body,
    resolve_model,
    validate_chat,
    validate_completion,
    validate_embedding,
)
from sipai.dev.wire import (
    DONE_FRAME,
    ChunkEncoder,
    GroqHttpError,
    chat_completion,
    dumps,
    error_frame,
    flex_capacity,
    internal_error,
    invalid_api_key,
    invalid_request,
    model_not_found,
    new_completion_id,
    new_request_id,
    over_capacity,
    rate_limited,
    scripted_rate_limit,
    text_completion,
    usage_json,
)

API_PREFIX = "/openai/v1"


@dataclass(slots=True)
class Call:
    """One request being served: its log record, ids and resolved model."""

    record: dict[str, Any]
    request_id: str
    started: float
    card: ModelCard | None = None
    fault: Fault | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(payload), status, headers, media_type="application/json")


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class FakeGroqApi:
    """The `/openai/v1` handlers over one :class:`Emulator`."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def routes(self) -> list[Route]:
        """Starlette routes of the Groq API."""
        def wrap(
            endpoint: Callable[[Request, Call], Awaitable[Response]],
        ) -> Callable[[Request], Awaitable[Response]]:
            async def handle(request: Request) -> Response:
                return await self._serve(request, endpoint)
            return handle

        return [
            Route(f"{API_PREFIX}/chat/completions", wrap(self.chat), methods=["POST"]),
            Route(f"{API_PREFIX}/completions", wrap(self.completions), methods=["POST"]),
            Route(f"{API_PREFIX}/embeddings", wrap(self.embeddings), methods=["POST"]),
            Route(f"{API_PREFIX}/models", wrap(self.models), methods=["GET"]),
            Route(f"{API_PREFIX}/models/{{model_id:path}}", wrap(self.model), methods=["GET"]),
        ]

    async def _serve(
        self, request: Request, endpoint: Callable[[Request, Call], Awaitable[Response]]
    ) -> Response:
        """Authenticate, run the endpoint, map errors, add headers, log the request."""
        emulator = self.emulator
        key = _bearer(request)
        record: dict[str, Any] = {
            "time": time.time(), "method": request.method, "path": request.url.path,
            "model": None, "stream": False, "status": None, "error_code": None,
            "fault": None, "key": key_fingerprint(key), "body": None,
        }
        call = Call(record, new_request_id(), asyncio.get_running_loop().time())
        emulator.recorder.enter()
        handed_off = False
        try:
            if not emulator.key_ok(key):
                raise invalid_api_key()
            response = await endpoint(request, call)
            if isinstance(response, SseResponse):
                response.on_close = emulator.recorder.leave
                handed_off = True
        except GroqHttpError as error:
            response = _json(error.body(), error.status)
            call.extra_headers.update(error.headers)
            record["error_code"] = error.code
        finally:
            if not handed_off:
                emulator.recorder.leave()
        headers = {"x-request-id": call.request_id}
        if response.status_code != 401:
            headers.update(emulator.limiter(call.card.id if call.card else None).headers())
        headers.update(call.extra_headers)
        response.headers.update(headers)
        record["status"] = response.status_code
        emulator.recorder.record(record)
        return response

    async def _body(self, request: Request, call: Call) -> dict[str, Any]:
        body = parse_body(await request.body())
        call.record["body"] = body
        model = body.get("model")
        call.record["model"] = model if isinstance(model, str) else None
        call.record["stream"] = body.get("stream") is True
        self._fault(call, call.record["model"], call.record["stream"], outage_only=True)
        return body

    def _fault(self, call: Call, model: str | None, stream: bool, *,
               outage_only: bool = False) -> Fault | None:
        """Consume the scripted fault for this request; status faults raise at once."""
        fault = self.emulator.faults.take(model, stream, outage_only=outage_only)
        if fault is None:
            return None
        call.record["fault"] = fault.kind
        call.fault = fault
        if fault.kind not in STATUS_FAULTS:
            return fault
        headers = {}
        if fault.retry_after is not None and fault.kind != "rate_limit":
            headers["retry-after"] = str(math.ceil(fault.retry_after))
        error: GroqHttpError
        if fault.kind == "rate_limit":
            error = scripted_rate_limit(model or "", fault.retry_after or 1.0, headers)
        elif fault.kind == "flex_capacity":
            error = flex_capacity(headers)
        elif fault.kind == "internal":
            error = internal_error(fault.message, headers)
        else:
            error = over_capacity(model, headers)
        if fault.message:
            error.error["message"] = fault.message
        raise error

    def _admit(self, card: ModelCard, tokens: int) -> None:
        """Charge the model's buckets, or refuse with 429/413."""
        limiter = self.emulator.limiter(card.id)
        exceeded = limiter.admit(tokens)
        if exceeded is not None:
            raise rate_limited(card.id, exceeded, limiter.headers())
        self.emulator.recorder.note_admitted(card.id, self.emulator.window(), tokens)

    async def _hold(self, call: Call) -> None:
        """A `timeout` fault without `after_chunks`: say nothing for `seconds`."""
        fault = call.fault
        if fault is not None and fault.kind == "timeout" and fault.after_chunks is None:
            await asyncio.sleep(fault.seconds)
            call.started = asyncio.get_running_loop().time()

    async def _respond(self, call: Call, payload: dict[str, Any], tokens: int) -> Response:
        """A non-streamed answer after the configured latency, broken if a fault says so."""
        await self._hold(call)
        config = self.emulator.config
        delay = config.ttft_ms / 1000 + (tokens / config.tps if config.tps > 0 else 0.0)
        if delay > 0:
            await asyncio.sleep(delay)
        kind = call.fault.kind if call.fault is not None else None
        text = dumps(payload)
        if kind == "drop":
            return DroppedResponse(text.encode(), {})
        if kind == "malformed":
            return Response(text[: len(text) // 2], media_type="application/json")
        if kind == "stream_error":
            raise internal_error(call.fault.message if call.fault else None, {})
        return Response(text, media_type="application/json")

    async def _stream(self, call: Call, frames: Iterator[tuple[int, bytes]],
                      encoder: ChunkEncoder) -> Response:
        """A paced SSE answer (after a `timeout` fault's hold, if any)."""
        await self._hold(call)
        config = self.emulator.config
        message = call.fault.message if call.fault is not None else None
        broken = {
            "error": error_frame(internal_error(
                message or "The server had an error while processing your request.", {})),
            "malformed": encoder.malformed(),
        }
        pacing = Pacing(call.started, config.ttft_ms / 1000, config.tps)
        return SseResponse(frames, pacing, call.fault, broken, {})

    def _frames(self, encoder: ChunkEncoder, reply: Reply, usage: dict[str, Any],
                include_usage: bool) -> Iterator[tuple[int, bytes]]:
        """Every frame of a stream with the tokens generated when it may leave."""
        yield 0, encoder.first()
        yield from encoder.body_frames(reply, self.emulator.config.chunk_tokens * 4)
        total = reply.completion_tokens
        yield total, encoder.last(reply.finish_reason, usage)
        if include_usage:
            yield total, encoder.usage_only(usage)
        yield total, DONE_FRAME

    async def chat(self, request: Request, call: Call) -> Response:
        """`POST /chat/completions`."""
        body = await self._body(request, call)
        card = call.card = resolve_model(self.emulator.catalog, body, "chat")
        validate_chat(body, card, self.emulator.config.strict_params)
        stream = body.get("stream") is True
        fault = self._fault(call, card.id, stream)
        budget = completion_budget(body)
        reply = chat_reply(body, card.reasoning)
        if fault is not None and fault.kind == "reasoning_only":
            reply = reasoning_only(reply, budget)
        self._admit(card, reply.prompt_tokens + (
            budget if budget is not None else reply.completion_tokens))
        ids = (new_completion_id(), call.request_id)
        created = int(time.time())
        usage = usage_json(reply, self.emulator.config.tps)
        if stream:
            encoder = ChunkEncoder(ids, created, card.id, card.fingerprint, chat=True)
            include = bool((body.get("stream_options") or {}).get("include_usage"))
            return await self._stream(call, self._frames(encoder, reply, usage, include),
                                      encoder)
        tier = body.get("service_tier") or "on_demand"
        payload = chat_completion(reply, ids, created, card.id, card.fingerprint, usage,
                                  "on_demand" if tier == "auto" else tier)
        return await self._respond(call, payload, reply.completion_tokens)

    async def completions(self, request: Request, call: Call) -> Response:
        """`POST /completions` (legacy text completion)."""
        body = await self._body(request, call)
        card = call.card = resolve_model(self.emulator.catalog, body, "chat")
        validate_completion(body, card, self.emulator.config.strict_params)
        stream = body.get("stream") is True
        fault = self._fault(call, card.id, stream)
        budget = completion_budget(body)
        reply = text_reply(body)
        if fault is not None and fault.kind == "reasoning_only":
            reply = reasoning_only(reply, budget)
        self._admit(card, reply.prompt_tokens + (
            budget if budget is not None else reply.completion_tokens))
        ids = (new_completion_id("cmpl"), call.request_id)
        created = int(time.time())
        usage = usage_json(reply, self.emulator.config.tps)
        if stream:
            encoder = ChunkEncoder(ids, created, card.id, card.fingerprint, chat=False)
            include = bool((body.get("stream_options") or {}).get("include_usage"))
            return await self._stream(call, self._frames(encoder, reply, usage, include),
                                      encoder)
        payload = text_completion(reply, ids, created, card.id, usage)
        return await self._respond(call, payload, reply.completion_tokens)

    async def embeddings(self, request: Request, call: Call) -> Response:
        """`POST /embeddings`: deterministic hashed-word vectors."""
        body = await self._body(request, call)
        if body.get("stream"):
            raise invalid_request("property 'stream' is unsupported")
        card = call.card = resolve_model(self.emulator.catalog, body, "embedding")
        texts = validate_embedding(body, card, self.emulator.config.strict_params)
        self._fault(call, card.id, False)
        tokens = sum(estimate_tokens(text) for text in texts)
        self._admit(card, tokens)
        dimensions = body.get("dimensions") or card.dimensions
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(texts):
            vector = embed(text, dimensions)
            data.append({"object": "embedding", "index": index,
                         "embedding": encode_base64(vector) if as_base64 else vector})
        payload = {"object": "list", "data": data, "model": card.id,
                   "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                   "x_groq": {"id": call.request_id}}
        return await self._respond(call, payload, 0)

    async def models(self, request: Request, call: Call) -> Response:
        """`GET /models`."""
        self._fault(call, None, False, outage_only=True)
        return _json(self.emulator.catalog.listing())

    async def model(self, request: Request, call: Call) -> Response:
        """`GET /models/{id}` (404 for unknown and decommissioned ids)."""
        model_id = request.path_params["model_id"]
        call.record["model"] = model_id
        self._fault(call, model_id, False, outage_only=True)
        card = self.emulator.catalog.get(model_id)
        if card is None:
            raise model_not_found(model_id)
        return _json(card.to_json())


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    error = invalid_request(
        f"Unknown request URL: {request.method} {request.url.path}. Please check the URL for "
        "typos, or see the docs at https://console.groq.com/docs/",
        status=status, code="unknown_url",
    )
    return _json(error.body(), status)


def create_app(config: FakeGroqConfig | None = None, *,
               emulator: Emulator | None = None) -> Starlette:
    """Build the emulator's ASGI app (state on `app.state.emulator`)."""
    emulator = emulator or Emulator(config or FakeGroqConfig())
    silence_dropped_streams()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        emulator.recorder.start()
        try:
            yield
        finally:
            await emulator.recorder.stop()

    routes = FakeGroqApi(emulator).routes() + control.routes(emulator)
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={404: _not_found, 405: _not_found})
    app.state.emulator = emulator
    return app
