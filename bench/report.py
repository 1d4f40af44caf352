"""`docs/benchmarks.md` from the results: the goals, one section per part, where Sip loses.

Every sentence with a number is generated from the run's results, so the write-up stays
true when `make bench` is run again on another machine; the prose around the numbers says
how they were measured.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

GOAL_USERS = 100
THROUGHPUT_USERS = 500


def _ms(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if math.isinf(value):
        return "≥ cap" if value > 0 else "–"
    return f"{value:,.{digits}f}"


def _pct(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{100 * value:.1f} %"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _ratio(part: dict[str, Any], contender: str, users: int, stream: bool
           ) -> dict[str, Any] | None:
    return next((r for r in part["ratios"] if r["contender"] == contender
                 and r["users"] == users and r["stream"] == stream), None)


# -- goals -----------------------------------------------------------------------------------


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each goal of the issue with the measured figure and whether it is met."""
    out: list[dict[str, Any]] = []
    part = results.get("overhead")
    if part:
        users = GOAL_USERS if any(r["users"] == GOAL_USERS for r in part["ratios"]) \
            else max(r["users"] for r in part["ratios"])
        plain, stream = _ratio(part, "Sip", users, False), _ratio(part, "Sip", users, True)
        for q, limit in ((50, 2.0), (99, 10.0)):
            figures = [plain[f"added_total_p{q}_ms"] if plain else math.nan,
                       stream[f"added_ttft_p{q}_ms"] if stream else math.nan]
            out.append({
                "goal": f"Sip's added p{q} latency ≤ {limit:g} ms over the raw SDK at "
                        f"{users} users",
                "measured": f"{_ms(figures[0])} ms (total, not streamed); "
                            f"{_ms(figures[1])} ms (time to first token, streamed)",
                "met": all(math.isfinite(f) and f <= limit for f in figures)})
        top = THROUGHPUT_USERS if any(r["users"] == THROUGHPUT_USERS for r in part["ratios"]) \
            else max(r["users"] for r in part["ratios"])
        tp = [(_ratio(part, "Sip", top, s) or {}).get("throughput_ratio", math.nan)
              for s in (False, True)]
        out.append({"goal": f"Sip's throughput ≥ 0.9× the raw SDK's at {top} users",
                     "measured": f"{tp[0]:.2f}× (not streamed); {tp[1]:.2f}× (streamed)",
                     "met": all(math.isfinite(t) and t >= 0.9 for t in tp)})
        wins = total = 0
        for row in part["ratios"]:
            if row["contender"] != "Sip":
                continue
            lite = _ratio(part, "LiteLLM Router", row["users"], row["stream"])
            if lite is None:
                continue
            series = "ttft" if row["stream"] else "total"
            total += 1
            wins += row[f"added_{series}_p50_ms"] < lite[f"added_{series}_p50_ms"]
        cpu_sip = [r["cpu_ms_per_turn"] for r in part["ratios"] if r["contender"] == "Sip"]
        cpu_lite = [r["cpu_ms_per_turn"] for r in part["ratios"]
                    if r["contender"] == "LiteLLM Router"]
        out.append({"goal": "Sip's added overhead below LiteLLM's",
                    "measured": f"lower added p50 in {wins} of {total} cells (users × "
                                f"streaming); CPU per turn {_ms(_mean(cpu_sip))} ms (Sip) vs "
                                f"{_ms(_mean(cpu_lite))} ms (LiteLLM), mean over cells",
                    "met": total > 0 and wins == total})
    limits = results.get("limits")
    if limits:
        by = {d["design"]: d for d in limits["designs"]}
        sip = by.get("Sip")
        sdk = next((d for n, d in by.items() if n.startswith("raw SDK")), None)
        if sip is not None:
            out.append({
                "goal": "zero user-visible 429s where the SDK's retries show some",
                "measured": f"Sip {sip['user_429']} of {sip['turns']} turns; SDK "
                            f"{sdk['user_429'] if sdk else '–'} of "
                            f"{sdk['turns'] if sdk else '–'}",
                "met": sip["user_429"] == 0 and (sdk is None or sdk["user_429"] > 0)})
            out.append({"goal": "≥ 90 % budget use (Sip, while demand exceeds the budget)",
                        "measured": f"{_pct(sip['budget_use'])} mean, "
                                    f"{_pct(sip['budget_use_min'])} worst minute",
                        "met": sip["budget_use"] >= 0.9})
            out.append({"goal": "fairness: Jain's index across customers ≥ 0.9 (issue 5's "
                                "load test)",
                        "measured": f"{sip['jain']:.3f}", "met": sip["jain"] >= 0.9})
    tokens = results.get("tokens")
    if tokens and tokens.get("sip_vs_guide_at_last_turn") is not None:
        ratio = tokens["sip_vs_guide_at_last_turn"]
        sip_t, guide_t = tokens["designs"][0], tokens["designs"][1]
        out.append({"goal": f"prompt tokens per turn at turn {tokens['turns']} ≤ 0.5× "
                            "the guide's design",
                    "measured": f"{ratio:.2f}× ({sip_t['turn_60']:,} vs "
                                f"{guide_t['turn_60']:,} tokens)",
                    "met": ratio <= 0.5})
    return out


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


