"""The `sip` command line. Commands stay thin: build from the composition root, call, print.

Errors end as one readable line on stderr and a non-zero exit code, never a traceback or a
secret.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import json
import sys
from collections.abc import Coroutine
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from sipai.config import Settings, load_settings
from sipai.errors import SipError
from sipai.logs import configure_logging

T = TypeVar("T")

app = typer.Typer(name="sip", help="Sip, the AI support assistant of a VPN service.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
out = Console()
err = Console(stderr=True)


def settings_for_cli() -> Settings:
    """Load settings and start logging to stderr (JSON, redacted)."""
    settings = load_settings()
    configure_logging(settings.sip_log_level if settings.sip_log_level != "INFO" else "WARNING",
                      settings.secrets())
    return settings


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion for a command."""
    return asyncio.run(coro)


def print_json(data: object) -> None:
    """Print JSON to stdout, unstyled, so scripts can parse it."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


@app.command()
def models(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """List the provider's models (GET /models)."""
    from sipai.bootstrap import llm_client

    settings = settings_for_cli()

    async def fetch() -> list[dict[str, Any]]:
        client = llm_client(settings, require_key=True)
        try:
            return [dataclasses.asdict(card) for card in await client.models()]
        finally:
            await client.aclose()

    cards = run(fetch())
    if as_json:
        print_json(cards)
        return
    for card in sorted(cards, key=lambda c: str(c["id"])):
        context = f"{card['context_window']:,}" if card.get("context_window") else "?"
        out.print(f"{card['id']:<40} context {context}")


@app.command()
def doctor(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Check key, endpoint, models, rate-limit headroom and latency, with a fix for each."""
    from sipai.bootstrap import llm_client
    from sipai.cli.doctor import run_checks

    settings = settings_for_cli()

    async def diagnose() -> list[Any]:
        client = llm_client(settings, require_key=False)
        try:
            return await run_checks(settings, client)
        finally:
            await client.aclose()

    checks = run(diagnose())
    if as_json:
        print_json([c.as_dict() for c in checks])
    else:
        for check in checks:
            mark = "[green]✓[/green]" if check.ok else "[red]✗[/red]"
            line = f"{mark} {check.name:<28} {check.detail}"
            if not check.ok and check.fix:
                line += f"\n   [dim]fix:[/dim] {check.fix}"
            out.print(line, highlight=False)
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


#: Modules whose import adds their commands to `app` (ask, chat, stats, ...; serve; bot).
COMMAND_MODULES = ("sipai.cli.support", "sipai.cli.serve", "sipai.cli.bot")


def _register_subcommands() -> None:
    """Attach the commands of other layers (imported here, not at module import)."""
    for module in COMMAND_MODULES:
        importlib.import_module(module)
    from sipai.cli.dev import dev_app
    from sipai.cli.kb import kb_app

    app.add_typer(dev_app, name="dev", help="Tools for development: the Groq emulator.")
    app.add_typer(kb_app, name="kb", help="The knowledge base: search, reindex, list.")


def main() -> None:
    """Entry point of the `sip` console script."""
    try:
        _register_subcommands()
        app()
    except SipError as error:
        err.print(f"error: {error.message}", highlight=False, markup=False)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
