"""`sip serve`: the HTTP API, the web chat, the console and `/metrics` in one uvicorn process.

Sip is built once, in the app's lifespan, and closed at shutdown (Ctrl-C / SIGTERM). The
server refuses to listen on a non-loopback address unless `SIP_API_KEYS` is set: without
keys the API is open, so only this machine may reach it.

`--workers N` runs N such processes on one socket (uvicorn's supervisor restarts a worker
that dies). They must share Groq's budget, the breakers and the limits, so more than one
worker needs `SIP_REDIS_URL`; and Telegram long polling allows one consumer per bot, so
several workers need the webhook (`TELEGRAM_WEBHOOK_URL`). Each worker process builds its
app with :func:`app_from_environment`.

Plugins: each entry of :data:`PLUGIN_FACTORIES` names a function `factory(settings) ->
Plugin | None` (see :mod:`sipai.web.plugins`); a module that is not there (a partial
install) is skipped, and a factory returning None (its channel not configured) adds nothing.
"""

from __future__ import annotations

import importlib
import logging
import socket
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sipai.cli.main import app
from sipai.config import Settings, load_settings
from sipai.logs import configure_logging
from sipai.web.auth import is_loopback
from sipai.web.plugins import Plugin

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)

#: `module:function` of each plugin factory `sip serve` mounts when it is configured.
PLUGIN_FACTORIES: tuple[str, ...] = ("sipai.channels.telegram.webhook:web_plugin",)


def refusal(host: str, settings: Settings) -> str | None:
    """Why the server must not listen on `host` with these settings, or None."""
    if is_loopback(host) or settings.sip_api_keys:
        return None
    return (f"refusing to listen on {host} without SIP_API_KEYS: set SIP_API_KEYS=<key>[,<key>] "
            "or use --host 127.0.0.1")


def workers_refusal(workers: int, settings: Settings) -> str | None:
    """Why `workers` processes must not run with these settings, or None."""
    if workers <= 1:
        return None
    if not settings.sip_redis_url:
        return (f"--workers {workers} needs SIP_REDIS_URL: the workers share Groq's budget, "
                "the breakers and the rate limits through Redis")
    if settings.telegram_bot_token is not None and settings.telegram_webhook_url is None:
        return (f"--workers {workers} needs TELEGRAM_WEBHOOK_URL: Telegram long polling "
                "allows one consumer per bot, run `sip bot` once or use the webhook")
    return None


def app_from_environment() -> FastAPI:
    """The app of one `sip serve --workers N` process: settings from the environment."""
    from sipai.web.app import create_app

    settings = load_settings()
    configure_logging(settings.sip_log_level, settings.secrets())
    return create_app(settings=settings, plugins=load_plugins(settings))


def load_plugins(settings: Settings, factories: tuple[str, ...] = PLUGIN_FACTORIES
                 ) -> list[Plugin]:
    """The plugins whose factories exist and whose channel is configured."""
    plugins = []
    for spec in factories:
        module_name, _, attribute = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name is None or not module_name.startswith(error.name):
                raise
            log.info("serve.plugin_missing", extra={"plugin": spec})
            continue
        plugin = getattr(module, attribute)(settings)
        if plugin is not None:
            plugins.append(plugin)
    return plugins


@app.command()
def serve(host: Annotated[str | None, typer.Option(help="address to listen on "
                                                       "(default SIP_HOST, 127.0.0.1)")] = None,
          port: Annotated[int | None, typer.Option(help="port (default SIP_PORT, 8000; "
                                                        "0 picks a free one)",
                                                   min=0, max=65535)] = None,
          workers: Annotated[int, typer.Option(help="worker processes on the same port "
                                                    "(more than 1 needs SIP_REDIS_URL)",
                                               min=1, max=64)] = 1) -> None:
    """HTTP API + web chat + console (+ Telegram webhook when configured)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from sipai.web.app import create_app

    settings = load_settings()
    configure_logging(settings.sip_log_level, settings.secrets())
    host = host or settings.sip_host
    port = settings.sip_port if port is None else port
    problem = refusal(host, settings) or workers_refusal(workers, settings)
    if problem is not None:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2)
    try:
        sock = listen_socket(host, port)
    except OSError as error:
        typer.echo(f"error: cannot listen on {host}:{port}: {error.strerror or error}", err=True)
        raise typer.Exit(2) from None
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    brain = "model: " + settings.groq_model if settings.is_configured else (
        "offline brain: no GROQ_API_KEY")
    processes = f"; {workers} workers" if workers > 1 else ""
    options: dict[str, Any] = dict(log_config=None, access_log=False, server_header=False,
                                   proxy_headers=False, timeout_graceful_shutdown=10)
    if workers > 1:
        config = uvicorn.Config(f"{__name__}:app_from_environment", factory=True,
                                workers=workers, **options)
    else:
        config = uvicorn.Config(create_app(settings=settings, plugins=load_plugins(settings)),
                                **options)
    typer.echo(f"Sip on http://{shown}:{port}/ (web chat), /admin (console), /docs (API); "
               f"{brain}{processes}", err=True)
    try:
        if workers > 1:
            Multiprocess(config, sockets=[sock]).run()
        else:
            uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


def listen_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket on host:port (port 0 picks a free one), so the banner shows it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError:
        sock.close()
        raise
    return sock
