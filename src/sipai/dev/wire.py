"""Groq's JSON on the wire: error bodies, completion objects, stream chunks and usage.

Shapes copy Groq's OpenAI-compatible API, key order included:

- errors: ``{"error": {"message", "type", "code"}}`` (validation errors carry no code, as
  on Groq); rate limits use ``type`` "tokens"/"requests" and code `rate_limit_exceeded`;
- ``chat.completion``: id `chatcmpl-…`, choices with ``message{role, content, reasoning}``,
  ``usage{queue_time, prompt_tokens, prompt_time, completion_tokens, completion_time,
  total_tokens, total_time}``, ``system_fingerprint``, ``x_groq{id}``, ``service_tier``;
- ``chat.completion.chunk`` frames: a first chunk with ``delta{role, content: ""}`` and
  ``x_groq{id}``, reasoning deltas, content deltas, a last chunk with ``finish_reason`` and
  ``x_groq{id, usage}``, then (``stream_options.include_usage``) a chunk with empty
  ``choices`` and ``usage``, then ``data: [DONE]``.
"""

from __future__ import annotations

import json
import math
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

from sipai.dev.limits import LimitExceeded, format_go_duration, limit_description
from sipai.dev.replies import Reply, estimate_tokens

ORGANIZATION = "org_01fakegroq0000000000000000"
UPGRADE_HINT = "Need more tokens? Upgrade to Dev Tier today at https://console.groq.com/settings/billing"
DONE_FRAME = b"data: [DONE]\n\n"
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


class GroqHttpError(Exception):
    """An error answer: HTTP status, Groq's error object and extra headers."""

    def __init__(
        self,
        status: int,
        message: str,
        type_: str,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error: dict[str, Any] = {"message": message, "type": type_}
        if code is not None:
            self.error["code"] = code
        self.headers = dict(headers or {})

    @property
    def code(self) -> str | None:
        """Groq's machine-readable code, when the error has one."""
        value = self.error.get("code")
        return value if isinstance(value, str) else None

    def body(self) -> dict[str, Any]:
        """The JSON body: `{"error": {...}}`."""
        return {"error": self.error}


def dumps(value: Any) -> str:
    """Compact JSON that keeps non-ASCII text as is (as Groq sends it)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def new_request_id() -> str:
    """A Groq request id: `req_` and 26 lowercase Crockford base32 characters."""
    return "req_" + "".join(secrets.choice(_CROCKFORD) for _ in range(26))


def new_completion_id(prefix: str = "chatcmpl") -> str:
    """A completion id such as `chatcmpl-<uuid4>`."""
    return f"{prefix}-{uuid.uuid4()}"


def invalid_api_key() -> GroqHttpError:
    """401 for a missing or wrong key."""
    return GroqHttpError(401, "Invalid API Key", "invalid_request_error", "invalid_api_key")


def invalid_request(message: str, status: int = 400, code: str | None = None) -> GroqHttpError:
    """400 (by default) `invalid_request_error` with Groq's wording."""
    return GroqHttpError(status, message, "invalid_request_error", code)


def model_not_found(model: str) -> GroqHttpError:
    """404 for an unknown model id (the bare alias `gpt-oss-120b` included)."""
    return GroqHttpError(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    )


def model_decommissioned(model: str, replacement: str) -> GroqHttpError:
    """400 for a retired model, naming its successor."""
    return GroqHttpError(
        400,
        f"The model `{model}` has been decommissioned and is no longer supported. "
        f"Please use `{replacement}` instead. Please refer to "
        "https://console.groq.com/docs/deprecations for a recommendation on which model "
        "to use instead.",
        "invalid_request_error",
        "model_decommissioned",
    )


def rate_limited(model: str, exceeded: LimitExceeded, headers: dict[str, str]) -> GroqHttpError:
    """429 (or 413 when the request alone exceeds the limit) with Groq's message."""
    kind = "tokens" if exceeded.name.startswith("T") else "requests"
    where = (
        f"for model `{model}` in organization `{ORGANIZATION}` service tier `on_demand` "
        f"on {limit_description(exceeded.name)}: Limit {exceeded.limit}"
    )
    if exceeded.too_large:
        message = (
            f"Request too large {where}, Requested {exceeded.requested}, please reduce "
            f"your message size and try again. {UPGRADE_HINT}"
        )
        return GroqHttpError(413, message, kind, "rate_limit_exceeded", headers)
    message = (
        f"Rate limit reached {where}, Used {exceeded.used}, Requested {exceeded.requested}. "
        f"Please try again in {format_go_duration(exceeded.wait_seconds)}. {UPGRADE_HINT}"
    )
    retry = {"retry-after": str(exceeded.retry_after)}
    return GroqHttpError(429, message, kind, "rate_limit_exceeded", {**headers, **retry})


def scripted_rate_limit(model: str, retry_after: float, headers: dict[str, str]) -> GroqHttpError:
    """The 429 of a scripted fault: an RPM refusal asking to wait `retry_after` seconds."""
    exceeded = LimitExceeded("RPM", 30, 30, 1, retry_after)
    error = rate_limited(model, exceeded, headers)
    error.headers["retry-after"] = str(max(0, math.ceil(retry_after)))
    return error


def over_capacity(model: str | None, headers: dict[str, str]) -> GroqHttpError:
    """503: the model is over capacity."""
    subject = model or "The service"
    message = (
        f"{subject} is currently over capacity. Please try again and back off exponentially. "
        "Visit https://groqstatus.com to see if there is an active incident."
    )
    return GroqHttpError(503, message, "internal_server_error", "over_capacity", headers)


def flex_capacity(headers: dict[str, str]) -> GroqHttpError:
    """498: the flex tier has no capacity (Groq's custom status)."""
    message = "Capacity temporarily exceeded for the flex service tier. Please try again later."
    return GroqHttpError(498, message, "internal_server_error", "capacity_exceeded", headers)


def internal_error(message: str | None, headers: dict[str, str]) -> GroqHttpError:
    """500: an internal error."""
    text = message or "Internal Server Error. Please try again later."
    return GroqHttpError(500, text, "internal_server_error", "internal_server_error", headers)


def usage_json(reply: Reply, tps: float) -> dict[str, Any]:
    """Groq's usage object; times follow `tps` (500 tok/s when the emulator is instant)."""
    prompt_time = round(reply.prompt_tokens / 40_000, 9)
    completion_time = round(reply.completion_tokens / (tps or 500.0), 9)
    usage: dict[str, Any] = {
        "queue_time": 0.000_1,
        "prompt_tokens": reply.prompt_tokens,
        "prompt_time": prompt_time,
        "completion_tokens": reply.completion_tokens,
        "completion_time": completion_time,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        "total_time": round(prompt_time + completion_time, 9),
    }
    if reply.reasoning:
        usage["completion_tokens_details"] = {"reasoning_tokens": reply.reasoning_tokens}
    return usage


def chat_completion(
    reply: Reply,
    ids: tuple[str, str],
    created: int,
    model: str,
    fingerprint: str,
    usage: dict[str, Any],
    service_tier: str,
) -> dict[str, Any]:
    """A non-streamed `chat.completion` object."""
    completion_id, request_id = ids
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.reasoning and reply.show_reasoning:
        message["reasoning"] = reply.reasoning
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None,
             "finish_reason": reply.finish_reason}
        ],
        "usage": usage,
        "system_fingerprint": fingerprint,
        "x_groq": {"id": request_id},
        "service_tier": service_tier,
    }


