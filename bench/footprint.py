"""Part 5: memory with 1,000 active conversations, and the cold start of `sip ask --offline`.

    python -m bench.run --only footprint
    python -m bench.footprint hold sip URL 1000     # one holder, prints JSON

Memory: each design runs in a fresh child process (so nothing the benchmark itself imported
counts), answers one message from each of 1,000 customers through the emulator, and
reports its resident set size (RSS) before and after. Sip keeps conversations in its
database (SQLite here), so what it holds in memory is its code, knowledge index,
connection pools and caches; the other designs keep each customer's history in a dict, as
the guide's bot would.

Cold start: `sip ask TEXT --offline` as a new process, with a fresh data directory (the
first run migrates the database and indexes the knowledge base) and then warm, N times.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import ROOT, EmulatorSettings, emulator, percentile

CONVERSATIONS = 1000
HOLDERS = ("raw SDK", "Sip", "LiteLLM Router", "guide's design")
_SLUG = {"raw SDK": "raw", "Sip": "sip", "LiteLLM Router": "litellm", "guide's design": "guide"}
COLD_RUNS = 5
QUESTION = "wireguard conecta pero no navega"


def _rss_mb() -> float:
    import psutil  # type: ignore[import-untyped]

    return float(psutil.Process().memory_info().rss) / 2**20


async def _hold(kind: str, base_url: str, root_url: str, count: int) -> dict[str, Any]:
    """Start a contender, answer one message from each of `count` customers, measure RSS."""
    from bench.contenders import Contender, GuideDesign, LiteLLMRouter, RawSDK, SipPath

    makers: dict[str, Callable[[], Contender]] = {
        "raw": lambda: RawSDK(base_url), "sip": lambda: SipPath(base_url),
        "litellm": lambda: LiteLLMRouter(base_url), "guide": lambda: GuideDesign(root_url)}
    contender = makers[kind]()
    await contender.start()
    await contender.turn("warm", QUESTION, False)
    idle = _rss_mb()
    histories: dict[str, list[dict[str, str]]] = {}
    gate = asyncio.Semaphore(50)

    async def customer(n: int) -> None:
        async with gate:
            user = f"hold-{n}"
            text = f"{QUESTION} [[len=800]]"
            await contender.turn(user, text, False)
            if kind != "sip":  # the others keep the chat in memory, as the guide's bot does
                histories.setdefault(user, []).extend(
                    [{"role": "user", "content": text},
                     {"role": "assistant", "content": "x" * 800}])

    started = time.perf_counter()
    await asyncio.gather(*(customer(n) for n in range(count)))
    elapsed = time.perf_counter() - started
    after = _rss_mb()
    await contender.close()
    return {"idle_rss_mb": idle, "rss_mb": after, "conversations": count,
            "seconds": elapsed, "kept_in_memory": len(histories)}


def hold(kind: str, base_url: str, count: int = CONVERSATIONS) -> dict[str, Any]:
    """Measure one holder in a fresh child process; return its figures."""
    root_url = base_url.removesuffix("/openai/v1")
    done = subprocess.run(
        [sys.executable, "-m", "bench.footprint", "hold", kind, root_url, str(count)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:] or ["failed"]}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def cold_start(runs: int = COLD_RUNS) -> dict[str, Any]:
    """Time `sip ask --offline` in new processes: the first in a fresh data directory."""
    sip = Path(sys.executable).with_name("sip")
    command = [str(sip), "ask", QUESTION, "--offline"]
    times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="sip-bench-cold-") as data_dir:
        env = {**os.environ, "SIP_DATA_DIR": data_dir, "GROQ_API_KEY": ""}
        for _ in range(runs + 1):
            started = time.perf_counter()
            subprocess.run(command, env=env, cwd=data_dir, capture_output=True, check=True,
                           timeout=120)
            times.append(time.perf_counter() - started)
        imports = _import_times(env, data_dir)
    warm = times[1:]
    return {"command": " ".join(["sip", "ask", f"'{QUESTION}'", "--offline"]),
            "first_s": times[0], "warm_runs": len(warm), "warm_p50_s": percentile(warm, 50),
            "warm_min_s": min(warm), "warm_max_s": max(warm), "top_imports": imports}


def _import_times(env: dict[str, str], cwd: str) -> list[dict[str, Any]]:
    """The slowest top-level imports of `sip ask --offline` (`python -X importtime`)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c",
         "import sys; from sipai.cli.main import main; sys.argv=['sip','ask',"
         f"{QUESTION!r},'--offline']; main()"],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    rows: list[dict[str, Any]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        _, cumulative, name = line.split("|")
        # Nesting shows as two more spaces before the name; keep the top level only.
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        if depth == 0 and cumulative.strip().isdigit():
            rows.append({"module": name.strip(), "ms": int(cumulative) / 1000})
    return sorted(rows, key=lambda r: -r["ms"])[:8]


def run(*, conversations: int = CONVERSATIONS, cold_runs: int = COLD_RUNS,
        holders: tuple[str, ...] = HOLDERS) -> dict[str, Any]:
    """Run part 5: memory per design with `conversations` customers; Sip's cold start."""
    settings = EmulatorSettings(ttft_ms=0.0, tps=0.0)
    memory = []
    with emulator(settings) as emu:
        for name in holders:
            memory.append({"design": name, **hold(_SLUG[name], emu.base_url, conversations)})
    return {"conversations": conversations, "memory": memory, "cold_start": cold_start(cold_runs),
            "emulator_command": settings.command()}


def _main(argv: list[str]) -> None:
    if len(argv) == 4 and argv[0] == "hold":
        kind, root_url, count = argv[1], argv[2], int(argv[3])
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        result = asyncio.run(_hold(kind, f"{root_url}/openai/v1", root_url, count))
        print(json.dumps(result))
        return
    print(json.dumps(run(), indent=2))


if __name__ == "__main__":
    _main(sys.argv[1:])
