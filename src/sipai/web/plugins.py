"""How other layers hook into the web app: a :class:`Plugin` and the running :class:`Sip`.

The Telegram webhook is the first plugin: it brings its own router (mounted as is, with no
API-key check: Telegram authenticates with the webhook's secret token, which the plugin
checks) and a lifespan that starts and stops the bot around the server's life::

    def web_plugin(settings: Settings) -> Plugin | None:
        router = APIRouter()

        @router.post("/telegram/webhook")
        async def webhook(request: Request, sip: Annotated[Sip, Depends(current_sip)]) -> ...:
            ...

        @asynccontextmanager
        async def lifespan(sip: Sip) -> AsyncIterator[None]:
            ...  # build the bot on sip.deps, set the webhook
            yield
            ...  # stop the bot

        return Plugin("telegram", router=router, lifespan=lifespan)

`create_app(sip, plugins=[...])` includes each router and enters each lifespan (in order,
after Sip is built; left in reverse order before Sip is closed). `sip serve` loads the
factories listed in :data:`sipai.cli.serve.PLUGIN_FACTORIES`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request

from sipai.web.errors import ApiError

if TYPE_CHECKING:
    from fastapi import APIRouter

    from sipai.bootstrap import Sip

PluginLifespan = Callable[["Sip"], AbstractAsyncContextManager[None]]


@dataclass(frozen=True, slots=True)
class Plugin:
    """Routes and background work another layer adds to the web app."""

    name: str
    router: APIRouter | None = None
    lifespan: PluginLifespan | None = None


def current_sip(request: Request) -> Sip:
    """The running Sip (a FastAPI dependency); 503 while the app is starting or stopping."""
    sip: Sip | None = getattr(request.app.state, "sip", None)
    if sip is None:
        raise ApiError(503, "unavailable", "Sip is starting, try again in a moment",
                       {"Retry-After": "1"})
    return sip


__all__ = ["Plugin", "PluginLifespan", "current_sip"]