# -- sections --------------------------------------------------------------------------------


def _header(results: dict[str, Any]) -> list[str]:
    meta = results["meta"]
    m = meta["machine"]
    load0, load1 = meta["load_average_before"], meta["load_average_after"]
    durations = ", ".join(f"{k} {v:.0f} s" for k, v in meta["durations_s"].items())
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    return [
        "# Benchmarks: Sip against the raw SDK, LiteLLM and the guide's design",
        "",
        "Generated by `make bench` (`python -m bench.run`); do not edit by hand. Raw figures: "
        "[`bench/results.json`](bench/results.json)." + (
            " **Quick mode: tiny sizes, the figures mean nothing.**" if meta["quick"] else ""),
        "",
        f"- **Machine:** {m['nproc']} CPUs ({m['cpu_model']}), {m['memory_gb']} GB memory, "
        f"{m['os']}, Python {m['python']}; {versions}.",
        f"- **Run:** {meta['started']}, {meta['total_s']:.0f} s in all ({durations}). "
        f"Load average (1/5/15 min) {load0[0]:.2f}/{load0[1]:.2f}/{load0[2]:.2f} before, "
        f"{load1[0]:.2f}/{load1[1]:.2f}/{load1[2]:.2f} after — other work on the machine "
        "adds noise to wall times; CPU per turn is the steadier figure.",
        "- **Every figure is a ratio or a difference measured in the same run against the "
        "same emulator**, started as a separate process (`sip dev fake-groq`), so the "
        "client under test and the emulator never share an event loop.",
        "",
    ]


def _goals_section(results: dict[str, Any]) -> list[str]:
    rows = [(g["goal"], g["measured"], "**met**" if g["met"] else "**not met**")
            for g in results.get("goals", [])]
    return ["## The goals", "", _table(("goal", "measured", ""), rows), ""]


