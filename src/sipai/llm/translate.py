"""Translate the SDK's and httpx's exceptions into Sip's error tree (`raise … from exc`).

Groq's error body is `{"error": {"message", "type", "code"}}`; the status, the code and the
`retry-after` header decide the class. Messages keep Groq's text (which never contains the
key), so operators see "Invalid API Key" or the rate-limit details.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import openai

from sipai.errors import (
    AuthenticationError,
    BadRequest,
    CapacityExceeded,
    ModelDecommissioned,
    ModelNotFound,
    PermissionDenied,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    RequestTooLarge,
    StreamInterrupted,
)
from sipai.llm.catalog import replacement_for
from sipai.llm.types import parse_go_duration


def _error_fields(body: object) -> tuple[str, str | None]:
    """(message, code) from a Groq error body, whichever shape the SDK handed over."""
    if isinstance(body, Mapping):
        inner: Any = body.get("error", body)
        if isinstance(inner, Mapping):
            message = inner.get("message")
            code = inner.get("code") or inner.get("type")
            return (str(message) if message else "", str(code) if code else None)
    return ("", None)


def retry_after(headers: Mapping[str, str] | httpx.Headers | None) -> float | None:
    """Seconds from `retry-after` (or Groq's reset headers as a fallback); None if absent."""
    if not headers:
        return None
    value = headers.get("retry-after")
    if value is not None:
        try:
            return max(0.0, float(value))
        except ValueError:
            return parse_go_duration(value)
    return None


def from_status(status: int, body: object, headers: Mapping[str, str] | httpx.Headers | None,
                model: str | None) -> ProviderError:
    """The Sip error for an HTTP error response from the provider."""
    message, code = _error_fields(body)
    wait = retry_after(headers)
    request_id = headers.get("x-request-id") if headers else None
    kw: dict[str, Any] = {"status": status, "model": model, "request_id": request_id,
                          "retry_after": wait}
    if code and status != 413:  # Groq's 413 says rate_limit_exceeded; keep ours distinct
        kw["code"] = code
    if status == 401:
        return AuthenticationError(message or "Invalid API Key", **kw)
    if status == 403:
        return PermissionDenied(message or "permission denied", **kw)
    if status == 404:
        return ModelNotFound(message or f"model {model} not found", **kw)
    if status == 413:
        return RequestTooLarge(message or "request too large for the TPM limit", **kw)
    if status == 429:
        # Groq says which limit in the message: a per-day limit will not clear in seconds.
        scope = "day" if "per day" in message.lower() or "(rpd)" in message.lower() else "minute"
        return RateLimited(message or "rate limit exceeded", scope=scope, **kw)
    if status == 498:
        return CapacityExceeded(message or "flex capacity exceeded", **kw)
    if status == 400 and code == "model_decommissioned":
        return ModelDecommissioned(message or f"model {model} was decommissioned",
                                   replacement=replacement_for(model or ""), **kw)
    if status in (408, 409) or status >= 500:
        return ProviderUnavailable(message or f"provider returned {status}", **kw)
    return BadRequest(message or f"provider rejected the request ({status})", **kw)


def translate(exc: BaseException, model: str | None, *, streaming: bool = False) -> ProviderError:
    """Map any SDK/httpx exception raised during a call to a Sip ProviderError."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, openai.APIStatusError):
        return from_status(exc.status_code, exc.body, exc.response.headers, model)
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        return ProviderTimeout("the provider did not answer in time", model=model)
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        if streaming:
            return StreamInterrupted("the connection dropped during the stream", model=model)
        return ProviderConnectionError("could not reach the provider", model=model)
    if isinstance(exc, openai.APIError):
        # An `error` event inside a stream: the SDK raises APIError with the event's body.
        message, code = _error_fields({"error": exc.body} if exc.body is not None else None)
        return StreamInterrupted(message or "the stream reported an error", model=model,
                                 code=code or "stream_error")
    if isinstance(exc, ValueError):
        # A chunk or body that is not JSON (json.JSONDecodeError is a ValueError).
        if streaming:
            return StreamInterrupted("the provider sent a malformed chunk", model=model,
                                     code="malformed_chunk")
        return ProviderUnavailable("the provider sent a malformed response", model=model,
                                   code="malformed_response")
    return ProviderError(f"unexpected provider failure ({type(exc).__name__})", model=model)
