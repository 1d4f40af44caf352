"""The benchmark suite runs end to end at tiny sizes, and its arithmetic is right.

No timed assertions: benchmarks live in bench/, and these tests only check that every part
runs against a real emulator process, produces the figures the report needs, and that the
report, charts and JSON are written. The helpers' arithmetic (percentiles, fairness, budget
use, censoring, distractor generation, the emulator's socket) is checked exactly.
"""

from __future__ import annotations

import importlib.util
import json
import math
import socket
from pathlib import Path
from typing import Any

import pytest

from bench.common import percentile
from bench.overhead import Cell, ratios
from bench.rate_limits import RATE_LIMITED, summary
from bench.run import _plain

# A whole run needs the `bench` extra (`pip install -e '.[dev,bench]'`, as `make bench`
# does): LiteLLM is a contender, matplotlib draws the charts. The arithmetic does not.
_MISSING = [m for m in ("litellm", "matplotlib", "psutil", "groq")
            if importlib.util.find_spec(m) is None]
needs_extra = pytest.mark.skipif(
    bool(_MISSING), reason=f"the bench extra is not installed ({', '.join(_MISSING)})")

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """One quick run of every part (about a minute), shared by the checks below."""
    from bench import run

    out = tmp_path_factory.mktemp("bench")
    results = run.run(run.PARTS, out, quick=True, progress=lambda line: None)
    return results, out


@needs_extra
def test_every_part_writes_the_report_charts_and_json(
        quick_run: tuple[dict[str, Any], Path]) -> None:
    results, out = quick_run
    markdown = (out / "benchmarks.md").read_text()
    for heading in ("## The goals", "## 1. Overhead and throughput", "## 2. Rate limits",
                    "## 3. Tokens", "## 4. Knowledge", "## 5. Footprint",
                    "## Where Sip loses", "Machine:"):
        assert heading in markdown
    for chart in ("overhead_latency", "overhead_throughput", "overhead_cpu", "limits",
                  "tokens", "knowledge", "footprint", "sip_stages"):
        png = out / "bench" / f"{chart}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"bench/{chart}.png" in markdown
    raw = json.loads((out / "bench" / "results.json").read_text())
    assert set(raw) >= {"meta", "overhead", "profile", "limits", "tokens", "knowledge",
                        "footprint", "goals"}
    assert raw["meta"]["machine"]["nproc"] >= 1
    assert len(results["goals"]) == 8


@needs_extra
def test_overhead_measures_every_contender_in_both_modes(
        quick_run: tuple[dict[str, Any], Path]) -> None:
    part = quick_run[0]["overhead"]
    seen = {(c["contender"], c["users"], c["stream"]) for c in part["cells"]}
    for contender in ("raw SDK", "Sip", "LiteLLM Router", "guide's design"):
        for users in (1, 3):
            for stream in (False, True):
                assert (contender, users, stream) in seen
    for cell in part["cells"]:
        assert cell["errors"] == 0, cell
        assert cell["turns"] + cell["censored"] == cell["users"] * (2 if cell["users"] == 1
                                                                    else 1)
        assert cell["ttft_p50"] <= cell["total_p50"]
    # Ratios exist for everyone but the floor, at every level and mode.
    assert len(part["ratios"]) == 3 * 2 * 2


@needs_extra
def test_limits_tokens_knowledge_footprint_and_profile_figures(
        quick_run: tuple[dict[str, Any], Path]) -> None:
    results = quick_run[0]
    limits = {d["design"]: d for d in results["limits"]["designs"]}
    assert set(limits) == {"Sip", "LiteLLM Router", "raw SDK (max_retries=2)"}
    assert all(d["turns"] > 0 for d in limits.values())
    assert limits["Sip"]["user_429"] == 0  # Sip queues instead of failing

    tokens = results["tokens"]
    assert [len(d["prompt_tokens"]) for d in tokens["designs"]] == [4, 4, 4]
    full, guide = tokens["designs"][2], tokens["designs"][1]
    assert full["prompt_tokens"] == sorted(full["prompt_tokens"])  # history only grows
    assert guide["prompt_tokens"][0] == full["prompt_tokens"][0]

    rows = {(r["kind"], r["scale"]): r for r in results["knowledge"]["rows"]}
    assert rows[("babble", 2)]["articles"] == 2 * rows[("babble", 1)]["articles"]
    assert all(0 <= r["recall@3"] <= 1 and 0 <= r["mrr"] <= 1 for r in rows.values())

    memory = {r["design"]: r for r in results["footprint"]["memory"]}
    assert all(r["rss_mb"] > 10 for r in memory.values()), memory
    assert memory["Sip"]["kept_in_memory"] == 0  # Sip keeps chats in its database
    assert results["footprint"]["cold_start"]["first_s"] > 0

    stages = {s["stage"] for s in results["profile"]["stages"]}
    assert {"store message", "retrieve", "context budget", "route + limit + call",
            "store answer"} <= stages


