"""`sip dev …`: developer tools; `sip dev fake-groq` runs the local Groq emulator.

    sip dev fake-groq --port 8900 --rpm 30 --tpm 8000 --time-scale 60 \\
        --ttft-ms 200 --tps 500 --fault 503:times=2 --log-file requests.jsonl

Once listening it prints one line, `fake-groq listening on http://HOST:PORT/openai/v1`
(with the real port when `--port 0`), and serves until interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Annotated

import typer

from sipai.dev.emulator import Emulator, FakeGroqConfig
from sipai.dev.faults import Fault, parse_fault_spec
from sipai.dev.limits import RateLimits
from sipai.dev.server import bind_socket, build_server

dev_app = typer.Typer(help="Developer tools: the local Groq emulator.", no_args_is_help=True)


@dev_app.callback()
def _dev() -> None:
    """Developer tools for Sip."""


def parse_model_limits(spec: str) -> tuple[str, RateLimits]:
    """Parse `MODEL=RPM,TPM,RPD,TPD` (0 = unlimited) into a model id and its limits."""
    model, sep, numbers = spec.rpartition("=")
    parts = numbers.split(",")
    if not sep or not model or len(parts) != 4:
        raise ValueError(f"expected MODEL=RPM,TPM,RPD,TPD, got {spec!r}")
    rpm, tpm, rpd, tpd = (int(part) for part in parts)
    if min(rpm, tpm, rpd, tpd) < 0:
        raise ValueError("limits must not be negative")
    return model, RateLimits(rpm, tpm, rpd, tpd)


async def _serve(emulator: Emulator, host: str, port: int, log_level: str) -> None:
    sock = bind_socket(host, port)
    server = build_server(emulator, in_process=False, log_level=log_level)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            await task
            return
        await asyncio.sleep(0.01)
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"fake-groq listening on http://{shown}:{sock.getsockname()[1]}/openai/v1")
    sys.stdout.flush()
    await task


@dev_app.command("fake-groq")
def fake_groq(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8900,
    api_key: Annotated[str | None, typer.Option(
        "--api-key", help="The only accepted key (default: any key starting with gsk_).",
    )] = None,
    rpm: Annotated[int, typer.Option(min=0, help="Requests per minute (0 = unlimited).")] = 30,
    tpm: Annotated[int, typer.Option(min=0, help="Tokens per minute (0 = unlimited).")] = 8000,
    rpd: Annotated[int, typer.Option(min=0, help="Requests per day (0 = unlimited).")] = 1000,
    tpd: Annotated[int, typer.Option(min=0, help="Tokens per day (0 = unlimited).")] = 200000,
    unlimited: Annotated[bool, typer.Option(help="No rate limits at all.")] = False,
    model_limits: Annotated[list[str] | None, typer.Option(
        "--model-limits", help="Per-model limits MODEL=RPM,TPM,RPD,TPD (repeatable).",
    )] = None,
    time_scale: Annotated[float, typer.Option(
        min=0.001, help="Clock speed-up: a minute lasts 60/X seconds.",
    )] = 1.0,
    ttft_ms: Annotated[float, typer.Option(min=0, help="Latency to first token, ms.")] = 0.0,
    tps: Annotated[float, typer.Option(min=0, help="Tokens per second (0 = instant).")] = 0.0,
    chunk_tokens: Annotated[int, typer.Option(min=1, help="Tokens per streamed chunk.")] = 4,
    fault: Annotated[list[str] | None, typer.Option(
        "--fault", help="Scripted fault KIND[:key=value,...] (repeatable), e.g. 429:times=2.",
    )] = None,
    log_file: Annotated[Path | None, typer.Option(
        help="Append every request as a JSON line to this file.",
    )] = None,
    lenient: Annotated[bool, typer.Option(
        help="Accept unknown request properties (Groq refuses them).",
    )] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """Run a local Groq emulator (OpenAI-compatible API under /openai/v1)."""
    try:
        faults: list[Fault] = [parse_fault_spec(spec) for spec in fault or []]
        per_model = dict(parse_model_limits(spec) for spec in model_limits or [])
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    limits = RateLimits.unlimited() if unlimited else RateLimits(rpm, tpm, rpd, tpd)
    config = FakeGroqConfig(
        api_key=api_key, limits=limits, model_limits=per_model, time_scale=time_scale,
        ttft_ms=ttft_ms, tps=tps, chunk_tokens=chunk_tokens, faults=faults,
        log_file=log_file, strict_params=not lenient,
    )
    try:
        asyncio.run(_serve(Emulator(config), host, port, log_level))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        typer.echo(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from None
    with contextlib.suppress(Exception):
        sys.stdout.flush()
