"""The PNG charts of `docs/benchmarks.md`, drawn with matplotlib from the results dict.

Every chart has a title that says what is measured, labelled axes with units, a legend, and
the goal as a dashed line where the issue sets one. Values the run could not measure
(a censored percentile: the guide's design never served those customers within the cap)
are drawn as hatched bars at the top of the axis, labelled "≥ cap".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.patches

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

COLOURS = {"raw SDK": "#7f7f7f", "Sip": "#1f77b4", "LiteLLM Router": "#ff7f0e",
           "guide's design": "#d62728", "raw SDK (max_retries=2)": "#7f7f7f"}
DPI = 110


def _colour(name: str) -> str:
    return COLOURS.get(name, "#2ca02c")


def _save(fig: Any, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path.name


def _grouped(ax: Axes, groups: Sequence[str], series: dict[str, list[float]], *,
             top: float | None = None, fmt: str = "{:.1f}") -> None:
    """Grouped bars; infinite values become hatched bars reaching `top`."""
    names = list(series)
    width = 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        for j, value in enumerate(series[name]):
            x = j + (i - (len(names) - 1) / 2) * width
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            censored = math.isinf(value)
            height = top if censored and top is not None else value
            ax.bar(x, height, width, color=_colour(name), hatch="//" if censored else None,
                   alpha=0.55 if censored else 1.0, edgecolor="black", linewidth=0.4,
                   label=name if j == 0 else None)
            if censored:
                ax.annotate("≥ cap", (x, height), ha="center", va="top", fontsize=7,
                            rotation=90, xytext=(0, -4), textcoords="offset points")
            else:
                ax.annotate(fmt.format(value), (x, height), ha="center",
                            va="bottom" if value >= 0 else "top", fontsize=7,
                            xytext=(0, 2 if value >= 0 else -2), textcoords="offset points")
    ax.set_xticks(range(len(groups)), groups)


def overhead_latency(part: dict[str, Any], out: Path) -> str:
    """Added latency over the raw SDK per concurrency: p50 and p99, plain and streaming."""
    ratios = part["ratios"]
    contenders = list(dict.fromkeys(r["contender"] for r in ratios))
    levels = sorted({r["users"] for r in ratios})
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    panels = [(False, "total", 50, "Not streamed: added total latency, p50", 2.0),
              (False, "total", 99, "Not streamed: added total latency, p99", 10.0),
              (True, "ttft", 50, "Streamed: added time to first token, p50", 2.0),
              (True, "ttft", 99, "Streamed: added time to first token, p99", 10.0)]
    for ax, (stream, series, q, title, goal) in zip(axes.flat, panels, strict=True):
        values = {c: [next((r[f"added_{series}_p{q}_ms"] for r in ratios
                            if r["contender"] == c and r["users"] == u
                            and r["stream"] == stream), math.nan) for u in levels]
                  for c in contenders}
        finite = [v for vs in values.values() for v in vs if math.isfinite(v)]
        top = max([*finite, goal, 1.0]) * 3
        _grouped(ax, [str(u) for u in levels], values, top=top, fmt="{:.0f}")
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_ylim(min([0.0, *finite]) * 4 - 1, top * 2)
        ax.axhline(goal, color="green", linestyle="--", linewidth=1,
                   label="goal for Sip at 100 users (≤ 2 ms p50, ≤ 10 ms p99)")
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("concurrent users")
        ax.set_ylabel("ms over the raw SDK (symlog)")
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    censored = matplotlib.patches.Patch(facecolor="white", edgecolor="black", hatch="//",
                                        label="≥ cap: customers never served within the cap")
    fig.legend(handles=[*handles, censored], labels=[*labels, censored.get_label()],
               loc="lower center", ncol=5, fontsize=8, frameon=False)
    fig.suptitle("Part 1 — latency Sip, LiteLLM and the guide's design add to the raw SDK "
                 "(same emulator, same run)", fontsize=11)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(out / "overhead_latency.png", dpi=DPI)
    plt.close(fig)
    return "overhead_latency.png"


def overhead_throughput(part: dict[str, Any], out: Path) -> str:
    """Throughput as a fraction of the raw SDK's, per concurrency, plain and streaming."""
    ratios = part["ratios"]
    contenders = list(dict.fromkeys(r["contender"] for r in ratios))
    levels = sorted({r["users"] for r in ratios})
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for ax, stream in zip(axes, (False, True), strict=True):
        values = {c: [next((r["throughput_ratio"] for r in ratios if r["contender"] == c
                            and r["users"] == u and r["stream"] == stream), math.nan)
                       for u in levels] for c in contenders}
        _grouped(ax, [str(u) for u in levels], values, fmt="{:.2f}")
        ax.axhline(1.0, color="black", linewidth=0.6)
        ax.axhline(0.9, color="green", linestyle="--", linewidth=1,
                   label="goal for Sip at 500 users (≥ 0.9)")
        ax.set_title("streamed" if stream else "not streamed", fontsize=10)
        ax.set_xlabel("concurrent users")
        ax.set_ylabel("turns/s ÷ raw SDK's turns/s")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
    fig.suptitle("Part 1 — throughput as a fraction of the raw SDK (1.0 = as fast)",
                 fontsize=11)
    return _save(fig, out / "overhead_throughput.png")


