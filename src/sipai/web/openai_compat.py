"""An OpenAI-compatible endpoint: any OpenAI client can talk to Sip as the model `sip`.

Mounted twice, at `/v1` (the `openai` SDK with `base_url="http://host/v1"`) and at
`/openai/v1` as Groq does (the `groq` SDK with `base_url="http://host"`):

- `POST …/chat/completions` — `model` must be `"sip"`. Streaming uses OpenAI's framing:
  `data: {chat.completion.chunk}` frames (role first, then content deltas, then an empty
  delta with `finish_reason: "stop"`), a usage chunk with empty `choices` when
  `stream_options.include_usage` is set, then `data: [DONE]`. A failure after the stream
  began is sent as `data: {"error": {…}}`, as OpenAI and Groq do.
- `GET …/models`, `GET …/models/{model}` — the single model `sip`.

Conversation semantics: Sip keeps each customer's conversation itself (stored, summarised,
with its own system prompt), so the request is one turn — the **last `user` message**.
Earlier messages, and any system or developer message, are not replayed: send the same
customer id to continue a conversation. The customer is the `X-Sip-User` header, else the
`user` field, else one shared customer per API key (`openai:<key fingerprint>`). Sampling
parameters (`temperature`, `max_tokens`, …) are accepted and ignored: Sip's settings
decide. Every answer carries the reply object (sources, route, ticket) under the extra
key `sip` (in the last chunk when streaming); SDKs ignore keys they do not know.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from sipai.bootstrap import Sip
from sipai.llm.types import TextDelta
from sipai.observability import metrics
from sipai.support import service
from sipai.support.reply import Reply
from sipai.web import turns
from sipai.web.auth import ApiCaller
from sipai.web.errors import ApiError
from sipai.web.plugins import current_sip
from sipai.web.schemas import COMMON_ERRORS, error_responses, sse_response
from sipai.web.sse import EventStream, json_frame, pump

MODEL_ID = "sip"
CREATED = 1_767_225_600  # 2026-01-01: a fixed "created" for the model card
DONE = b"data: [DONE]\n\n"
_USER = re.compile(r"^[A-Za-z0-9_.:@+-]{1,128}$")


class _Open(BaseModel):
    """OpenAI objects: unknown fields are accepted (and ignored)."""

    model_config = ConfigDict(extra="allow")


class ContentPart(_Open):
    """A part of a message's content; only `text` parts are read."""

    type: str
    text: str | None = None


class ChatMessageIn(_Open):
    """One message of the request."""

    role: str
    content: str | list[ContentPart] | None = None


class StreamOptions(_Open):
    """OpenAI's stream options."""

    include_usage: bool | None = None


class ChatCompletionRequest(_Open):
    """`POST /v1/chat/completions`: the fields Sip reads (others are accepted)."""

    model: str = Field(description='must be "sip"', json_schema_extra={"enum": [MODEL_ID]})
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=1000)
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    user: str | None = Field(None, max_length=128, description="the customer's id")


class ModelCard(BaseModel):
    """One model."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    """`GET /v1/models`."""

    object: Literal["list"] = "list"
    data: list[ModelCard]


class CompletionMessage(BaseModel):
    """The answer."""

    role: Literal["assistant"]
    content: str


class Choice(BaseModel):
    """The only choice."""

    index: int
    message: CompletionMessage
    finish_reason: str
    logprobs: None = None


class CompletionUsage(BaseModel):
    """Tokens the turn used."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    """A `chat.completion` object, plus the reply object under `sip`."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage
    sip: dict[str, Any]


def _card() -> ModelCard:
    return ModelCard(id=MODEL_ID, created=CREATED, owned_by="sip")


def turn_text(messages: list[ChatMessageIn]) -> str:
    """The text of the last user message (its text parts joined); 400 when there is none."""
    for message in reversed(messages):
        if message.role != "user":
            continue
        if isinstance(message.content, str):
            return message.content
        return "\n".join(part.text for part in message.content or []
                         if part.type == "text" and part.text)
    raise ApiError(400, "invalid_request", "messages must contain a user message")


def customer(body: ChatCompletionRequest, header: str | None, key_id: str) -> str:
    """The customer id: X-Sip-User, else `user`, else one per API key."""
    chosen = (header or body.user or "").strip()
    if not chosen:
        return f"openai:{key_id.removeprefix('sha256:')}"
    if not _USER.match(chosen):
        raise ApiError(400, "invalid_request",
                       "user must be 1-128 characters of letters, digits and _.:@+-")
    return chosen


