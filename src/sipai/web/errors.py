"""Errors at the HTTP edge: every failure leaves as JSON with a stable `code`, never a traceback.

The body has OpenAI's error shape, so the `openai` and `groq` SDKs raise their usual
exceptions from it::

    {"error": {"code": "input_rejected", "message": "...", "type": "invalid_request_error"}}

Codes (the status in brackets):

    invalid_api_key [401]      missing or wrong API key / admin key
    admin_disabled [403]       the console is off: SIP_ADMIN_KEY is not set on a public server
    not_found [404]            unknown route, user, ticket or answer
    model_not_found [404]      the OpenAI-compatible endpoint serves only the model "sip"
    method_not_allowed [405]
    request_too_large [413]    the body exceeds the size limit
    input_rejected [400]       the customer's message is empty, too long or not text
    invalid_request [400/422]  the request does not match the schema
    rate_limited [429]         too many requests for this key or client; see Retry-After
    unavailable [503]          Sip is starting or stopping
    internal_error [500]       a bug; logged with its type, never shown

Services raise :mod:`sipai.errors`; :func:`install_error_handlers` maps them here.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sipai.errors import DomainError, InputRejected, NotFound, SipError, UserRateLimited
from sipai.observability import metrics
from sipai.support.hygiene import InputProblem

log = logging.getLogger(__name__)

#: OpenAI's `type` for each status family, so SDKs classify our errors as they do theirs.
_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
          404: "not_found_error", 413: "invalid_request_error", 422: "invalid_request_error",
          429: "rate_limit_error"}

_HTTP_CODES = {401: "invalid_api_key", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "request_too_large",
               415: "unsupported_media_type", 429: "rate_limited"}


class ApiError(Exception):
    """An error the web layer answers with on purpose: status, stable code and message."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_body(status: int, code: str, message: str) -> dict[str, Any]:
    """The JSON body of an error response."""
    return {"error": {"code": code, "message": message,
                      "type": _TYPES.get(status, "api_error" if status >= 500 else
                                         "invalid_request_error")}}


def error_response(status: int, code: str, message: str,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """An error as a JSON response (and one more in `sip_http_errors_total{code}`)."""
    metrics.http_errors.labels(code).inc()
    return JSONResponse(error_body(status, code, message), status_code=status, headers=headers)


def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = _HTTP_CODES.get(status, "invalid_request" if status < 500 else "internal_error")
    message = exc.detail if isinstance(exc.detail, str) and status != 404 else (
        "no such route" if status == 404 else "request failed")
    headers = dict(exc.headers or {})
    if status == 405:
        # Starlette names only the first matching route's methods; a path may have several.
        headers["Allow"] = ", ".join(allowed_methods(request) or [headers.get("Allow", "")])
    return error_response(status, code, message, headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method the documented routes accept on this request's path."""
    methods: set[str] = set()
    schema = request.app.openapi()
    for template, operations in schema.get("paths", {}).items():
        pattern = "^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, request.url.path):
            methods.update(method.upper() for method in operations)
    return sorted(methods)


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors()[:3]:
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        problems.append(f"{where or 'body'}: {error.get('msg', 'invalid')}")
    return error_response(422, "invalid_request", "; ".join(problems) or "invalid request")


def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SipError)
    if isinstance(exc, InputProblem):
        language = getattr(request.state, "language", "es")
        return error_response(400, "input_rejected", exc.for_user(language))
    if isinstance(exc, NotFound):
        return error_response(404, "not_found", exc.message)
    if isinstance(exc, InputRejected):
        return error_response(400, "input_rejected", exc.message)
    if isinstance(exc, UserRateLimited):
        wait = str(max(1, round(exc.retry_after)))
        return error_response(429, "rate_limited", "too many messages, slow down",
                              {"Retry-After": wait})
    if isinstance(exc, DomainError):
        return error_response(400, exc.code, exc.message)
    log.error("http.sip_error", extra={"path": request.url.path, "error": type(exc).__name__,
                                       "code": exc.code})
    return error_response(503, "unavailable", "Sip cannot answer this request right now")


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The type is enough to find the bug in the logs; the text may carry user data.
    log.error("http.unhandled", extra={"path": request.url.path, "error": type(exc).__name__})
    return error_response(500, "internal_error", "internal error")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every exception into the JSON error shape."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(SipError, _domain_error)
    app.add_exception_handler(Exception, _unexpected)
