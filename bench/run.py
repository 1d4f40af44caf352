"""`make bench`: every benchmark part, then `docs/benchmarks.md`, its charts and raw JSON.

    python -m bench.run                         # everything (a few minutes)
    python -m bench.run --only overhead,tokens  # some parts
    python -m bench.run --quick --out /tmp/b    # tiny sizes (the smoke test uses this)
    python -m bench.run --render                # redraw and rewrite from results.json

Parts: `overhead` (1: latency and throughput against the raw SDK, LiteLLM and the guide),
`profile` (where Sip's own milliseconds go), `limits` (2: rate limits), `tokens` (3),
`knowledge` (4), `footprint` (5). Writes `<out>/benchmarks.md`, `<out>/bench/*.png` and
`<out>/bench/results.json`. Nothing here reaches the internet: the Groq emulator runs
locally and LiteLLM reads its bundled price map.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# LiteLLM would otherwise fetch its price map from GitHub when imported.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_TELEMETRY", "False")

from bench.common import ROOT, machine

PARTS = ("overhead", "profile", "limits", "tokens", "knowledge", "footprint")


def _runners(quick: bool) -> dict[str, Callable[[], dict[str, Any]]]:
    from bench import footprint, knowledge, overhead, profile_sip, rate_limits, tokens

    if quick:
        return {
            "overhead": lambda: overhead.run(levels=(1, 3), rounds={1: 2, 3: 1}, cap_s=2.0),
            "profile": lambda: profile_sip.run(turns=3),
            "limits": lambda: rate_limits.run(users=4, minutes=4),
            "tokens": lambda: tokens.run(turns=4),
            "knowledge": lambda: knowledge.run(scales=(1, 2), repeats=1),
            "footprint": lambda: footprint.run(conversations=3, cold_runs=1),
        }
    return {"overhead": overhead.run, "profile": profile_sip.run, "limits": rate_limits.run,
            "tokens": tokens.run, "knowledge": knowledge.run, "footprint": footprint.run}


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Warnings from the code under test would bury the progress lines (restored after)."""
    names = ("sipai", "LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm", "httpx")
    saved = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def run(parts: Sequence[str], out: Path, *, quick: bool = False,
        progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Run `parts`, write the report, charts and JSON under `out`; return the results."""
    with _quiet():
        return _run(parts, out, quick=quick, progress=progress)


def _run(parts: Sequence[str], out: Path, *, quick: bool,
         progress: Callable[[str], None]) -> dict[str, Any]:
    from bench import charts, report

    started = time.perf_counter()
    results: dict[str, Any] = {"meta": {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(), "quick": quick, "parts": list(parts),
        "load_average_before": list(os.getloadavg()),
        "durations_s": {}}}
    runners = _runners(quick)
    for part in parts:
        progress(f"[bench] {part} …")
        part_started = time.perf_counter()
        results[part] = runners[part]()
        seconds = time.perf_counter() - part_started
        results["meta"]["durations_s"][part] = seconds
        progress(f"[bench] {part} done in {seconds:.0f} s")
    results["meta"]["load_average_after"] = list(os.getloadavg())
    results["meta"]["total_s"] = time.perf_counter() - started
    results["goals"] = report.goals(results)
    assets = out / "bench"
    assets.mkdir(parents=True, exist_ok=True)
    drawn = charts.draw_all(results, assets)
    results["meta"]["total_s"] = time.perf_counter() - started
    (assets / "results.json").write_text(json.dumps(_plain(results), indent=1,
                                                    ensure_ascii=False) + "\n")
    (out / "benchmarks.md").write_text(report.render(results, drawn, assets_dir="bench"))
    progress(f"[bench] wrote {out / 'benchmarks.md'} in {results['meta']['total_s']:.0f} s")
    return results


def _plain(value: Any) -> Any:
    """JSON without NaN/Infinity: a censored percentile becomes "inf", a missing one null."""
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return round(value, 6)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the benchmarks."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--only", default=",".join(PARTS),
                        help=f"comma-separated parts (default: all of {', '.join(PARTS)})")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for smoke tests")
    parser.add_argument("--render", action="store_true",
                        help="only redraw the charts and rewrite the report from "
                             "<out>/bench/results.json")
    parser.add_argument("--out", type=Path, default=ROOT / "docs",
                        help="where benchmarks.md and bench/ go (default: docs/)")
    args = parser.parse_args(argv)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # progress shows up under `make`/tee
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s): {', '.join(unknown)}")
    if args.render:
        render(args.out)
    else:
        run(parts, args.out, quick=args.quick)
    return 0


def render(out: Path) -> None:
    """Redraw the charts and rewrite the report from a previous run's JSON."""
    from bench import charts, report

    assets = out / "bench"
    results = _numbers(json.loads((assets / "results.json").read_text()))
    results["goals"] = report.goals(results)
    drawn = charts.draw_all(results, assets)
    (out / "benchmarks.md").write_text(report.render(results, drawn, assets_dir="bench"))


def _numbers(value: Any) -> Any:
    """The inverse of :func:`_plain`: "inf" back to infinity, null back to NaN."""
    if value in ("inf", "-inf"):
        return math.inf if value == "inf" else -math.inf
    if value is None:
        return math.nan
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


if __name__ == "__main__":
    sys.exit(main())
