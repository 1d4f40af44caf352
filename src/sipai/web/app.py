"""The FastAPI app: one process serving the API, the web chat, the console and `/metrics`.

:func:`create_app` wires the routers, the edge middleware, the error handlers and the
static pages around a :class:`~sipai.bootstrap.Sip`. Give it a built Sip (tests, embedding;
the caller closes it) or only settings, and the app builds Sip in its lifespan and closes
it at shutdown (`sip serve`). Routes reach the running Sip through
:func:`sipai.web.plugins.current_sip`; other layers add routes and background work with
:class:`~sipai.web.plugins.Plugin` (the Telegram webhook).

    /              web chat (static page)          /web/*          its API (visitor id)
    /admin         operator console (static page)  /api/admin/*    its API (admin key)
    /api/*         HTTP API (API key)              /v1/*, /openai/v1/*  OpenAI-compatible
    /healthz /readyz /metrics                      /docs /openapi.json
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from redis.asyncio import Redis

from sipai import __version__
from sipai.bootstrap import Sip, running_sip
from sipai.config import Settings
from sipai.web import admin, api, health, openai_compat, visitor
from sipai.web.auth import AccessPolicy
from sipai.web.errors import install_error_handlers
from sipai.web.health import ReadinessProbe
from sipai.web.live import MetricSampler
from sipai.web.middleware import EdgeMiddleware
from sipai.web.plugins import Plugin
from sipai.web.ratelimit import RequestLimiter, edge_limiter

STATIC_DIR = Path(__file__).parent / "static"
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"

DESCRIPTION = """Sip, the AI support assistant of a VPN service.

* `/api/*` — Sip's API: a customer's turn (`POST /api/chat`, JSON or SSE), history,
  new/end, escalate, feedback, forget. `Authorization: Bearer <SIP_API_KEYS entry>`.
* `/v1/*` (and `/openai/v1/*`) — OpenAI-compatible: model `sip`, streaming and not.
* `/web/*` — the web chat's API (visitor id in `X-Sip-Visitor`).
* `/api/admin/*` — the operator console's data (`X-Sip-Admin-Key`).

Errors are `{"error": {"code", "message", "type"}}` with a stable `code`.
"""


@dataclass(frozen=True, slots=True)
class WebOptions:
    """Knobs of the web layer that are not settings of Sip itself."""

    #: Largest request body accepted (413 beyond).
    max_body_bytes: int = 256 * 1024
    #: Requests per minute per API key (API and OpenAI-compatible routes); None takes
    #: `SIP_HTTP_KEY_RPM` (600), 0 means no limit.
    key_rpm: int | None = None
    #: Requests per minute per client address on the web chat's routes; None takes
    #: `SIP_HTTP_CLIENT_RPM` (60), 0 means no limit.
    client_rpm: int | None = None
    #: Origins allowed by CORS; empty (the default) means CORS stays off.
    cors_origins: tuple[str, ...] = ()
    #: Seconds between samples of the 429 counters for the console's chart.
    sample_interval: float = 60.0
    #: Replace the limiters (in memory, or in Redis when `SIP_REDIS_URL` is set).
    key_limiter: RequestLimiter | None = None
    client_limiter: RequestLimiter | None = None


def create_app(sip: Sip | None = None, *, settings: Settings | None = None,
               plugins: Sequence[Plugin] = (), options: WebOptions | None = None) -> FastAPI:
    """Build the app around `sip`, or around a Sip it builds from `settings` at start-up."""
    if sip is None and settings is None:
        raise ValueError("create_app needs a Sip or Settings")
    config = sip.settings if sip is not None else settings
    assert config is not None
    options = options or WebOptions()
    # Several workers share the edge limits through Redis, as they share Groq's budget.
    shared = options.key_limiter is None or options.client_limiter is None
    redis = Redis.from_url(config.sip_redis_url) if shared and config.sip_redis_url else None
    key_rpm = config.sip_http_key_rpm if options.key_rpm is None else options.key_rpm
    client_rpm = config.sip_http_client_rpm if options.client_rpm is None else options.client_rpm

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if redis is not None:
                stack.push_async_callback(redis.aclose)
            running = sip if sip is not None else await stack.enter_async_context(
                running_sip(config))
            for plugin in plugins:
                if plugin.lifespan is not None:
                    await stack.enter_async_context(plugin.lifespan(running))
            sampling = asyncio.create_task(app.state.sampler.run(), name="sip-metric-sampler")
            stack.push_async_callback(_cancel, sampling)
            app.state.sip = running
            try:
                yield
            finally:
                app.state.sip = None  # routes answer 503 while things close

    app = FastAPI(title="Sip", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.sip = None
    app.state.access = AccessPolicy.from_settings(config)
    prefix = config.sip_redis_prefix
    app.state.key_limiter = options.key_limiter or edge_limiter(
        key_rpm, scope="key", redis=redis, prefix=prefix)
    app.state.client_limiter = options.client_limiter or edge_limiter(
        client_rpm, scope="client", redis=redis, prefix=prefix)
    app.state.sampler = MetricSampler(options.sample_interval)
    app.state.readiness = ReadinessProbe()
    app.state.plugins = tuple(plugin.name for plugin in plugins)

    install_error_handlers(app)
    for router in (api.router, visitor.router, admin.router, health.router,
                   openai_compat.build_router("/v1"),
                   openai_compat.build_router("/openai/v1", include_in_schema=False)):
        app.include_router(router)
    for plugin in plugins:
        if plugin.router is not None:
            app.include_router(plugin.router)
    _pages(app)

    if options.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(options.cors_origins),
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "X-API-Key",
                                          "X-Sip-User", "X-Sip-Visitor", "X-Sip-Admin-Key"])
    app.add_middleware(EdgeMiddleware, max_body_bytes=options.max_body_bytes)
    return app


def _pages(app: FastAPI) -> None:
    """The web chat, the console, the API docs and their assets (no build step, no CDN)."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # Swagger UI's files come from a package: the machine running Sip may have no internet.
    app.mount("/docs-assets", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title="Sip API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon.png")

    @app.get("/", include_in_schema=False)
    async def chat_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/admin", include_in_schema=False)
    async def console_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "admin.html", headers={"Cache-Control": "no-cache"})


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


__all__ = ["STATIC_DIR", "WebOptions", "create_app"]
