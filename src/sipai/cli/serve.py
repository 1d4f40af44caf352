"""`sip serve`: the HTTP API, the web chat, the console and `/metrics` in one uvicorn process.

Sip is built once, in the app's lifespan, and closed at shutdown (Ctrl-C / SIGTERM). The
server refuses to listen on a non-loopback address unless `SIP_API_KEYS` is set: without
keys the API is open, so only this machine may reach it.

Plugins: each entry of :data:`PLUGIN_FACTORIES` names a function `factory(settings) ->
Plugin | None` (see :mod:`sipai.web.plugins`); a module that is not there (a partial
install) is skipped, and a factory returning None (its channel not configured) adds nothing.
"""

from __future__ import annotations

import importlib
import logging
import socket
from typing import Annotated

import typer

from sipai.cli.main import app
from sipai.config import Settings, load_settings
from sipai.logs import configure_logging
from sipai.web.auth import is_loopback
from sipai.web.plugins import Plugin

log = logging.getLogger(__name__)

#: `module:function` of each plugin factory `sip serve` mounts when it is configured.
PLUGIN_FACTORIES: tuple[str, ...] = ("sipai.channels.telegram.webhook:web_plugin",)


def refusal(host: str, settings: Settings) -> str | None:
    """Why the server must not listen on `host` with these settings, or None."""
    if is_loopback(host) or settings.sip_api_keys:
        return None
    return (f"refusing to listen on {host} without SIP_API_KEYS: set SIP_API_KEYS=<key>[,<key>] "
            "or use --host 127.0.0.1")


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
                                                   min=0, max=65535)] = None) -> None:
    """HTTP API + web chat + console (+ Telegram webhook when configured)."""
    import uvicorn

    from sipai.web.app import create_app

    settings = load_settings()
    configure_logging(settings.sip_log_level, settings.secrets())
    host = host or settings.sip_host
    port = settings.sip_port if port is None else port
    problem = refusal(host, settings)
    if problem is not None:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2)
    try:
        sock = listen_socket(host, port)
    except OSError as error:
        typer.echo(f"error: cannot listen on {host}:{port}: {error.strerror or error}", err=True)
        raise typer.Exit(2) from None
    port = sock.getsockname()[1]
    web = create_app(settings=settings, plugins=load_plugins(settings))
    shown = f"[{host}]" if ":" in host else host
    brain = "model: " + settings.groq_model if settings.is_configured else (
        "offline brain: no GROQ_API_KEY")
    typer.echo(f"Sip on http://{shown}:{port}/ (web chat), /admin (console), /docs (API); "
               f"{brain}", err=True)
    config = uvicorn.Config(web, log_config=None, access_log=False, server_header=False,
                            proxy_headers=False, timeout_graceful_shutdown=10)
    try:
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
