"""Terminal front end: `sip ask`, `sip chat`, `sip stats`, `sip forget`, `sip purge`."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.markdown import Markdown
from rich.spinner import Spinner
from rich.text import Text

from sipai.bootstrap import running_sip
from sipai.cli.main import app, print_json, run, settings_for_cli
from sipai.config import Settings
from sipai.llm.types import TextDelta
from sipai.support import conversations
from sipai.support.hygiene import InputProblem
from sipai.support.reply import Reply
from sipai.support.service import SupportDeps
from sipai.support.service import ask as ask_turn
from sipai.support.service import stream as stream_turn
from sipai.text.language import detect_language

out = Console()
err = Console(stderr=True)

UserOption = Annotated[str, typer.Option("--user", "-u", help="the customer's id")]
JsonOption = Annotated[bool, typer.Option("--json", help="print the reply object as JSON")]


@app.command()
def ask(message: Annotated[str, typer.Argument(help="the customer's message")],
        user: UserOption = "local",
        as_json: JsonOption = False,
        offline: Annotated[bool, typer.Option("--offline",
                                              help="answer from the knowledge base only")] = False,
        ) -> None:
    """One turn in the customer's conversation."""
    settings = settings_for_cli()

    async def turn() -> Reply:
        async with running_sip(settings, offline=offline) as sip:
            return await ask_turn(sip.deps, user, message, channel="cli", offline=offline)

    try:
        reply = run(turn())
    except InputProblem as problem:
        err.print(problem.for_user(detect_language(message, settings.sip_language)),
                  markup=False, highlight=False)
        raise typer.Exit(2) from None
    if as_json:
        print_json(reply.to_dict())
        return
    out.print(Markdown(reply.answer))
    _footer(reply)


def _footer(reply: Reply) -> None:
    bits = [reply.route + (f" · {reply.model}" if reply.model else "")]
    if reply.sources:
        bits.append("sources: " + ", ".join(s.title for s in reply.sources))
    if reply.ticket_id is not None:
        bits.append(f"ticket #{reply.ticket_id}")
    out.print(Text(" · ".join(bits), style="dim"))


@app.command()
def chat(user: UserOption = "local",
         offline: Annotated[bool, typer.Option("--offline")] = False) -> None:
    """Interactive chat in the terminal: streamed, rendered; /new, /human, /quit."""
    settings = settings_for_cli()
    asyncio.run(_chat(settings, user, offline))


async def _chat(settings: Settings, user: str, offline: bool) -> None:
    async with running_sip(settings, offline=offline) as sip:
        out.print(Text("Sip — /new nueva conversación · /human una persona · /quit salir",
                       style="dim"))
        while True:
            try:
                line = await asyncio.to_thread(input, "› ")
            except (EOFError, KeyboardInterrupt):
                out.print()
                return
            command = line.strip().lower()
            if command in ("/quit", "/exit", "/salir"):
                return
            if command in ("/new", "/nuevo"):
                await conversations.new_conversation(sip.deps, user)
                out.print(Text("— nueva conversación —", style="dim"))
                continue
            if command in ("/human", "/humano"):
                ticket, created = await conversations.escalate(sip.deps, user, "requested")
                state = "abierto" if created else "ya abierto"
                out.print(f"Ticket #{ticket.id} {state}: una persona te contestará.")
                continue
            if not command:
                continue
            await _stream_one(sip.deps, user, line)


async def _stream_one(deps: SupportDeps, user: str, line: str) -> None:
    parts: list[str] = []
    reply: Reply | None = None
    spinner = Spinner("dots", text=Text("pensando…", style="dim"))
    try:
        with Live(spinner, console=out, refresh_per_second=12, transient=False) as live:
            async for event in stream_turn(deps, user, line, channel="cli"):
                if isinstance(event, TextDelta):
                    parts.append(event.text)
                    live.update(Markdown("".join(parts)))
                else:
                    reply = event
                    live.update(Group(Markdown(reply.answer)))
    except InputProblem as problem:
        err.print(problem.for_user(detect_language(line)), markup=False)
        return
    if reply is not None:
        _footer(reply)


@app.command()
def stats(as_json: JsonOption = False,
          days: Annotated[int, typer.Option(help="window in days")] = 30) -> None:
    """Usage, cost, tickets, feedback and answer modes."""
    settings = settings_for_cli()

    async def collect() -> dict[str, object]:
        async with running_sip(settings, offline=True) as sip:
            return (await conversations.stats(sip.deps, days)).as_dict()

    data = run(collect())
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        rendered = json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value
        out.print(f"{key:<16} {rendered}", highlight=False)


@app.command()
def forget(user: Annotated[str, typer.Argument(help="the customer's id")],
           yes: Annotated[bool, typer.Option("--yes", help="do not ask")] = False) -> None:
    """Erase everything stored about a customer."""
    if not yes and sys.stdin.isatty():
        typer.confirm(f"Erase every message, ticket and record of {user}?", abort=True)
    settings = settings_for_cli()

    async def erase() -> dict[str, int]:
        async with running_sip(settings, offline=True) as sip:
            return await conversations.forget(sip.deps, user)

    print_json(run(erase()))


@app.command()
def purge(days: Annotated[int | None, typer.Option(help="override SIP_RETENTION_DAYS")] = None
          ) -> None:
    """Retention job: delete conversations ended more than N days ago."""
    settings = settings_for_cli()

    async def job() -> int:
        async with running_sip(settings, offline=True) as sip:
            return await conversations.purge_expired(sip.deps, days)

    print_json({"conversations_removed": run(job())})