def _overhead_section(part: dict[str, Any], drawn: dict[str, str], assets: str) -> list[str]:
    emu = part["emulator"]
    lines = [
        "## 1. Overhead and throughput", "",
        f"Emulator: time to first token {emu['ttft_ms']:g} ms, {emu['tps']:g} tokens/s, "
        f"{emu['chunk_tokens']} tokens per streamed chunk, no rate limits; every answer is "
        f"{part['answer_chars']} characters ({part['answer_chars'] // 4} tokens) plus the "
        "emulator's fixed reasoning text. Customer messages are the eval set's questions "
        "(those asking for a person left out: Sip would open a ticket instead of calling the "
        "model). In each round every customer sends one message at once; rounds alternate "
        "between the contenders so that outside load falls on all alike; rounds per level: "
        + ", ".join(f"{k} users × {v}" for k, v in part["rounds"].items()) + ".",
        "",
        "- **raw SDK** — `openai.AsyncOpenAI` straight at the emulator with the guide's "
        "system prompt: the floor.",
        "- **Sip** — `sipai.support.service.ask`/`stream` through `build_sip`: store the "
        "message (SQLite, its default), per-user limit, retrieve, context budget, route, "
        "rate limiter, call, store the answer; its limits set far above the load and the "
        "answer cache off, so every turn calls the model.",
        "- **LiteLLM Router** — `Router.acompletion` with one deployment (the emulator).",
        "- **guide's design** — the guide's `GroqClient`: a synchronous `Groq` client inside "
        f"`async def`. It blocks the event loop, so it gets {part['cap_s']:g} s per level and "
        "mode; customers it never reached are *censored* (counted as slower than the cap, "
        "shown “≥ cap”).",
        "",
        "Added latency is the contender's percentile minus the raw SDK's same percentile in "
        "the same run (turns are not paired). Not streamed, the first token arrives with "
        "the whole answer, so time to first token = total latency.",
        "",
    ]
    for stream in (False, True):
        rows = []
        for cell in part["cells"]:
            if cell["stream"] != stream:
                continue
            ratio = _ratio(part, cell["contender"], cell["users"], stream)
            added = (f"{_ms(ratio['added_ttft_p50_ms'])} / {_ms(ratio['added_ttft_p99_ms'])}"
                     f" | {_ms(ratio['added_total_p50_ms'])} / "
                     f"{_ms(ratio['added_total_p99_ms'])} | "
                     f"{ratio['throughput_ratio']:.2f}×") if ratio else "– | – | 1.00×"
            rows.append((cell["users"], cell["contender"],
                         f"{_ms(1000 * cell['ttft_p50'])} / {_ms(1000 * cell['ttft_p99'])}",
                         f"{_ms(1000 * cell['total_p50'])} / {_ms(1000 * cell['total_p99'])}",
                         added, f"{cell['throughput']:.1f}", _ms(cell["cpu_ms_per_turn"]),
                         f"{cell['turns']} / {cell['errors']} / {cell['censored']}"))
        lines += [f"**{'Streamed' if stream else 'Not streamed'}** (ms; p50 / p99):", "",
                  _table(("users", "contender", "TTFT", "total", "added TTFT",
                          "added total", "throughput ÷ raw", "turns/s",
                          "CPU ms/turn", "turns / errors / censored"), rows), ""]
    for key in ("overhead_latency", "overhead_throughput", "overhead_cpu"):
        if key in drawn:
            lines += [f"![{key}]({assets}/{drawn[key]})", ""]
    lines += [f"Reproduce: `{part['emulator_command']}` is what the run starts; "
              "`python -m bench.run --only overhead` runs this part alone.", ""]
    return lines


def _profile_section(part: dict[str, Any], drawn: dict[str, str], assets: str) -> list[str]:
    rows = [(s["stage"], s["calls"], _ms(s["wall_p50_ms"], 2), _ms(s["wall_p99_ms"], 2),
             _ms(s["cpu_p50_ms"], 2)) for s in part["stages"]]
    packages = [(p["package"], _pct(p["share"]), _ms(p["ms_per_turn"], 2))
                for p in part["packages"][:10]]
    functions = [(f"`{f['function']}`", _ms(f["ms_per_turn"], 2),
                  f"{f.get('calls_per_turn', math.nan):.1f}", _pct(f["share"]))
                 for f in part["top_functions"][:12]]
    lines = [
        "## Where Sip's own time goes", "",
        f"{part['turns']} turns, one customer at a time (three turns per customer), same "
        "emulator settings as part 1. Each step of the turn is timed in place (wall time, "
        "and CPU time of the event-loop thread); the raw SDK's call on the same emulator "
        f"took {_ms(part['raw_call_p50_ms'])} ms p50 / {_ms(part['raw_call_p99_ms'])} ms "
        "p99.", "",
        _table(("stage", "calls", "wall p50 ms", "wall p99 ms", "CPU p50 ms"), rows), "",
    ]
    if "stages" in drawn:
        lines += [f"![stages]({assets}/{drawn['stages']})", ""]
    lines += [
        f"The same turns under cProfile ({_ms(part['profiled_cpu_ms_per_turn'])} ms CPU per "
        "turn with the profiler's own cost; self time, event-loop waiting left out):", "",
        _table(("package", "share of self time", "ms per turn"), packages), "",
        _table(("function (self time)", "ms per turn", "calls per turn", "share"), functions),
        "",
        "Reproduce: `python -m bench.run --only profile`.", ""]
    return lines