def overhead_cpu(part: dict[str, Any], out: Path) -> str:
    """CPU milliseconds per turn in the client process, every contender, at 10 users."""
    cells = [c for c in part["cells"] if c["users"] == 10] or part["cells"]
    contenders = list(dict.fromkeys(c["contender"] for c in cells))
    fig, ax = plt.subplots(figsize=(8, 4.2))
    values = {c: [next((x["cpu_ms_per_turn"] for x in cells if x["contender"] == c
                        and x["stream"] == s), math.nan) for s in (False, True)]
              for c in contenders}
    _grouped(ax, ["not streamed", "streamed"], values, fmt="{:.1f}")
    ax.set_ylabel("CPU ms per turn (client process, all threads)")
    ax.set_title(f"Part 1 — CPU a turn costs the client, {cells[0]['users']} concurrent users",
                 fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out / "overhead_cpu.png")


def limits(part: dict[str, Any], out: Path) -> str:
    """429s reaching customers, budget used and fairness for each design."""
    designs = part["designs"]
    config = part["config"]
    names = [d["design"] for d in designs]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.4))
    panels = [
        ("429s reaching customers\n(% of turns)",
         [100 * d["user_429_rate"] for d in designs], "%", 0.0, "goal for Sip: 0"),
        (f"token budget used per full minute\n(% of {config['tpm']:,} TPM, emulator's count)",
         [100 * d["budget_use"] for d in designs], "%", 90.0, "goal: ≥ 90 %"),
        ("fairness across customers\n(Jain's index over model answers)",
         [d["jain"] for d in designs], "", 0.9, "goal: ≥ 0.9"),
    ]
    for ax, (title, values, unit, goal, goal_label) in zip(axes, panels, strict=True):
        bars = ax.bar(range(len(names)), values, color=[_colour(n) for n in names],
                      edgecolor="black", linewidth=0.4)
        for bar, value in zip(bars, values, strict=True):
            ax.annotate(f"{value:.1f}{unit}" if unit else f"{value:.3f}",
                        (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=8)
        ax.axhline(goal, color="green", linestyle="--", linewidth=1, label=goal_label)
        ax.set_xticks(range(len(names)), [n.replace(" (", "\n(") for n in names], fontsize=8)
        ax.set_ylim(0, max([*values, goal, 1.0]) * 1.18)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(unit or "index (1 = every customer got the same)")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(f"Part 2 — {config['users']} customers against {config['rpm']} RPM / "
                 f"{config['tpm']:,} TPM (clock ×{config['time_scale']:g}, "
                 f"{config['minutes']:g} minutes)", fontsize=11)
    return _save(fig, out / "limits.png")


def tokens(part: dict[str, Any], out: Path) -> str:
    """Prompt tokens per turn over the conversation, one line per design."""
    fig, ax = plt.subplots(figsize=(9, 4.8))
    styles = {0: "-", 1: "--", 2: ":"}
    colours = ["#1f77b4", "#d62728", "#7f7f7f"]
    for i, design in enumerate(part["designs"]):
        per_turn = design["prompt_tokens"]
        ax.plot(range(1, len(per_turn) + 1), per_turn, styles.get(i, "-"),
                color=colours[i % 3], linewidth=1.8,
                label=f"{design['design']}: {per_turn[-1]:,} at turn {len(per_turn)}, "
                      f"${design['cost_per_conversation_usd']:.4f}/conversation")
    ax.set_yscale("log")
    ax.set_xlabel("turn of the conversation")
    ax.set_ylabel("prompt tokens sent (log scale)")
    ax.set_title("Part 3 — prompt tokens per turn over a 60-turn conversation", fontsize=11)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, out / "tokens.png")


