"""Part 2: 200 customers against Groq's free-tier limits — Sip, LiteLLM's Router, the SDK.

    python -m bench.run --only limits

The load is the resilience issue's load test (`bench/load_limits.py`), imported, not
copied: its emulator settings (30 RPM / 8K TPM on a compressed clock, no daily limits), its
closed-loop customers (200, of whom 10 "noisy" keep 5 messages in flight; half the turns
streamed) and its figures (`load_limits.analyse`). Sip is its in-process run, with Sip's
limiter on the emulator's clock. The same customers then talk, against an emulator started
with the same settings, to:

- LiteLLM's Router with rpm/tpm-aware routing (`usage-based-routing-v2`, the deployment's
  `rpm=30, tpm=8000`, `num_retries=2`); its minute counters and its default 5 s cooldown
  are put on the same compressed clock, or its limits would mean nothing here;
- the raw `groq` SDK with its own retries (`max_retries=2`, honouring `retry-after`).

A customer sees a 429 when the design gives up with a rate-limit error after its own
retries; for Sip, any answer that is not the model's counts against it (the harness's rule).
Client-side fixed back-offs (LiteLLM's, the SDK's exponential ones) are real seconds and
are not compressed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import asdict, replace
from typing import Any

from bench import load_limits as harness
from bench.common import API_KEY, MODEL, EmulatorProcess, EmulatorSettings, emulator
from bench.contenders import PARAMS, guide_messages, litellm_deployment, quiet_litellm

#: Compressed minutes of load per design (the harness's own acceptance run uses 240).
MINUTES = 160.0
DESIGNS = ("Sip", "LiteLLM Router", "raw SDK (max_retries=2)")
#: LiteLLM's default cooldown of a failing deployment, seconds (compressed like the clock).
LITELLM_COOLDOWN_S = 5.0
#: The route a customer's turn gets when it ends in a rate-limit error.
RATE_LIMITED = "429"

Send = Callable[[str, str, bool], Awaitable[str]]


def emulator_settings(config: harness.Config) -> EmulatorSettings:
    """The emulator the harness starts for Sip (`load_limits.run`), for the other designs."""
    return EmulatorSettings(ttft_ms=20.0, tps=0.0, rpm=config.rpm, tpm=config.tpm,
                            time_scale=config.time_scale)


def _rate_limit_errors() -> tuple[type[BaseException], ...]:
    import groq
    import openai

    litellm = quiet_litellm()
    return (groq.RateLimitError, openai.RateLimitError, litellm.RateLimitError)


def _compress_litellm_clock(time_scale: float) -> Callable[[], None]:
    """Make LiteLLM's per-minute usage counters tick on the compressed clock."""
    import litellm.utils

    original = litellm.utils.get_utc_datetime
    origin = dt.datetime.now(dt.UTC)
    started = time.monotonic()

    def compressed() -> dt.datetime:
        return origin + dt.timedelta(seconds=(time.monotonic() - started) * time_scale)

    patched = []
    for name, module in list(sys.modules.items()):
        if name.startswith("litellm") and getattr(module, "get_utc_datetime", None) is original:
            module.get_utc_datetime = compressed  # type: ignore[attr-defined]
            patched.append(module)

    def restore() -> None:
        for module in patched:
            module.get_utc_datetime = original  # type: ignore[attr-defined]

    return restore


async def litellm_send(base_url: str, config: harness.Config
                       ) -> tuple[Send, Callable[[], Awaitable[None]]]:
    """LiteLLM's Router, rpm/tpm-aware, two retries, on the compressed clock."""
    quiet_litellm()
    from litellm.router import Router

    router = Router(model_list=[litellm_deployment(base_url, rpm=config.rpm, tpm=config.tpm)],
                    routing_strategy="usage-based-routing-v2", num_retries=2,
                    # Its default 5 s cooldown after failures, in compressed seconds.
                    cooldown_time=LITELLM_COOLDOWN_S / config.time_scale)
    restore = _compress_litellm_clock(config.time_scale)
    limited = _rate_limit_errors()

    async def send(user: str, text: str, streamed: bool) -> str:
        try:
            response = await router.acompletion(model="gpt-oss-120b",
                                                messages=guide_messages(text),
                                                stream=streamed, **PARAMS)
            if streamed:
                async for _chunk in response:
                    pass
        except limited:
            return RATE_LIMITED
        return "primary"

    async def close() -> None:
        restore()

    return send, close


async def sdk_send(root_url: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
    """The raw `groq` SDK with its default two retries."""
    from groq import AsyncGroq

    client = AsyncGroq(api_key=API_KEY, base_url=root_url, max_retries=2)
    limited = _rate_limit_errors()

    async def send(user: str, text: str, streamed: bool) -> str:
        try:
            response = await client.chat.completions.create(
                model=MODEL, messages=guide_messages(text),  # type: ignore[arg-type]
                stream=streamed, **PARAMS)
            if streamed:
                async for _chunk in response:  # type: ignore[union-attr]
                    pass
        except limited:
            return RATE_LIMITED
        return "primary"

    return send, client.close


async def _other(design: str, config: harness.Config, emu: EmulatorProcess
                 ) -> harness.Result:
    if design == "LiteLLM Router":
        send, close = await litellm_send(emu.base_url, config)
    else:
        send, close = await sdk_send(emu.root_url)
    emu.reset()
    origin = time.monotonic()  # the emulator's minute 0, as the harness measures it
    try:
        load = await harness.customers(config, send)
    finally:
        await close()
    return harness.analyse(config, load, origin, emu.stats(), time.monotonic() - origin)


def summary(design: str, result: harness.Result) -> dict[str, Any]:
    """The harness's figures plus what the report compares: 429s customers saw."""
    figures = asdict(result)
    figures.pop("machine", None)
    not_model = dict(result.not_model)
    user_429 = sum(not_model.values()) if design == "Sip" else not_model.get(RATE_LIMITED, 0)
    other = sum(n for route, n in not_model.items() if route not in ("primary", RATE_LIMITED))
    return {"design": design, **figures, "user_429": user_429,
            "other_failures": 0 if design == "Sip" else other,
            "user_429_rate": user_429 / result.turns if result.turns else 0.0}


def run(*, minutes: float = MINUTES, users: int | None = None,
        designs: tuple[str, ...] = DESIGNS) -> dict[str, Any]:
    """Run the load test for each design; return the figures side by side."""
    config = harness.Config(minutes=minutes)
    if users is not None:
        config = replace(config, users=users, noisy=min(config.noisy, max(1, users // 4)))
    results = []
    with warnings.catch_warnings():
        # LiteLLM leaves a coroutine behind when a customer's turn is cancelled at the stop.
        warnings.filterwarnings("ignore", message="coroutine .* was never awaited")
        if "Sip" in designs:
            results.append(summary("Sip", asyncio.run(harness.run(config))))
        others = [d for d in designs if d != "Sip"]
        if others:
            with emulator(emulator_settings(config)) as emu:
                for design in others:
                    results.append(summary(design, asyncio.run(_other(design, config, emu))))
    settings = emulator_settings(config)
    return {"config": asdict(config), "emulator_command": settings.command(),
            "harness_command": f"python -m bench.load_limits --minutes {minutes:g}",
            "designs": results}
