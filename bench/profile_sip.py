"""Where a Sip turn spends its time: per-stage timings and the hottest functions.

    python -m bench.run --only profile

One customer at a time (no contention), so each stage's time is its own: Sip's steps are
wrapped with timers for the duration of the run — store the message, per-user limit,
retrieve, build the context, route + limit + call, store the answer — and the same turns
are then run under cProfile, whose self-time is grouped by package. The raw SDK's call on
the same emulator gives the floor the "route + limit + call" stage is compared with.
"""

from __future__ import annotations

import asyncio
import cProfile
import functools
import pstats
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench.common import EmulatorSettings, emulator, percentile
from bench.contenders import RawSDK, SipPath
from bench.overhead import SETTINGS, questions

STAGES = ("store message", "per-user limit", "retrieve", "context budget",
          "route + limit + call", "store answer")
_PACKAGES = ("sipai/knowledge", "sipai/llm", "sipai/storage", "sipai/support",
             "sipai/resilience", "sipai/observability", "sipai/text", "sqlalchemy",
             "aiosqlite", "openai", "httpx", "httpcore", "h11", "anyio", "asyncio", "pydantic",
             "json", "logging", "prometheus_client", "uuid", "re", "typing")


class _Timers:
    """Wall and main-thread CPU seconds per stage, one sample per call."""

    def __init__(self) -> None:
        self.wall: dict[str, list[float]] = {s: [] for s in STAGES}
        self.cpu: dict[str, list[float]] = {s: [] for s in STAGES}

    def add(self, stage: str, wall: float, cpu: float) -> None:
        self.wall[stage].append(wall)
        self.cpu[stage].append(cpu)

    def async_wrap(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            wall0, cpu0 = time.perf_counter(), time.thread_time()
            try:
                return await fn(*args, **kwargs)
            finally:
                self.add(stage, time.perf_counter() - wall0, time.thread_time() - cpu0)
        return timed

    def sync_wrap(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            wall0, cpu0 = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(stage, time.perf_counter() - wall0, time.thread_time() - cpu0)
        return timed


class _Proxy:
    """Forwards everything to `target` except the attributes given."""

    def __init__(self, target: Any, **overrides: Any) -> None:
        self._target = target
        self.__dict__.update(overrides)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


async def _stages(sip: SipPath, texts: Sequence[str], turns: int) -> _Timers:
    from sipai.support import service

    timers = _Timers()
    deps = sip.sip.deps
    saved = (service._open_turn, service._plan, service._finish, deps.kb, deps.router,
             deps.user_limiter)
    service._open_turn = timers.async_wrap("store message", service._open_turn)
    service._plan = timers.sync_wrap("context budget", service._plan)
    service._finish = timers.async_wrap("store answer", service._finish)
    deps.kb = _Proxy(deps.kb, search=timers.sync_wrap("retrieve", deps.kb.search))
    deps.router = _Proxy(deps.router, complete=timers.async_wrap(
        "route + limit + call", deps.router.complete))
    if deps.user_limiter is not None:
        deps.user_limiter = _Proxy(deps.user_limiter, check=timers.async_wrap(
            "per-user limit", deps.user_limiter.check))
    try:
        for n in range(turns):
            # Three turns per customer: a conversation with some history, no summaries.
            await sip.turn(f"profile-u{n // 3}", texts[n % len(texts)], False)
    finally:
        (service._open_turn, service._plan, service._finish, deps.kb, deps.router,
         deps.user_limiter) = saved
    return timers


async def _raw_calls(raw: RawSDK, texts: Sequence[str], turns: int) -> list[float]:
    out = []
    for n in range(turns):
        _, total = await raw.turn("raw", texts[n % len(texts)], False)
        out.append(total)
    return out


async def _hot_spots(sip: SipPath, texts: Sequence[str], turns: int
                     ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], float]:
    profiler = cProfile.Profile()
    cpu0 = time.process_time()
    profiler.enable()
    for n in range(turns):
        await sip.turn(f"hot-u{n // 3}", texts[n % len(texts)], False)
    profiler.disable()
    cpu = time.process_time() - cpu0
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    by_package: dict[str, float] = {}
    functions = []
    total = 0.0
    for (path, line, name), (calls, _nc, tottime, _ct, _callers) in raw.items():
        if "poll" in name and ("epoll" in name or name == "poll"):
            continue  # the event loop waiting, not work
        total += tottime
        by_package[_package(path)] = by_package.get(_package(path), 0.0) + tottime
        where = name if path == "~" else f"{_short(path)}:{line}({name})"
        functions.append({"function": where, "self_s": tottime, "calls": calls})
    functions.sort(key=lambda f: -f["self_s"])
    packages = [{"package": p, "share": s / total if total else 0.0,
                 "ms_per_turn": 1000 * s / turns}
                for p, s in sorted(by_package.items(), key=lambda kv: -kv[1])]
    top = [{"function": f["function"], "ms_per_turn": 1000 * f["self_s"] / turns,
            "calls_per_turn": f["calls"] / turns,
            "share": f["self_s"] / total if total else 0.0} for f in functions[:15]]
    return packages, top, 1000 * cpu / turns


def _package(path: str) -> str:
    """The package a profiled function belongs to, for grouping self time."""
    if path == "~":
        return "C built-ins (regex, socket, str, …) called from any of them"
    short = _short(path)
    for package in _PACKAGES:
        if short.startswith((f"{package}/", f"{package}.py")):
            return package
    if "site-packages/" in path:
        return short.split("/", 1)[0]
    return "stdlib (other)" if "/lib/python3" in path else "other"


def _short(path: str) -> str:
    """`sipai/llm/tokens.py` rather than the whole path."""
    for marker in ("site-packages/", "/src/"):
        if marker in path:
            return path.split(marker, 1)[1]
    if "/lib/python3" in path:
        return path.split("/lib/python3", 1)[1].split("/", 1)[-1]
    return path


async def _profile(base_url: str, turns: int) -> dict[str, Any]:
    texts = questions()
    sip = SipPath(base_url)
    raw = RawSDK(base_url)
    await sip.start()
    await raw.start()
    try:
        for n in range(6):  # warm-up
            await sip.turn(f"warm-u{n}", texts[n], False)
            await raw.turn("warm", texts[n], False)
        timers = await _stages(sip, texts, turns)
        raw_totals = await _raw_calls(raw, texts, turns)
        packages, top, cpu_ms = await _hot_spots(sip, texts, turns)
    finally:
        await sip.close()
        await raw.close()
    stages = []
    for stage in STAGES:
        wall, cpu = timers.wall[stage], timers.cpu[stage]
        if not wall:
            continue
        stages.append({"stage": stage, "calls": len(wall),
                       "wall_p50_ms": 1000 * percentile(wall, 50),
                       "wall_p99_ms": 1000 * percentile(wall, 99),
                       "cpu_p50_ms": 1000 * percentile(cpu, 50)})
    return {"turns": turns, "stages": stages,
            "raw_call_p50_ms": 1000 * percentile(raw_totals, 50),
            "raw_call_p99_ms": 1000 * percentile(raw_totals, 99),
            "profiled_cpu_ms_per_turn": cpu_ms, "packages": packages, "top_functions": top}


def run(*, turns: int = 30, settings: EmulatorSettings = SETTINGS) -> dict[str, Any]:
    """Profile Sip's turn stage by stage and by function; return the figures."""
    with emulator(settings) as emu:
        result = asyncio.run(_profile(emu.base_url, turns))
    result["emulator_command"] = settings.command()
    return result