def test_percentile_is_nearest_rank_and_counts_censored_turns() -> None:
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert percentile([float(n) for n in range(1, 101)], 99) == 99.0
    assert math.isnan(percentile([], 50))
    cell = Cell("guide's design", 4, False, ttft=[1.0], total=[1.0], censored=3)
    assert cell.pct("total", 50) == math.inf  # three of four never served: p50 is censored
    assert cell.pct("total", 25) == 1.0


def test_ratios_are_differences_and_fractions_of_the_raw_sdk() -> None:
    raw = Cell("raw SDK", 10, True, turns=4, wall_s=2.0, cpu_s=0.4,
               ttft=[0.1] * 4, total=[0.2] * 4)
    sip = Cell("Sip", 10, True, turns=4, wall_s=4.0, cpu_s=0.8,
               ttft=[0.103] * 4, total=[0.25] * 4)
    [row] = ratios([raw, sip])
    assert row["added_ttft_p50_ms"] == pytest.approx(3.0)
    assert row["added_total_p99_ms"] == pytest.approx(50.0)
    assert row["throughput_ratio"] == pytest.approx(0.5)
    assert row["cpu_ms_per_turn"] == pytest.approx(200.0)


def test_429s_to_customers_are_counted_per_design() -> None:
    from bench import load_limits

    config = load_limits.Config(users=2, noisy=0)
    stats: dict[str, Any] = {"tokens_per_window": {}, "admitted_per_window": {},
                             "by_model": {}}
    records = [load_limits.TurnRecord("user000", "primary", False, 0.0),
               load_limits.TurnRecord("user001", RATE_LIMITED, False, 0.0),
               load_limits.TurnRecord("user001", "error", True, 0.0, "APIConnectionError")]
    load = load_limits.Load(records, cancelled=0, started=0.0, stopped=1.0)
    result = load_limits.analyse(config, load, 0.0, stats, 1.0)
    sdk = summary("raw SDK (max_retries=2)", result)
    assert (sdk["user_429"], sdk["other_failures"]) == (1, 1)
    assert sdk["user_429_rate"] == pytest.approx(1 / 3)
    # For Sip any answer that is not the model's counts against it, as the harness says.
    assert summary("Sip", result)["user_429"] == 2


def test_json_has_no_nan_or_infinity() -> None:
    plain = _plain({"a": math.inf, "b": [math.nan, 1.23456789], "c": (1, -math.inf)})
    assert plain == {"a": "inf", "b": [None, 1.234568], "c": [1, "-inf"]}
    json.dumps(plain, allow_nan=False)


def test_perturbed_copies_have_new_ids_and_keep_their_length() -> None:
    from bench.knowledge import perturbed_articles
    from sipai.knowledge import KnowledgeBase

    articles = KnowledgeBase.load(None).articles()[:6]
    grown = perturbed_articles(articles, 3)
    assert len(grown) == 18
    ids = [a.id for a in grown]
    assert len(set(ids)) == len(ids)
    originals = {a.id: a for a in articles}
    for copy in grown[6:]:
        source = originals[copy.id.split("~")[0]]
        assert copy.topic != source.topic
        assert len(copy.intro.split()) == len(source.intro.split())


def test_the_emulator_socket_turns_nagle_off() -> None:
    from sipai.dev.server import bind_socket

    sock = bind_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP  # what asyncio needs to set TCP_NODELAY
    finally:
        sock.close()