def _limits_section(part: dict[str, Any], drawn: dict[str, str], assets: str) -> list[str]:
    c = part["config"]
    rows = []
    for d in part["designs"]:
        per_user = d["answers_per_user"]
        wire = sum(by.get("429", 0) for by in d["wire_status"].values())
        rows.append((d["design"], d["turns"], d["model_answers"], d["user_429"],
                     d["other_failures"], d["cancelled_at_stop"],
                     f"{_pct(d['budget_use'])} ({_pct(d['budget_use_min'])})", wire,
                     f"{d['jain']:.3f}",
                     f"{per_user['min']} / {per_user['mean']:.2f} / {per_user['max']}",
                     f"{d['noisy_vs_quiet']:.2f}"))
    minute = 60 / c["time_scale"]
    lines = [
        "## 2. Rate limits", "",
        f"The resilience issue's load test (`bench/load_limits.py`, imported): {c['users']} "
        f"customers, {c['noisy']} of them noisy with {c['sessions']} messages in flight, the "
        "rest one at a time, each sending the next message as soon as the last is answered "
        f"(half the turns streamed), for {c['minutes']:g} minutes on the emulator's clock "
        f"compressed {c['time_scale']:g}× (a minute lasts {minute:.2f} s). The emulator "
        f"enforces {c['rpm']} RPM and {c['tpm']:,} TPM and counts a call as its prompt plus "
        "`max_completion_tokens` (1,000 for every design), so tokens bind first. Sip: its "
        "limiter on the emulator's clock, no fallback model, per-user abuse limit and answer "
        "cache off (the harness's setup). LiteLLM: `usage-based-routing-v2`, deployment "
        f"`rpm={c['rpm']}, tpm={c['tpm']}`, `num_retries=2`, its minute counters and its "
        "default 5 s cooldown on the same compressed clock. SDK: "
        "`groq.AsyncGroq(max_retries=2)`. Fixed client back-offs (LiteLLM's retry waits, the "
        "SDK's exponential ones when no `retry-after` comes) stay in real seconds.", "",
        _table(("design", "turns", "model answers", "429s to customers", "other failures",
                "in flight at the stop", "budget used, mean (worst minute)",
                "429s on the wire", "Jain", "answers per customer min / mean / max",
                "noisy ÷ quiet"), rows), "",
        "Budget used: tokens the emulator admitted per full compressed minute over its TPM "
        "(first and last minutes left out). Jain's index is over the model answers each "
        "customer got (a noisy customer counts once); noisy ÷ quiet compares the answers "
        "per customer of the two groups (1 = the noisy ones got no more than their share).",
        ""]
    if "limits" in drawn:
        lines += [f"![limits]({assets}/{drawn['limits']})", ""]
    lines += [f"Reproduce: `{part['harness_command']}` (Sip alone, with its pass/fail "
              "line); `python -m bench.run --only limits` (all three designs); the other "
              f"designs' emulator: `{part['emulator_command']}`.", ""]
    return lines


def _tokens_section(part: dict[str, Any], drawn: dict[str, str], assets: str) -> list[str]:
    prices = part["prices"]
    rows = []
    for d in part["designs"]:
        per_turn = d["prompt_tokens"]
        marks = [per_turn[i - 1] for i in (1, 10, 30, len(per_turn)) if i <= len(per_turn)]
        summaries = (f"{d['summary_calls']} calls, {d['summary_prompt_tokens']:,} in"
                     if "summary_calls" in d else "–")
        rows.append((d["design"], " / ".join(f"{m:,}" for m in marks),
                     f"{d['mean_prompt_tokens']:,.0f}", f"{d['total_prompt_tokens']:,}",
                     summaries, f"${d['cost_per_conversation_usd']:.4f}"))
    price_text = "; ".join(f"{m} ${p[0]:g} / ${p[1]:g}" for m, p in prices.items())
    lines = [
        "## 3. Tokens", "",
        f"One {part['turns']}-turn conversation, the same customer messages and the same "
        f"{part['answer_chars']}-character answers for each design; prompt tokens are the "
        "emulator's count (4 characters a token, plus 4 per message). Sip's turns go "
        "through the real service, whose background summaries (by gpt-oss-20b) are awaited "
        "between turns, as a customer's pause allows. Prices per million input / output "
        f"tokens: {price_text}.", "",
        _table(("design", "prompt tokens at turns 1 / 10 / 30 / last", "mean per turn",
                "total prompt tokens", "summaries", "cost per conversation"), rows), ""]
    if "tokens" in drawn:
        lines += [f"![tokens]({assets}/{drawn['tokens']})", ""]
    lines += ["Reproduce: `python -m bench.run --only tokens`.", ""]
    return lines


