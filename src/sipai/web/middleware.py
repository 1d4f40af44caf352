"""The edge: what every HTTP request goes through before and after its route.

One pure ASGI middleware (streaming-safe, unlike `BaseHTTPMiddleware`) that

- refuses bodies over the size limit with 413 `request_too_large` — up front when
  `Content-Length` says so, or as soon as a chunked body grows past it;
- records `sip_http_requests_total{route,method,status}` and
  `sip_http_request_seconds{route}`, labelled by the route *template* (`/api/users/{user_id}`)
  so user ids never become label values;
- logs one JSON line per request: method, route template, status, bytes out, milliseconds
  (never the path's values, query strings or bodies);
- adds security headers, and a strict Content-Security-Policy on Sip's own pages (the web
  chat and the console load nothing from outside and run no inline script).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sipai.observability import metrics
from sipai.web.errors import error_response

log = logging.getLogger("sipai.web.access")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
#: FastAPI's interactive docs load Swagger UI / ReDoc with inline scripts: no CSP there.
_NO_CSP = ("/docs", "/redoc")
_ALWAYS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
           (b"x-frame-options", b"DENY")]


class BodyTooLarge(HTTPException):
    """The request body grew past the limit while it was being read."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


def route_label(scope: Scope) -> str:
    """The route template that served the request, for metric labels and logs."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    raw = str(scope.get("path", ""))
    return "/static" if raw.startswith("/static/") else "unmatched"


class EdgeMiddleware:
    """Body-size limit, HTTP metrics, access log and security headers."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state: dict[str, Any] = {"status": 500, "bytes": 0}
        path = str(scope.get("path", ""))
        headers = list(_ALWAYS)
        if not path.startswith(_NO_CSP):
            headers.append((b"content-security-policy", CSP.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                message["headers"] = list(message.get("headers", [])) + headers
            elif message["type"] == "http.response.body":
                state["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            declared = _content_length(scope)
            if declared is not None and declared > self.max_body_bytes:
                response = error_response(413, "request_too_large",
                                          f"request body larger than {self.max_body_bytes} bytes")
                await response(scope, receive, send_with_headers)
                return
            await self.app(scope, self._limited(receive), send_with_headers)
        finally:
            self._observe(scope, state, time.perf_counter() - started)

    def _limited(self, receive: Receive) -> Receive:
        seen = 0
        limit = self.max_body_bytes

        async def receive_limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        return receive_limited

    @staticmethod
    def _observe(scope: Scope, state: dict[str, Any], seconds: float) -> None:
        route = route_label(scope)
        method = str(scope.get("method", "?"))
        status = int(state["status"])
        metrics.http_requests.labels(route, method, str(status)).inc()
        metrics.http_latency.labels(route).observe(seconds)
        level = logging.WARNING if status >= 500 else logging.INFO
        log.log(level, "http.request", extra={"method": method, "route": route, "status": status,
                                              "bytes": state["bytes"],
                                              "ms": round(seconds * 1000, 1)})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


__all__ = ["CSP", "BodyTooLarge", "EdgeMiddleware", "route_label"]