def knowledge(part: dict[str, Any], out: Path) -> str:
    """Recall and MRR, and search latency, against the knowledge base's size."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    kinds = list(dict.fromkeys(r["kind"] for r in part["rows"]))
    markers = {"babble": "o", "perturbed copies": "s"}
    for kind in kinds:
        rows = sorted((r for r in part["rows"] if r["kind"] == kind),
                      key=lambda r: r["articles"])
        sizes = [r["articles"] for r in rows]
        marker = markers.get(kind, "^")
        axes[0].plot(sizes, [r["recall@3"] for r in rows], marker=marker, color="#1f77b4",
                     linestyle="-" if kind == "babble" else "--", label=f"recall@3, {kind}")
        axes[0].plot(sizes, [r["mrr"] for r in rows], marker=marker, color="#ff7f0e",
                     linestyle="-" if kind == "babble" else "--", label=f"MRR, {kind}")
        axes[1].plot(sizes, [r["latency_p50_ms"] for r in rows], marker=marker,
                     color="#2ca02c", linestyle="-" if kind == "babble" else "--",
                     label=f"p50, {kind}")
        axes[1].plot(sizes, [r["latency_p99_ms"] for r in rows], marker=marker,
                     color="#d62728", linestyle="-" if kind == "babble" else "--",
                     label=f"p99, {kind}")
    axes[0].set_xscale("log")
    axes[0].set_ylim(0, 1.05)
    axes[0].set_xlabel("articles in the knowledge base (log)")
    axes[0].set_ylabel("score (1 = every question's article ranked first)")
    axes[0].set_title("retrieval quality", fontsize=10)
    axes[1].set_xscale("log")
    axes[1].set_yscale("log")
    axes[1].set_xlabel("articles in the knowledge base (log)")
    axes[1].set_ylabel("search latency, ms (log)")
    axes[1].set_title("search latency (k = 5)", fontsize=10)
    for ax in axes:
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    fig.suptitle("Part 4 — knowledge retrieval at 1×, 10× and 100× the bundled articles",
                 fontsize=11)
    return _save(fig, out / "knowledge.png")


def footprint(part: dict[str, Any], out: Path) -> str:
    """Resident memory at rest and with 1,000 conversations, per design."""
    rows = [r for r in part["memory"] if "rss_mb" in r]
    names = [r["design"] for r in rows]
    fig, ax = plt.subplots(figsize=(9, 4.2))
    values = {"started, one answer": [r["idle_rss_mb"] for r in rows],
              f"after {part['conversations']:,} conversations": [r["rss_mb"] for r in rows]}
    width = 0.38
    for i, (label, series) in enumerate(values.items()):
        xs = [j + (i - 0.5) * width for j in range(len(names))]
        bars = ax.bar(xs, series, width, label=label, color=["#9ecae1", "#3182bd"][i],
                      edgecolor="black", linewidth=0.4)
        for bar, value in zip(bars, series, strict=True):
            ax.annotate(f"{value:.0f}", (bar.get_x() + bar.get_width() / 2, value),
                        ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("resident set size, MiB")
    ax.set_title("Part 5 — process memory (RSS) per design", fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out / "footprint.png")


def stages(part: dict[str, Any], out: Path) -> str:
    """Where a Sip turn's own milliseconds go, stage by stage (p50 wall time)."""
    rows = [s for s in part["stages"] if s["stage"] != "route + limit + call"]
    call = next((s for s in part["stages"] if s["stage"] == "route + limit + call"), None)
    labels = [s["stage"] for s in rows]
    wall = [s["wall_p50_ms"] for s in rows]
    cpu = [s["cpu_p50_ms"] for s in rows]
    if call is not None:
        labels.append("route + limit + call\nminus the raw SDK call")
        wall.append(call["wall_p50_ms"] - part["raw_call_p50_ms"])
        cpu.append(math.nan)
    fig, ax = plt.subplots(figsize=(9, 4.2))
    ys = range(len(labels))
    ax.barh([y + 0.2 for y in ys], wall, 0.4, label="wall time, p50", color="#1f77b4")
    ax.barh([y - 0.2 for y in ys], cpu, 0.4, label="main-thread CPU, p50", color="#9ecae1")
    for y, value in zip(ys, wall, strict=True):
        ax.annotate(f"{value:.2f} ms", (max(value, 0), y + 0.2), va="center", fontsize=8,
                    xytext=(3, 0), textcoords="offset points")
    ax.set_yticks(list(ys), labels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set_xlabel("milliseconds per turn (one customer at a time)")
    ax.set_title("Where Sip's own time goes in a turn", fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return _save(fig, out / "sip_stages.png")


def draw_all(results: dict[str, Any], out: Path) -> dict[str, str]:
    """Draw every chart whose part is in `results`; return {chart: file name}."""
    out.mkdir(parents=True, exist_ok=True)
    drawn: dict[str, str] = {}
    if "overhead" in results:
        drawn["overhead_latency"] = overhead_latency(results["overhead"], out)
        drawn["overhead_throughput"] = overhead_throughput(results["overhead"], out)
        drawn["overhead_cpu"] = overhead_cpu(results["overhead"], out)
    if "limits" in results:
        drawn["limits"] = limits(results["limits"], out)
    if "tokens" in results:
        drawn["tokens"] = tokens(results["tokens"], out)
    if "knowledge" in results:
        drawn["knowledge"] = knowledge(results["knowledge"], out)
    if "footprint" in results:
        drawn["footprint"] = footprint(results["footprint"], out)
    if "profile" in results:
        drawn["stages"] = stages(results["profile"], out)
    return drawn