def _knowledge_section(part: dict[str, Any], drawn: dict[str, str], assets: str
                       ) -> list[str]:
    rows = [(r["kind"], f"{r['scale']}×", f"{r['articles']:,}", f"{r['recall@1']:.3f}",
             f"{r['recall@3']:.3f}", f"{r['mrr']:.3f}", _ms(r["latency_p50_ms"], 2),
             _ms(r["latency_p99_ms"], 2), f"{r['build_s']:.2f}")
            for r in part["rows"]]
    lines = [
        "## 4. Knowledge", "",
        f"The {part['questions']} eval questions (`eval/kb_questions*.yaml`) against the "
        "bundled articles and against 10× and 100× knowledge bases made by adding generated "
        "articles under new ids, which never count as a right answer. *Babble* articles "
        "(`bench/eval_kb.py --scale N`) have the real articles' shape and vocabulary in "
        "random order; *perturbed copies* re-issue every real article with a third of its "
        "words swapped for random ones and its sections shuffled — near-duplicates, the "
        f"hard case. Latency: `KnowledgeBase.search(k=5)`, {part['repeats']} runs of every "
        "question.", "",
        _table(("distractors", "size", "articles", "recall@1", "recall@3", "MRR",
                "p50 ms", "p99 ms", "index build s"), rows), ""]
    by = {(r["kind"], r["scale"]): r for r in part["rows"]}
    top = max(r["scale"] for r in part["rows"])
    base, babble = by.get(("babble", 1)), by.get(("babble", top))
    copies = by.get(("perturbed copies", top))
    if base and babble and copies and top > 1:
        growth = babble["latency_p50_ms"] / max(1e-9, base["latency_p50_ms"])
        lines += [
            f"From 1× to {top}×, recall@3 goes from {base['recall@3']:.3f} to "
            f"{babble['recall@3']:.3f} with babble and to {copies['recall@3']:.3f} with "
            f"perturbed copies, and search p50 from {_ms(base['latency_p50_ms'], 2)} ms to "
            f"{_ms(babble['latency_p50_ms'], 2)} ms ({growth:.0f}× "
            f"for {top}× the articles). With {top - 1} degraded copies of every article, one "
            "of them usually outranks the original: the retriever ranks passages by their "
            "words, and cannot tell an article from a slightly worse copy of itself — an "
            "operator's duplicated articles would dilute it the same way.", ""]
    if "knowledge" in drawn:
        lines += [f"![knowledge]({assets}/{drawn['knowledge']})", ""]
    lines += [f"Reproduce: `{part['command']}`.", ""]
    return lines