def text_completion(
    reply: Reply, ids: tuple[str, str], created: int, model: str, usage: dict[str, Any]
) -> dict[str, Any]:
    """A non-streamed legacy `text_completion` object."""
    return {
        "id": ids[0],
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": [{"text": reply.content, "index": 0, "logprobs": None,
                     "finish_reason": reply.finish_reason}],
        "usage": usage,
        "system_fingerprint": None,
        "x_groq": {"id": ids[1]},
    }


def _pieces(text: str, size: int) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start : start + size]


class ChunkEncoder:
    """Encodes one stream's SSE frames; the constant JSON prefix is built once."""

    def __init__(
        self, ids: tuple[str, str], created: int, model: str, fingerprint: str, chat: bool
    ) -> None:
        self.completion_id, self.request_id = ids
        self.chat = chat
        obj = "chat.completion.chunk" if chat else "text_completion"
        self._head = (
            f'{{"id":"{self.completion_id}","object":"{obj}","created":{created},'
            f'"model":{dumps(model)},"system_fingerprint":{dumps(fingerprint if chat else None)},'
        )

    def _choice(self, inner: str, finish: str | None, tail: str = "") -> bytes:
        finish_json = dumps(finish)
        if self.chat:
            choice = f'{{"index":0,"delta":{inner},"logprobs":null,"finish_reason":{finish_json}}}'
        else:
            choice = f'{{"text":{inner},"index":0,"logprobs":null,"finish_reason":{finish_json}}}'
        return f'data: {self._head}"choices":[{choice}]{tail}}}\n\n'.encode()

    def first(self) -> bytes:
        """The opening chunk: the assistant role and empty content."""
        tail = f',"x_groq":{{"id":"{self.request_id}"}}'
        if not self.chat:
            return self._choice('""', None, tail)
        return self._choice('{"role":"assistant","content":""}', None, tail)

    def delta(self, field: str, text: str) -> bytes:
        """A chunk carrying `text` in `delta.<field>` (`reasoning` or `content`)."""
        if not self.chat:
            return self._choice(dumps(text), None)
        return self._choice(f"{{{dumps(field)}:{dumps(text)}}}", None)

    def last(self, finish_reason: str, usage: dict[str, Any]) -> bytes:
        """The closing chunk: finish_reason and `x_groq.usage`."""
        tail = f',"x_groq":{{"id":"{self.request_id}","usage":{dumps(usage)}}}'
        return self._choice('""' if not self.chat else "{}", finish_reason, tail)

    def usage_only(self, usage: dict[str, Any]) -> bytes:
        """The `include_usage` chunk: empty choices and the usage."""
        return f'data: {self._head}"choices":[],"usage":{dumps(usage)}}}\n\n'.encode()

    def malformed(self) -> bytes:
        """An unparsable frame: a chunk cut in the middle of its JSON."""
        return f'data: {self._head}"choices":[{{"index":0,"delta":{{"content":"tru\n\n'.encode()

    def body_frames(self, reply: Reply, chunk_chars: int) -> Iterator[tuple[int, bytes]]:
        """Reasoning then content frames, each with the tokens generated once it is sent."""
        generated = 0
        if reply.reasoning and reply.show_reasoning and self.chat:
            for piece in _pieces(reply.reasoning, chunk_chars):
                generated += estimate_tokens(piece)
                yield generated, self.delta("reasoning", piece)
        else:
            generated = reply.reasoning_tokens
        for piece in _pieces(reply.content, chunk_chars):
            generated += estimate_tokens(piece)
            yield generated, self.delta("content", piece)


def error_frame(error: GroqHttpError) -> bytes:
    """A mid-stream error event: `data: {"error": {...}}`."""
    return f"data: {dumps(error.body())}\n\n".encode()