def _usage(reply: Reply) -> dict[str, int]:
    prompt, completion = reply.usage.prompt_tokens, reply.usage.completion_tokens
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def completion_body(reply: Reply, completion_id: str, created: int) -> dict[str, Any]:
    """The `chat.completion` object for a reply."""
    return {"id": completion_id, "object": "chat.completion", "created": created,
            "model": MODEL_ID, "system_fingerprint": None,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.answer},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": _usage(reply), "sip": reply.to_dict()}


async def openai_frames(events: AsyncIterator[TextDelta | Reply], *, completion_id: str,
                        created: int, include_usage: bool,
                        language: str) -> AsyncIterator[bytes]:
    """OpenAI's `chat.completion.chunk` framing of a turn, ending with `data: [DONE]`."""
    base: dict[str, Any] = {"id": completion_id, "object": "chat.completion.chunk",
                            "created": created, "model": MODEL_ID, "system_fingerprint": None}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        body = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                     "finish_reason": finish}]}
        if include_usage:
            body["usage"] = None
        return body

    shown: list[str] = []
    metrics.http_streams.labels("openai").inc()
    try:
        yield json_frame(chunk({"role": "assistant", "content": ""}))
        async for event in events:
            if isinstance(event, TextDelta):
                if event.text:
                    shown.append(event.text)
                    yield json_frame(chunk({"content": event.text}))
                continue
            seen = "".join(shown)
            # The final answer may add to what streamed (a hand-off note); send the rest.
            rest = event.answer[len(seen):] if event.answer.startswith(seen) else ""
            if rest:
                yield json_frame(chunk({"content": rest}))
            last = chunk({}, "stop")
            last["sip"] = event.to_dict()
            yield json_frame(last)
            if include_usage:
                yield json_frame({**base, "choices": [], "usage": _usage(event)})
        yield DONE
    except Exception as error:
        yield json_frame(turns.stream_error(error, language))
    finally:
        metrics.http_streams.labels("openai").dec()


def build_router(prefix: str, *, include_in_schema: bool = True) -> APIRouter:
    """The OpenAI-compatible routes under `prefix` (`/v1` or `/openai/v1`)."""
    router = APIRouter(prefix=prefix, tags=["openai-compatible"],
                       include_in_schema=include_in_schema,
                       responses=error_responses(*COMMON_ERRORS))

    @router.post("/chat/completions", response_model=ChatCompletion,
                 summary="Chat completion with the model `sip`",
                 responses={200: {"content": sse_response(
                     None, "chat.completion.chunk JSON documents, then [DONE]")},
                            **error_responses(400, 404)})
    async def chat_completions(
            body: ChatCompletionRequest, request: Request, caller: ApiCaller,
            sip: Annotated[Sip, Depends(current_sip)],
            x_sip_user: Annotated[str | None, Header(max_length=128)] = None) -> Response:
        """Answer the last user message as the customer's next turn."""
        if body.model != MODEL_ID:
            raise ApiError(404, "model_not_found",
                           f"The model `{body.model[:64]}` does not exist; use `{MODEL_ID}`")
        user_id = customer(body, x_sip_user, caller.key_id)
        text = turn_text(body.messages)
        turns.check_message(request, sip, text)
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        if not body.stream:
            reply = await service.ask(sip.deps, user_id, text, channel="api")
            return JSONResponse(completion_body(reply, completion_id, created))
        include = bool(body.stream_options and body.stream_options.include_usage)
        events = pump(service.stream(sip.deps, user_id, text, channel="api"),
                      sip.deps.background.spawn)
        return EventStream(openai_frames(events, completion_id=completion_id, created=created,
                                         include_usage=include,
                                         language=request.state.language))

    @router.get("/models", response_model=ModelList, summary="The models: just `sip`")
    async def models(caller: ApiCaller) -> ModelList:
        """List the one model Sip serves."""
        return ModelList(data=[_card()])

    @router.get("/models/{model}", response_model=ModelCard, summary="One model",
                responses=error_responses(404))
    async def model(model: Annotated[str, Path(json_schema_extra={"enum": [MODEL_ID]})],
                    caller: ApiCaller) -> ModelCard:
        """The model card of `sip`; 404 for any other id."""
        if model != MODEL_ID:
            raise ApiError(404, "model_not_found", f"The model `{model[:64]}` does not exist")
        return _card()

    return router


__all__ = ["ChatCompletionRequest", "build_router", "completion_body", "customer",
           "openai_frames", "turn_text"]