def _footprint_section(part: dict[str, Any], drawn: dict[str, str], assets: str
                       ) -> list[str]:
    rows = []
    for r in part["memory"]:
        if "rss_mb" not in r:
            rows.append((r["design"], "failed", "", "", ""))
            continue
        rows.append((r["design"], f"{r['idle_rss_mb']:.0f}", f"{r['rss_mb']:.0f}",
                     f"{r['rss_mb'] - r['idle_rss_mb']:+.1f}", f"{r['seconds']:.1f}"))
    cold = part["cold_start"]
    imports = ", ".join(f"`{i['module']}` {i['ms']:.0f} ms" for i in cold["top_imports"][:6])
    lines = [
        "## 5. Footprint", "",
        f"Each design in a fresh process answers one message from each of "
        f"{part['conversations']:,} customers (50 at a time, instant emulator) and reports "
        "its resident memory. Sip keeps conversations in SQLite, so its memory is code, "
        "knowledge index and pools; the others keep each chat in a dict, as the guide's bot "
        "would.", "",
        _table(("design", "RSS started, MiB", f"RSS with {part['conversations']:,} "
                "conversations, MiB", "growth, MiB", "time for them, s"), rows), ""]
    if "footprint" in drawn:
        lines += [f"![footprint]({assets}/{drawn['footprint']})", ""]
    lines += [
        f"Cold start of `{cold['command']}` (a new process each time, no API key): "
        f"{cold['first_s']:.2f} s the first time in a fresh data directory (migrations, "
        f"knowledge index), then {cold['warm_p50_s']:.2f} s p50 over {cold['warm_runs']} "
        f"runs (min {cold['warm_min_s']:.2f} s, max {cold['warm_max_s']:.2f} s). Slowest "
        f"top-level imports (`python -X importtime`): {imports}.", "",
        "Reproduce: `python -m bench.run --only footprint`.", ""]
    return lines


def _wins(results: dict[str, Any]) -> list[str]:
    """Where Sip wins, from the figures of this run."""
    lines: list[str] = []
    limits = results.get("limits")
    if limits:
        by = {d["design"]: d for d in limits["designs"]}
        sip = by.get("Sip")
        for name, other in by.items():
            if sip is None or name == "Sip":
                continue
            lines.append(f"- **Against {name} under the rate limit:** {sip['user_429']} "
                         f"customer-visible 429s against {other['user_429']} of "
                         f"{other['turns']} turns; Jain's fairness {sip['jain']:.3f} against "
                         f"{other['jain']:.3f} (noisy customers got {sip['noisy_vs_quiet']:.2f}× "
                         f"a quiet one's answers with Sip, {other['noisy_vs_quiet']:.2f}× "
                         "here).")
    part = results.get("overhead")
    if part:
        guide = [r for r in part["ratios"] if r["contender"] == "guide's design"
                 and r["users"] > 1]
        sip = [r for r in part["ratios"] if r["contender"] == "Sip" and r["users"] > 1]
        if guide and sip:
            lines.append(f"- **Against the guide's design under concurrency:** its blocking "
                         f"calls serve one customer at a time, "
                         f"{min(r['throughput_ratio'] for r in guide):.2f}–"
                         f"{max(r['throughput_ratio'] for r in guide):.2f}× the raw SDK's "
                         "throughput from 10 users up, against Sip's "
                         f"{min(r['throughput_ratio'] for r in sip):.2f}–"
                         f"{max(r['throughput_ratio'] for r in sip):.2f}×.")
    tokens = results.get("tokens")
    ratio = tokens.get("sip_vs_guide_at_last_turn") if tokens else None
    if tokens and ratio is not None and ratio <= 1:
        sip_t, guide_t = tokens["designs"][0], tokens["designs"][1]
        lines.append(f"- **Against the guide's design, prompt size:** at turn "
                     f"{tokens['turns']} Sip sends {sip_t['turn_60']:,} prompt tokens against "
                     f"the guide's {guide_t['turn_60']:,} ({ratio:.2f}×). Instead of the last "
                     "ten messages verbatim it sends its persona and rules, the best "
                     "article's intro and steps (and up to two more articles, shortened), a "
                     "summary of the older turns and the exchanges the summary does not cover "
                     "yet, Sip's answers shortened; the conversation costs "
                     f"{_cost_against(sip_t, guide_t)}.")
    if tokens and len(tokens["designs"]) > 2:
        sip_t, full = tokens["designs"][0], tokens["designs"][2]
        lines.append(f"- **Against full history:** {sip_t['turn_60']:,} prompt tokens at turn "
                     f"{tokens['turns']} against {full['turn_60']:,}, "
                     f"${sip_t['cost_per_conversation_usd']:.4f} against "
                     f"${full['cost_per_conversation_usd']:.4f} a conversation, with the "
                     "knowledge passages and a summary of the older turns included.")
    return ["## Where Sip wins", "", *lines, ""] if lines else []


