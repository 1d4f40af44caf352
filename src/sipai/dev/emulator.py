"""The emulator's configuration and live state: models, clock, limits, faults and log.

:class:`FakeGroqConfig` is what a test or the CLI chooses; :class:`Emulator` is the state
one running server mutates (the HTTP handlers, the `/_fake` control API and the test
handles all go through it). State changes are plain synchronous methods: call them on the
server's event loop (the thread handle in :mod:`sipai.dev.server` marshals them there).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sipai.dev.catalog import DECOMMISSIONED, DEFAULT_MODELS, ModelCard, ModelCatalog
from sipai.dev.faults import Fault, FaultBook
from sipai.dev.limits import EmulatedClock, ModelRateLimiter, RateLimitBook, RateLimits
from sipai.dev.recorder import RequestRecorder


@dataclass(slots=True)
class FakeGroqConfig:
    """How the emulator behaves; every field has a test-friendly default."""

    #: The only accepted key; None accepts any key that starts with `gsk_`.
    api_key: str | None = None
    #: Limits of every model without an entry in `model_limits` (0 = unlimited).
    limits: RateLimits = field(default_factory=RateLimits)
    model_limits: dict[str, RateLimits] = field(default_factory=dict)
    #: Clock speed-up: a rate-limit "minute" lasts 60 / time_scale real seconds.
    time_scale: float = 1.0
    #: Latency before the first token, and generation speed (0 = instant).
    ttft_ms: float = 0.0
    tps: float = 0.0
    #: Tokens (4 characters each) per streamed chunk.
    chunk_tokens: int = 4
    #: Faults queued at start.
    faults: list[Fault] = field(default_factory=list)
    #: Append every request record to this JSON-lines file.
    log_file: Path | None = None
    #: How many request records the memory log keeps.
    log_limit: int = 2_000
    #: Refuse unknown request properties, as Groq does.
    strict_params: bool = True
    models: tuple[ModelCard, ...] = DEFAULT_MODELS
    decommissioned: dict[str, str] = field(default_factory=lambda: dict(DECOMMISSIONED))

    def __post_init__(self) -> None:
        if self.time_scale <= 0:
            raise ValueError("time_scale must be positive")
        if self.ttft_ms < 0 or self.tps < 0:
            raise ValueError("ttft_ms and tps must not be negative")
        if self.chunk_tokens < 1:
            raise ValueError("chunk_tokens must be at least 1")

    @classmethod
    def unlimited(cls, **overrides: Any) -> FakeGroqConfig:
        """A config without rate limits (for benchmarks), other fields as given."""
        return cls(limits=RateLimits.unlimited(), **overrides)


class Emulator:
    """The live state of one fake Groq server."""

    def __init__(self, config: FakeGroqConfig) -> None:
        self.config = config
        self.catalog = ModelCatalog(config.models, config.decommissioned)
        self.clock = EmulatedClock(config.time_scale)
        self.limits = RateLimitBook(config.limits, config.model_limits, self.clock)
        self.faults = FaultBook([Fault.from_json(f.to_json()) for f in config.faults])
        self.recorder = RequestRecorder(config.log_limit, config.log_file)

    def key_ok(self, key: str | None) -> bool:
        """Whether a bearer key is accepted (constant-time against a configured key)."""
        if not key:
            return False
        if self.config.api_key is not None:
            return secrets.compare_digest(key.encode(), self.config.api_key.encode())
        return key.startswith("gsk_")

    def limiter(self, model: str | None) -> ModelRateLimiter:
        """The rate limiter of `model`, or of the primary model for model-less calls."""
        return self.limits.for_model(model or self.catalog.primary.id)

    def window(self) -> int:
        """The current emulated minute since start or reset (for per-window stats)."""
        return int(self.clock.now() // 60)

    def add_fault(self, fault: Fault) -> None:
        """Queue a fault behind those already waiting."""
        self.faults.add(fault)

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        self.faults.clear()

    def reset(self) -> None:
        """Back to a fresh server: no faults, full buckets, empty log and counters."""
        self.faults.clear()
        self.faults.injected.clear()
        self.clock.reset()
        self.limits.reset()
        self.recorder.clear()

    def set_limits(self, limits: RateLimits, model: str | None = None) -> None:
        """Change one model's limits (or the default); the affected buckets start full."""
        self.limits.set_limits(model, limits)

    def configure(self, changes: dict[str, Any]) -> None:
        """Change latency or chunking at runtime: `ttft_ms`, `tps`, `chunk_tokens`."""
        unknown = set(changes) - {"ttft_ms", "tps", "chunk_tokens"}
        if unknown:
            raise ValueError(f"cannot change {', '.join(sorted(unknown))} at runtime")
        for name, value in changes.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a non-negative number")
            if name == "chunk_tokens" and (not isinstance(value, int) or value < 1):
                raise ValueError("chunk_tokens must be a positive integer")
            setattr(self.config, name, value)

    def requests(self, model: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        """The request log, oldest first, optionally filtered by model or path suffix."""
        return self.recorder.entries(model, path)

    def stats(self) -> dict[str, Any]:
        """Counters: per status, per model, per minute window, faults, in-flight."""
        return {
            **self.recorder.stats(),
            "faults_injected": dict(self.faults.injected),
            "faults_pending": len(self.faults.pending()),
        }
