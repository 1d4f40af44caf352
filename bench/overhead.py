"""Part 1: added latency and throughput of Sip, LiteLLM and the guide over the raw SDK.

    python -m bench.run --only overhead

Each contender serves `users` closed-loop customers at once (1, 10, 100, 500), every
customer sending its turns back to back, streaming and not, against one emulator process
with a fixed latency to first token and a fixed token speed, no limits. Per cell:

- time to first answer text (TTFT) and total latency, p50 and p99 over all turns;
- throughput, turns per second of wall time;
- CPU milliseconds per turn in the benchmark process (the contender's own cost) and in the
  emulator process.

Added latency is a contender's percentile minus the raw SDK's same percentile in the same
run (turns are not paired, so it is a difference of percentiles); throughput is a fraction
of the raw SDK's. A cell stops starting new turns after `cap_s` seconds: the guide's design
blocks the event loop, so its customers queue one behind the other, and the turns it never
started are counted as *censored* (longer than the cap) rather than dropped.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import yaml

from bench.common import ROOT, EmulatorProcess, EmulatorSettings, emulator, percentile, process_cpu
from bench.contenders import Contender, GuideDesign, LiteLLMRouter, RawSDK, SipPath

#: The emulator of part 1: Groq-like latency, compressed so the run takes minutes.
SETTINGS = EmulatorSettings(ttft_ms=100.0, tps=1000.0)
#: Every question asks for an answer of this many characters (100 tokens at 4 chars).
ANSWER_CHARS = 400
LEVELS = (1, 10, 100, 500)
#: Rounds (one message per customer each) per concurrency level: enough turns for a p99
#: (≥ 100 per cell) within minutes.
ROUNDS = {1: 20, 10: 10, 100: 2, 500: 1}
#: Wall-time budget of a contender that blocks the event loop, per level and mode.
CAP_S = 6.0


@dataclass(slots=True)
class Cell:
    """One contender at one concurrency, streaming or not."""

    contender: str
    users: int
    stream: bool
    tag: str = "cell"
    turns: int = 0
    errors: int = 0
    censored: int = 0
    wall_s: float = 0.0
    ttft: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    emulator_cpu_s: float = 0.0
    error_kinds: dict[str, int] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        """Answered turns per second of wall time."""
        return self.turns / self.wall_s if self.wall_s else 0.0

    def pct(self, series: str, q: float) -> float:
        """A percentile of `ttft` or `total` with censored turns counted as infinite."""
        values = [*getattr(self, series), *[math.inf] * (self.censored + self.errors)]
        return percentile(values, q)

    def summary(self) -> dict[str, Any]:
        """The figures of this cell (seconds), without the raw samples."""
        out = {k: v for k, v in asdict(self).items() if k not in ("ttft", "total", "tag")}
        out["throughput"] = self.throughput
        for series in ("ttft", "total"):
            for q in (50, 99):
                out[f"{series}_p{q}"] = self.pct(series, q)
        out["cpu_ms_per_turn"] = 1000 * self.cpu_s / self.turns if self.turns else math.nan
        out["emulator_cpu_ms_per_turn"] = (1000 * self.emulator_cpu_s / self.turns
                                           if self.turns else math.nan)
        return out


def questions(limit: int = 200) -> list[str]:
    """Customer questions from the eval set, each asking for a fixed-length answer.

    Questions that ask for a person (or sound frustrated) are left out: Sip answers those
    with a ticket instead of a model call, which would flatter it here.
    """
    from sipai.support.escalation import EscalationPolicy

    policy = EscalationPolicy()
    texts: list[str] = []
    for path in sorted((ROOT / "eval").glob("kb_questions*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            if not isinstance(item, dict) or not item.get("q"):
                continue
            text = str(item["q"])
            if policy.on_message(text, 0).escalate or policy.is_frustrated(text):
                continue
            texts.append(f"{text} [[len={ANSWER_CHARS}]]")
    return texts[:limit] or [f"wireguard conecta pero no navega [[len={ANSWER_CHARS}]]"]


async def run_round(contender: Contender, cell: Cell, round_no: int, *,
                    texts: Sequence[str], budget_s: float,
                    emulator_pid: int | None = None) -> None:
    """Every customer of `cell` sends one message at once; the figures go into `cell`.

    Customers that would start after `budget_s` seconds are censored, not run.
    """
    deadline = time.perf_counter() + budget_s

    async def customer(index: int) -> None:
        if time.perf_counter() > deadline:
            cell.censored += 1
            return
        user = f"{cell.tag}-u{index}"
        text = texts[(index * 7 + round_no) % len(texts)]
        try:
            ttft, total = await contender.turn(user, text, cell.stream)
        except Exception as exc:  # counted, and reported in the results
            cell.errors += 1
            kind = type(exc).__name__
            cell.error_kinds[kind] = cell.error_kinds.get(kind, 0) + 1
            return
        cell.turns += 1
        cell.ttft.append(ttft)
        cell.total.append(total)

    emu0 = process_cpu(emulator_pid) if emulator_pid else 0.0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(customer(i) for i in range(cell.users)))
    cell.wall_s += time.perf_counter() - wall0
    cell.cpu_s += time.process_time() - cpu0
    if emulator_pid:
        cell.emulator_cpu_s += process_cpu(emulator_pid) - emu0


async def run_cell(contender: Contender, users: int, rounds: int, stream: bool, *,
                   texts: Sequence[str], cap_s: float = math.inf, tag: str = "cell",
                   emulator_pid: int | None = None) -> Cell:
    """`rounds` rounds of `users` customers through one contender (no interleaving)."""
    cell = Cell(contender.name, users, stream, tag=tag)
    for round_no in range(rounds):
        await run_round(contender, cell, round_no, texts=texts,
                        budget_s=max(0.0, cap_s - cell.wall_s), emulator_pid=emulator_pid)
    return cell


ContenderFactory = Callable[[EmulatorProcess], Contender]


def default_contenders() -> list[ContenderFactory]:
    """Raw SDK (the floor) first, then Sip, LiteLLM and the guide's design."""
    return [lambda e: RawSDK(e.base_url), lambda e: SipPath(e.base_url),
            lambda e: LiteLLMRouter(e.base_url), lambda e: GuideDesign(e.root_url)]