def _losses(results: dict[str, Any]) -> list[str]:
    """Where Sip loses, from the figures of this run."""
    lines = ["## Where Sip loses", ""]
    part = results.get("overhead")
    profile = results.get("profile")
    if part:
        one = _ratio(part, "Sip", 1, False)
        lite = _ratio(part, "LiteLLM Router", 1, False) or {}
        if one:
            lines.append(f"- **Latency with one customer.** Sip adds "
                         f"{_ms(one['added_total_p50_ms'])} ms p50 to a non-streamed turn "
                         f"over the raw SDK (LiteLLM: {_ms(lite.get('added_total_p50_ms'))}"
                         " ms).")
        if profile:
            stages = {s["stage"]: s["wall_p50_ms"] for s in profile["stages"]}
            store = stages.get("store message", 0.0) + stages.get("store answer", 0.0)
            rest = stages.get("retrieve", 0.0) + stages.get("context budget", 0.0)
            lines.append(f"  In the stage profile, storing the message and the answer (two "
                         f"SQLite transactions, WAL with `synchronous=NORMAL`) took "
                         f"{_ms(store, 1)} ms p50; retrieval and the context budget "
                         f"{_ms(rest, 1)} ms.")
        failed = [c for c in part["cells"] if c["contender"] == "Sip" and c["errors"]]
        if failed:
            where = "; ".join(f"{c['users']} users {'streamed' if c['stream'] else 'not streamed'}"
                              f": {c['errors']} ({', '.join(c['error_kinds'])})"
                              for c in failed)
            lines.append(f"- **Failed turns under load.** Some Sip turns raised instead of "
                         f"answering ({where}); with SQLite an `OperationalError` is a "
                         "writer that waited longer than the busy timeout for the lock.")
        sip_cpu = _mean([c["cpu_ms_per_turn"] for c in part["cells"]
                         if c["contender"] == "Sip"])
        raw_cpu = _mean([c["cpu_ms_per_turn"] for c in part["cells"]
                         if c["contender"] == "raw SDK"])
        lines.append(f"- **CPU per turn.** Sip spends {_ms(sip_cpu)} ms of CPU per turn against "
                     f"the raw SDK's {_ms(raw_cpu)} ms (mean over all cells). Under load "
                     "that, not the model, sets the latency: once the client's core is busy "
                     "every extra millisecond queues, which is why the added latency at "
                     "100 and 500 users is far above the single-customer figure and "
                     "throughput falls behind the raw SDK.")
    tokens = results.get("tokens")
    if tokens and tokens.get("sip_vs_guide_at_last_turn") is not None:
        lines += _token_losses(tokens)
    limits = results.get("limits")
    if limits:
        by = {d["design"]: d for d in limits["designs"]}
        sip = by.get("Sip")
        others = [d for d in limits["designs"] if d["design"] != "Sip"]
        most = max(others, key=lambda d: d["model_answers"]) if others else None
        if sip and most and most["model_answers"] > sip["model_answers"]:
            lines.append(f"- **Answers per token budget.** Under the rate limit Sip's "
                         f"customers see no 429, but {most['design']} got "
                         f"{most['model_answers']} model answers out of the same budget "
                         f"against Sip's {sip['model_answers']}: Sip's grounded prompts are "
                         "several times larger than a bare question, and Groq counts them "
                         "against the same 8K tokens a minute (the others' extra answers go "
                         "to whoever retried at the right moment, the rest see 429s).")
    foot = results.get("footprint")
    if foot:
        mem = {r["design"]: r for r in foot["memory"] if "rss_mb" in r}
        guide_mem = mem.get("guide's design")
        imports = foot["cold_start"]["top_imports"]
        if "Sip" in mem and guide_mem is not None:
            slowest = (f" (`{imports[0]['module']}` alone takes {imports[0]['ms'] / 1000:.1f} s "
                       "to import)") if imports else ""
            lines.append(f"- **Memory and start-up.** Sip's process holds "
                         f"{mem['Sip']['rss_mb']:.0f} MiB against the guide's "
                         f"{guide_mem['rss_mb']:.0f} MiB, and `sip ask --offline` takes "
                         f"{foot['cold_start']['warm_p50_s']:.1f} s to answer from a new "
                         f"process{slowest}.")
    lines.append("")
    return lines


