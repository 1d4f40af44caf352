"""Part 3: prompt tokens per turn over a 60-turn conversation, and cost per conversation.

    python -m bench.run --only tokens

One customer has a 60-turn conversation, the same messages and the same answers for each
design (the emulator answers every message with a fixed-length text):

- Sip's context budget: the real service (`sipai.support.service.ask`), with its knowledge
  passages, the summary of older turns (written in the background by the cheaper model,
  waited for between turns as a customer's pause would allow) and the recent window;
- the guide's design: its system prompt plus the last 10 messages plus the new message;
- full history: the system prompt plus every earlier message.

Prompt tokens are the emulator's count (`ceil(chars / 4)` per message plus 4), the same
ruler for all three. Cost uses the price table BRIEF gives (gpt-oss-120b $0.15/$0.60 per
million input/output tokens, gpt-oss-20b $0.075/$0.30 for Sip's summaries).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from bench.common import API_KEY, GUIDE_SYSTEM, MODEL, ROOT, EmulatorSettings, emulator

TURNS = 60
#: A support answer of about 200 tokens (4 characters per token in the emulator).
ANSWER_CHARS = 800
GUIDE_WINDOW = 10
SETTINGS = EmulatorSettings(ttft_ms=0.0, tps=0.0)


def conversation(turns: int = TURNS) -> list[str]:
    """A customer's messages: the Spanish eval questions in order, as one long chat."""
    from sipai.support.escalation import EscalationPolicy

    policy = EscalationPolicy()
    texts = []
    for path in sorted((ROOT / "eval").glob("kb_questions*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            text = str(item.get("q", "")) if isinstance(item, dict) else ""
            if text and item.get("lang") == "es" and not policy.on_message(text, 0).escalate \
                    and not policy.is_frustrated(text):
                texts.append(text)
    return [f"{texts[n % len(texts)]} [[len={ANSWER_CHARS}]]" for n in range(turns)]


def prices() -> dict[str, tuple[float, float]]:
    """USD per million input/output tokens, from Sip's price table (BRIEF's figures)."""
    from sipai.llm.catalog import PriceTable

    table = PriceTable()
    return {m: table.price(m) for m in (MODEL, "openai/gpt-oss-20b")}


def cost(model: str, prompt: int, completion: int) -> float:
    """Dollars for one call."""
    input_price, output_price = prices()[model]
    return (prompt * input_price + completion * output_price) / 1_000_000


async def _sip(base_url: str, messages: Sequence[str], data_dir: Path) -> dict[str, Any]:
    from sipai.bootstrap import build_sip
    from sipai.config import load_settings
    from sipai.support import service

    settings = load_settings(_env_file=None, groq_api_key=API_KEY, groq_base_url=base_url,
                             sip_data_dir=data_dir, groq_rpm=10**9, groq_tpm=10**9,
                             groq_rpd=10**9, groq_tpd=10**9, sip_user_rpm=10**9)
    sip = await build_sip(settings)
    per_turn: list[int] = []
    dollars = 0.0
    completion_total = 0
    routes: dict[str, int] = {}
    try:
        for text in messages:
            reply = await service.ask(sip.deps, "tokens-customer", text)
            routes[reply.route] = routes.get(reply.route, 0) + 1
            per_turn.append(reply.usage.prompt_tokens)
            completion_total += reply.usage.completion_tokens
            dollars += reply.cost_usd
            # A customer takes a while to read and type: background summaries finish.
            await sip.deps.background.drain()
        async with sip.deps.uow() as uow:
            summaries = [r for r in await uow.usage.list(limit=10_000)
                         if r.purpose == "summary"]
    finally:
        await sip.aclose()
    return {"prompt_tokens": per_turn, "completion_tokens": completion_total,
            "answer_cost_usd": dollars, "routes": routes,
            "summary_calls": len(summaries),
            "summary_prompt_tokens": sum(r.prompt_tokens for r in summaries),
            "summary_completion_tokens": sum(r.completion_tokens for r in summaries),
            "summary_cost_usd": sum(r.cost_usd for r in summaries)}


async def _history_design(base_url: str, messages: Sequence[str], window: int | None
                          ) -> dict[str, Any]:
    import openai

    client = openai.AsyncOpenAI(api_key=API_KEY, base_url=base_url, max_retries=0)
    history: list[dict[str, str]] = []
    per_turn: list[int] = []
    dollars = 0.0
    completion_total = 0
    try:
        for text in messages:
            context = history[-window:] if window else history
            request = [{"role": "system", "content": GUIDE_SYSTEM}, *context,
                       {"role": "user", "content": text}]
            response = await client.chat.completions.create(
                model=MODEL, messages=request,  # type: ignore[arg-type]
                temperature=0.7, max_tokens=1000)
            answer = response.choices[0].message.content or ""
            usage = response.usage
            assert usage is not None
            per_turn.append(usage.prompt_tokens)
            completion_total += usage.completion_tokens
            dollars += cost(MODEL, usage.prompt_tokens, usage.completion_tokens)
            history += [{"role": "user", "content": text},
                        {"role": "assistant", "content": answer}]
    finally:
        await client.close()
    return {"prompt_tokens": per_turn, "completion_tokens": completion_total,
            "answer_cost_usd": dollars}


def _summarise(name: str, raw: dict[str, Any]) -> dict[str, Any]:
    tokens = raw["prompt_tokens"]
    total_cost = raw["answer_cost_usd"] + raw.get("summary_cost_usd", 0.0)
    return {"design": name, **raw, "turn_60": tokens[-1] if tokens else 0,
            "mean_prompt_tokens": sum(tokens) / len(tokens) if tokens else 0,
            "total_prompt_tokens": sum(tokens) + raw.get("summary_prompt_tokens", 0),
            "cost_per_conversation_usd": total_cost}


async def _measure(base_url: str, turns: int) -> list[dict[str, Any]]:
    messages = conversation(turns)
    with tempfile.TemporaryDirectory(prefix="sip-bench-tokens-") as tmp:
        sip = await _sip(base_url, messages, Path(tmp))
    guide = await _history_design(base_url, messages, GUIDE_WINDOW)
    full = await _history_design(base_url, messages, None)
    return [_summarise("Sip (context budget)", sip),
            _summarise(f"guide (last {GUIDE_WINDOW} messages)", guide),
            _summarise("full history", full)]


def run(*, turns: int = TURNS, settings: EmulatorSettings = SETTINGS) -> dict[str, Any]:
    """Run part 3 and return tokens per turn and cost per conversation for each design."""
    with emulator(settings) as emu:
        designs = asyncio.run(_measure(emu.base_url, turns))
    sip, guide = designs[0], designs[1]
    return {"turns": turns, "answer_chars": ANSWER_CHARS, "prices": prices(),
            "emulator_command": settings.command(), "designs": designs,
            "sip_vs_guide_at_last_turn": (sip["turn_60"] / guide["turn_60"]
                                          if guide["turn_60"] else None)}