async def _measure(emu: EmulatorProcess, factories: Sequence[ContenderFactory],
                   levels: Sequence[int], rounds: dict[int, int], cap_s: float,
                   progress: Callable[[str], None]) -> list[Cell]:
    contenders = [factory(emu) for factory in factories]
    texts = questions()
    for contender in contenders:
        await contender.start()
        # Warm-up: imports, connection pools, first-call caches; not measured.
        await run_cell(contender, 4, 2, False, texts=texts, tag="warm")
        await run_cell(contender, 2, 1, True, texts=texts, tag="warm-s")
    cells: list[Cell] = []
    try:
        for users in levels:
            for stream in (False, True):
                level = [Cell(c.name, users, stream,
                              tag=f"{c.name[:3]}-{users}-{'s' if stream else 'n'}")
                         for c in contenders]
                # Rounds alternate between contenders, so that load from elsewhere on the
                # machine falls on all of them alike.
                for round_no in range(rounds.get(users, 1)):
                    for contender, cell in zip(contenders, level, strict=True):
                        cap = cap_s if getattr(contender, "blocks_loop", False) else math.inf
                        await run_round(contender, cell, round_no, texts=texts,
                                        budget_s=max(0.0, cap - cell.wall_s),
                                        emulator_pid=emu.pid)
                for cell in level:
                    progress(f"  {cell.contender:16} users={users:<4} "
                             f"{'stream' if stream else 'plain ':6} "
                             f"turns={cell.turns:<5} wall={cell.wall_s:6.2f}s "
                             f"p50={cell.pct('total', 50) * 1000:8.1f}ms "
                             f"cpu/turn={1000 * cell.cpu_s / max(1, cell.turns):5.1f}ms "
                             f"errors={cell.errors} censored={cell.censored}")
                cells.extend(level)
    finally:
        for contender in contenders:
            await contender.close()
    return cells


def run(*, levels: Sequence[int] = LEVELS, rounds: dict[int, int] | None = None,
        cap_s: float = CAP_S, settings: EmulatorSettings = SETTINGS,
        factories: Sequence[ContenderFactory] | None = None,
        progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Run part 1 and return its results (cells and ratios to the raw SDK)."""
    with emulator(settings) as emu:
        cells = asyncio.run(_measure(emu, factories or default_contenders(), levels,
                                     rounds or ROUNDS, cap_s, progress))
    return {"emulator": asdict(settings), "emulator_command": settings.command(),
            "answer_chars": ANSWER_CHARS, "cap_s": cap_s,
            "rounds": {str(k): v for k, v in (rounds or ROUNDS).items()},
            "cells": [c.summary() for c in cells], "ratios": ratios(cells)}


def ratios(cells: Sequence[Cell]) -> list[dict[str, Any]]:
    """Each contender against the raw SDK of the same concurrency and mode."""
    floor = {(c.users, c.stream): c for c in cells if c.contender == RawSDK.name}
    out = []
    for cell in cells:
        base = floor.get((cell.users, cell.stream))
        if base is None or cell.contender == RawSDK.name:
            continue
        row: dict[str, Any] = {"contender": cell.contender, "users": cell.users,
                               "stream": cell.stream}
        for series in ("ttft", "total"):
            for q in (50, 99):
                row[f"added_{series}_p{q}_ms"] = 1000 * (cell.pct(series, q)
                                                          - base.pct(series, q))
        row["throughput_ratio"] = (cell.throughput / base.throughput
                                   if base.throughput else math.nan)
        row["cpu_ms_per_turn"] = 1000 * cell.cpu_s / cell.turns if cell.turns else math.nan
        row["raw_cpu_ms_per_turn"] = (1000 * base.cpu_s / base.turns if base.turns
                                      else math.nan)
        out.append(row)
    return out