def _cost_against(sip: dict[str, Any], guide: dict[str, Any]) -> str:
    """Sip's cost per conversation (summaries included) against the guide's, in words."""
    mine, theirs = sip["cost_per_conversation_usd"], guide["cost_per_conversation_usd"]
    word = "more than" if mine > theirs else "less than" if mine < theirs else "as much as"
    summaries = " with its summaries" if sip.get("summary_calls") else ""
    return f"${mine:.4f}{summaries}, {word} the guide's ${theirs:.4f}"


def _token_losses(tokens: dict[str, Any]) -> list[str]:
    """Part 3's losses: prompt size or cost when above the guide's, summary calls."""
    lines: list[str] = []
    ratio = tokens["sip_vs_guide_at_last_turn"]
    sip_t, guide_t = tokens["designs"][0], tokens["designs"][1]
    mine, theirs = sip_t["cost_per_conversation_usd"], guide_t["cost_per_conversation_usd"]
    if ratio > 1:
        lines.append(f"- **Prompt size.** At turn {tokens['turns']} Sip sends "
                     f"{sip_t['turn_60']:,} prompt tokens against the guide's "
                     f"{guide_t['turn_60']:,} ({ratio:.2f}×): its grounding (persona with "
                     "rules plus knowledge passages) costs more than ten messages of "
                     "history. It stays flat where full history grows without bound, but "
                     f"the conversation costs {_cost_against(sip_t, guide_t)}, and under the "
                     "8K TPM limit fewer Sip answers fit in a minute.")
    elif mine > theirs:
        lines.append(f"- **Cost per conversation.** Sip's prompt is smaller at turn "
                     f"{tokens['turns']} ({ratio:.2f}× the guide's), but the conversation "
                     f"costs {_cost_against(sip_t, guide_t)}: the summaries and the early "
                     "turns, where the guide has little history yet, outweigh it.")
    calls = sip_t.get("summary_calls") or 0
    if calls:
        lines.append(f"- **Summary calls.** Sip made {calls} summary calls to the cheaper "
                     f"model in the {tokens['turns']}-turn conversation (one per "
                     f"{tokens['turns'] / calls:.1f} turns), which the guide does not make; "
                     "that model is also the fallback, so each call spends requests of its "
                     "per-minute and per-day limits that a failing primary would need.")
    return lines


def _method() -> list[str]:
    return [
        "## Method and caveats", "",
        "- The emulator is `sip dev fake-groq`. Its listening socket is created with "
        "`IPPROTO_TCP` (`sipai.dev.server.bind_socket`) so that asyncio turns Nagle's "
        "algorithm off on the accepted connections; with it on, every request after the "
        "first on a kept-alive connection would wait about 40 ms for the client's delayed "
        "ACK, the same 40 ms for every contender, drowning the overheads.",
        "- LiteLLM sends its requests through aiohttp (its default transport), the others "
        "through httpx; aiohttp handles many connections more cheaply, which is why LiteLLM "
        "can match or beat the raw SDK at 100 users. The floor is still the official SDK, "
        "as the issue defines it.",
        "- All contenders run in the benchmark's process, one after another; CPU per turn is "
        "that process's CPU time (all threads, including SQLite's) over the turns.",
        "- Percentiles use the nearest-rank method. Added latency is a difference of "
        "percentiles, which can be negative when a contender is as fast as the floor.",
        "- The guide's design is run as written except for the model id: the guide's bare "
        "`gpt-oss-120b` is answered with 404 by Groq (and the emulator).",
        "- Logging is left at warnings for every contender.", ""]


def render(results: dict[str, Any], drawn: dict[str, str], *, assets_dir: str = "bench"
           ) -> str:
    """The whole Markdown document."""
    lines = _header(results) + _goals_section(results)
    sections = (("overhead", _overhead_section), ("profile", _profile_section),
                ("limits", _limits_section), ("tokens", _tokens_section),
                ("knowledge", _knowledge_section), ("footprint", _footprint_section))
    for key, section in sections:
        if key in results:
            lines += section(results[key], drawn, assets_dir)
    lines += _wins(results) + _losses(results) + _method()
    return "\n".join(lines).rstrip() + "\n"
