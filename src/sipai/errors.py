"""Sip's exception tree. Services raise these; only the edges (CLI, HTTP, bot) turn them into text.

    SipError
    ├── ConfigError                      a setting is missing or out of range
    ├── InvalidParameter                 a request parameter fails the guide's table (never sent)
    ├── ProviderError                    anything the model provider did wrong
    │   ├── RetryableError               worth another try (same model, after a wait)
    │   │   ├── RateLimited              429; retry_after, scope "minute" | "day"
    │   │   ├── ProviderUnavailable      5xx, 408, 409, over capacity
    │   │   ├── ProviderTimeout          no answer within GROQ_TIMEOUT
    │   │   ├── ProviderConnectionError  could not connect, or the connection dropped
    │   │   └── StreamInterrupted        a stream broke: error event, malformed chunk, drop
    │   ├── Rejected                     the request itself is refused; retrying won't help
    │   │   ├── AuthenticationError      401 invalid_api_key
    │   │   ├── PermissionDenied         403
    │   │   ├── ModelNotFound            404 model_not_found
    │   │   ├── ModelDecommissioned      400 model_decommissioned; .replacement
    │   │   ├── RequestTooLarge          413: prompt + max tokens exceed the TPM limit
    │   │   └── BadRequest               other 400/422
    │   ├── CapacityExceeded             498 flex capacity: try another model, not this one
    │   ├── EmptyCompletion              reasoning used the whole budget, no content left
    │   └── CircuitOpen                  the breaker for this model is open
    └── DomainError                      the customer's request cannot be served as asked
        ├── InputRejected                empty, too long, not text
        ├── UserRateLimited              one user sends too fast
        ├── BudgetExceeded               the user's daily token budget is spent
        └── NotFound                     unknown conversation, ticket, ...

Every ProviderError carries `status`, `code` (Groq's error code), `retry_after` (seconds)
and `model`. Messages never contain the API key or message texts.
"""

from __future__ import annotations


class SipError(Exception):
    """Base of every error Sip raises on purpose."""

    code: str = "sip_error"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or self.code).strip()


class ConfigError(SipError):
    """A setting is missing or out of range."""

    code = "config_error"


class InvalidParameter(SipError, ValueError):
    """A request parameter is outside the range the provider accepts."""

    code = "invalid_parameter"


class ProviderError(SipError):
    """The model provider failed to give an answer."""

    code = "provider_error"
    retryable = False
    #: Worth trying the next model in the chain.
    fallback = True

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        model: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        if code:
            self.code = code
        self.retry_after = retry_after
        self.model = model
        self.request_id = request_id

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
                f"retry_after={self.retry_after!r}, model={self.model!r})")


class RetryableError(ProviderError):
    """A failure that may succeed if tried again after a wait."""

    retryable = True


class RateLimited(RetryableError):
    """Groq's rate limit was hit (429)."""

    code = "rate_limit_exceeded"

    def __init__(self, message: str = "", *, scope: str = "minute", **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.scope = scope


class ProviderUnavailable(RetryableError):
    """The provider is over capacity or failing (5xx, 408, 409)."""

    code = "service_unavailable"


class ProviderTimeout(RetryableError):
    """The provider did not answer within the timeout."""

    code = "timeout"


class ProviderConnectionError(RetryableError):
    """The connection to the provider failed or dropped."""

    code = "connection_error"


class StreamInterrupted(RetryableError):
    """A streamed answer broke off: an error event, a malformed chunk or a dropped connection."""

    code = "stream_interrupted"


class Rejected(ProviderError):
    """The provider refused the request itself; sending it again will not help."""

    code = "rejected"


class AuthenticationError(Rejected):
    """The API key is missing or invalid (401)."""

    code = "invalid_api_key"


class PermissionDenied(Rejected):
    """The key may not use this resource (403)."""

    code = "permission_denied"


class ModelNotFound(Rejected):
    """The model does not exist or the key cannot see it (404)."""

    code = "model_not_found"


class ModelDecommissioned(Rejected):
    """The model was retired by the provider (400 model_decommissioned)."""

    code = "model_decommissioned"

    def __init__(self, message: str = "", *, replacement: str | None = None,
                 **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.replacement = replacement


class RequestTooLarge(Rejected):
    """Prompt plus max completion tokens exceed the provider's per-minute token limit (413)."""

    code = "request_too_large"


class BadRequest(Rejected):
    """The provider rejected the request's parameters (400/422)."""

    code = "invalid_request_error"
    fallback = False


class CapacityExceeded(ProviderError):
    """The provider's flex capacity is used up (498); another model may answer."""

    code = "capacity_exceeded"


class EmptyCompletion(ProviderError):
    """The model spent its whole budget reasoning and returned no answer text."""

    code = "empty_completion"


class CircuitOpen(ProviderError):
    """The circuit breaker for this model is open; it is not being called for now."""

    code = "circuit_open"


class DomainError(SipError):
    """The customer's request cannot be served as asked."""

    code = "domain_error"


class InputRejected(DomainError):
    """The message is empty, too long or not text."""

    code = "input_rejected"


class UserRateLimited(DomainError):
    """One user is sending messages faster than allowed."""

    code = "user_rate_limited"

    def __init__(self, message: str = "", *, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BudgetExceeded(DomainError):
    """The user's daily token budget is spent."""

    code = "budget_exceeded"


class NotFound(DomainError):
    """The conversation, ticket or user does not exist."""

    code = "not_found"


__all__ = [
    "AuthenticationError", "BadRequest", "BudgetExceeded", "CapacityExceeded", "CircuitOpen",
    "ConfigError", "DomainError", "EmptyCompletion", "InputRejected", "InvalidParameter",
    "ModelDecommissioned", "ModelNotFound", "NotFound", "PermissionDenied",
    "ProviderConnectionError",
    "ProviderError", "ProviderTimeout", "ProviderUnavailable", "RateLimited", "Rejected",
    "RequestTooLarge", "RetryableError", "SipError", "StreamInterrupted", "UserRateLimited",
]
