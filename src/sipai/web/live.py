"""Live figures for the console, read from the Prometheus registry of this process.

Stored stats (tokens, cost, modes, latency) come from the database; what the resilience
layer only counts in memory — 429s avoided by the limiter, 429s met, limiter waits, cache
hits, breaker states — comes from here. :class:`MetricSampler` snapshots the 429 counters
every `interval` seconds (a background task of the app) so the console can chart them
over the last hours; the history is per process and starts empty at each start.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from prometheus_client import CollectorRegistry

from sipai.observability.metrics import REGISTRY

BREAKER_STATES = {0: "closed", 1: "half-open", 2: "open"}


def _samples(registry: CollectorRegistry, family: str) -> list[tuple[str, dict[str, str],
                                                                       float]]:
    found = []
    for metric in registry.collect():
        if metric.name == family:
            found += [(s.name, dict(s.labels), float(s.value)) for s in metric.samples]
    return found


def counter_total(registry: CollectorRegistry, family: str, **labels: str) -> float:
    """The sum of a counter family's `_total` samples whose labels match `labels`."""
    return sum(value for name, have, value in _samples(registry, family)
               if name.endswith("_total")
               and all(have.get(k) == v for k, v in labels.items()))


def by_label(registry: CollectorRegistry, family: str, label: str,
             suffix: str = "_total") -> dict[str, float]:
    """A counter (or gauge, with suffix "") family summed per value of one label."""
    totals: dict[str, float] = {}
    for name, labels, value in _samples(registry, family):
        if name == family + suffix and label in labels:
            totals[labels[label]] = totals.get(labels[label], 0.0) + value
    return totals


def live_snapshot(registry: CollectorRegistry = REGISTRY) -> dict[str, Any]:
    """What the resilience layer has counted since this process started."""
    waits = {name.removeprefix("sip_limiter_wait_seconds_"): value
             for name, _, value in _samples(registry, "sip_limiter_wait_seconds")
             if name.endswith(("_count", "_sum"))}
    breakers = {model: BREAKER_STATES.get(int(state), str(state))
                for model, state in by_label(registry, "sip_breaker_state", "model", "").items()}
    return {
        "rate_limits_avoided": counter_total(registry, "sip_rate_limits_avoided"),
        "rate_limits_met": counter_total(registry, "sip_provider_errors",
                                         code="rate_limit_exceeded"),
        "limiter_waits": {"count": waits.get("count", 0.0), "seconds": waits.get("sum", 0.0)},
        "cache": by_label(registry, "sip_cache_lookups", "result"),
        "breakers": breakers,
        "provider_errors": by_label(registry, "sip_provider_errors", "code"),
        "http_errors": by_label(registry, "sip_http_errors", "code"),
    }


@dataclass(frozen=True, slots=True)
class Sample:
    """The 429 counters at one moment."""

    at: float
    avoided: float
    met: float


class MetricSampler:
    """Keeps the last `keep` snapshots of the 429 counters, one every `interval` seconds."""

    def __init__(self, interval: float = 60.0, keep: int = 1440, *,
                 registry: CollectorRegistry = REGISTRY,
                 clock: Callable[[], float] = time.time) -> None:
        self.interval = interval
        self.registry = registry
        self._clock = clock
        self._samples: deque[Sample] = deque(maxlen=keep)

    def sample(self) -> Sample:
        """Take one snapshot now."""
        snapshot = Sample(self._clock(),
                          counter_total(self.registry, "sip_rate_limits_avoided"),
                          counter_total(self.registry, "sip_provider_errors",
                                        code="rate_limit_exceeded"))
        self._samples.append(snapshot)
        return snapshot

    async def run(self) -> None:
        """Sample forever (cancel the task to stop)."""
        while True:
            self.sample()
            await asyncio.sleep(self.interval)

    def series(self) -> list[dict[str, Any]]:
        """Per interval: its end time and the 429s avoided and met during it (up to now)."""
        points = [*self._samples]
        now = Sample(self._clock(), counter_total(self.registry, "sip_rate_limits_avoided"),
                     counter_total(self.registry, "sip_provider_errors",
                                   code="rate_limit_exceeded"))
        if not points or now.at > points[-1].at:
            points.append(now)
        return [{"at": datetime.fromtimestamp(b.at, UTC).isoformat(timespec="seconds"),
                 "avoided": max(0.0, b.avoided - a.avoided), "met": max(0.0, b.met - a.met)}
                for a, b in pairwise(points)]


__all__ = ["MetricSampler", "Sample", "by_label", "counter_total", "live_snapshot"]
