"""Groq-style rate limits for the emulator: token buckets per model on a compressible clock.

Groq meters each organisation per model on four dimensions: requests per minute (RPM) and
per day (RPD), tokens per minute (TPM) and per day (TPD). The emulator models each one as a
token bucket that starts full and refills continuously (`limit / period`), which yields the
"Please try again in 7.66s" waits Groq reports. A request costs one request and
`prompt_tokens + max_completion_tokens` tokens (the actual completion length when the
request sets no maximum); nothing is refunded afterwards. A limit of 0 means unlimited.

`time_scale` compresses the clock: with `time_scale=60` a "minute" lasts one real second.
Limits are counted in emulated time; every duration handed to clients (headers, messages,
`retry-after`) is in real seconds, so a client that honours them behaves correctly.

Headers follow Groq: `x-ratelimit-*-requests` describe the day (RPD), `x-ratelimit-*-tokens`
the minute (TPM), and resets are Go durations such as `2m59.56s` or `7.66s`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Literal

LimitName = Literal["RPM", "RPD", "TPM", "TPD"]

_PERIODS: dict[LimitName, float] = {"RPM": 60.0, "RPD": 86_400.0, "TPM": 60.0, "TPD": 86_400.0}
_TOKEN_LIMITS: tuple[LimitName, ...] = ("TPM", "TPD")
_HEADER_LIMITS: tuple[tuple[LimitName, str], ...] = (("RPD", "requests"), ("TPM", "tokens"))
_WORDS: dict[LimitName, str] = {
    "RPM": "requests per minute",
    "RPD": "requests per day",
    "TPM": "tokens per minute",
    "TPD": "tokens per day",
}


def format_go_duration(seconds: float) -> str:
    """Render seconds as Go's `time.Duration` prints them, to 10 ms: `2m59.56s`, `7.66s`."""
    if seconds <= 0.0005:
        return "0s"
    if seconds < 0.995:
        millis = f"{seconds * 1000:.2f}".rstrip("0").rstrip(".")
        return f"{millis}ms"
    centis = round(seconds * 100)
    hours, rest = divmod(centis, 360_000)
    minutes, rest = divmod(rest, 6_000)
    secs = f"{rest / 100:.2f}".rstrip("0").rstrip(".")
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def limit_description(name: LimitName) -> str:
    """Groq's wording for a limit, e.g. `tokens per minute (TPM)`."""
    return f"{_WORDS[name]} ({name})"


class EmulatedClock:
    """Monotonic seconds since start, sped up by `time_scale` (a minute lasts 60/scale s)."""

    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale
        self._origin = time.monotonic()

    def now(self) -> float:
        """Emulated seconds elapsed since the clock started (or was reset)."""
        return (time.monotonic() - self._origin) * self.time_scale

    def to_real(self, emulated_seconds: float) -> float:
        """Real seconds that an emulated span lasts."""
        return emulated_seconds / self.time_scale

    def reset(self) -> None:
        """Start counting from zero again."""
        self._origin = time.monotonic()


@dataclass(frozen=True, slots=True)
class RateLimits:
    """One model's quotas; 0 disables a dimension. Defaults: Groq's free tier for gpt-oss-120b."""

    rpm: int = 30
    tpm: int = 8_000
    rpd: int = 1_000
    tpd: int = 200_000

    @classmethod
    def unlimited(cls) -> RateLimits:
        """No limit on any dimension (for benchmarks)."""
        return cls(0, 0, 0, 0)

    def value(self, name: LimitName) -> int:
        """The configured limit for one dimension."""
        return {"RPM": self.rpm, "RPD": self.rpd, "TPM": self.tpm, "TPD": self.tpd}[name]


class TokenBucket:
    """A bucket of `capacity` units that refills continuously over `period` emulated seconds."""

    def __init__(self, capacity: int, period: float, now: float) -> None:
        self.capacity = float(capacity)
        self.rate = capacity / period
        self.level = float(capacity)
        self._stamp = now

    def refill(self, now: float) -> None:
        """Add what flowed in since the last look."""
        self.level = min(self.capacity, self.level + (now - self._stamp) * self.rate)
        self._stamp = now

    def wait_for(self, amount: float) -> float:
        """Emulated seconds until `amount` units are available (0 when they already are)."""
        return max(0.0, amount - self.level) / self.rate

    def until_full(self) -> float:
        """Emulated seconds until the bucket is full again."""
        return (self.capacity - self.level) / self.rate


@dataclass(frozen=True, slots=True)
class LimitExceeded:
    """Why a request was refused: the tightest limit, its usage and the real wait."""

    name: LimitName
    limit: int
    used: int
    requested: int
    wait_seconds: float
    too_large: bool = False

    @property
    def retry_after(self) -> int:
        """Whole seconds for the `retry-after` header (rounded up, at least 1)."""
        return max(1, math.ceil(self.wait_seconds))


class ModelRateLimiter:
    """The four buckets of one model; `admit` consumes or refuses atomically."""

    def __init__(self, limits: RateLimits, clock: EmulatedClock) -> None:
        self.limits = limits
        self._clock = clock
        now = clock.now()
        self._buckets: dict[LimitName, TokenBucket] = {
            name: TokenBucket(limits.value(name), _PERIODS[name], now)
            for name in _PERIODS
            if limits.value(name) > 0
        }

    def admit(self, tokens: int) -> LimitExceeded | None:
        """Take one request and `tokens` tokens, or say which limit refuses them."""
        for name in _TOKEN_LIMITS:
            bucket = self._buckets.get(name)
            if bucket is not None and tokens > bucket.capacity:
                return LimitExceeded(name, int(bucket.capacity), 0, tokens, 0.0, too_large=True)
        now = self._clock.now()
        worst: LimitExceeded | None = None
        for name, bucket in self._buckets.items():
            bucket.refill(now)
            amount = tokens if name in _TOKEN_LIMITS else 1
            wait = bucket.wait_for(amount)
            if wait > 0 and (worst is None or wait > worst.wait_seconds):
                used = int(bucket.capacity - math.floor(bucket.level))
                worst = LimitExceeded(
                    name, int(bucket.capacity), used, amount, self._clock.to_real(wait)
                )
        if worst is not None:
            return worst
        for name, bucket in self._buckets.items():
            bucket.level -= tokens if name in _TOKEN_LIMITS else 1
        return None

    def headers(self) -> dict[str, str]:
        """Groq's `x-ratelimit-*` headers for the current state (omitted when unlimited)."""
        now = self._clock.now()
        out: dict[str, str] = {}
        for name, kind in _HEADER_LIMITS:
            bucket = self._buckets.get(name)
            if bucket is None:
                continue
            bucket.refill(now)
            out[f"x-ratelimit-limit-{kind}"] = str(int(bucket.capacity))
            out[f"x-ratelimit-remaining-{kind}"] = str(max(0, math.floor(bucket.level)))
            reset = self._clock.to_real(bucket.until_full())
            out[f"x-ratelimit-reset-{kind}"] = format_go_duration(reset)
        return out


class RateLimitBook:
    """Limiters for every model, created on first use from per-model or default limits."""

    def __init__(
        self,
        default: RateLimits,
        per_model: dict[str, RateLimits],
        clock: EmulatedClock,
    ) -> None:
        self._default = default
        self._per_model = dict(per_model)
        self._clock = clock
        self._limiters: dict[str, ModelRateLimiter] = {}

    def for_model(self, model: str) -> ModelRateLimiter:
        """The limiter of `model` (shared by every key: the emulator is one organisation)."""
        limiter = self._limiters.get(model)
        if limiter is None:
            limits = self._per_model.get(model, self._default)
            limiter = self._limiters[model] = ModelRateLimiter(limits, self._clock)
        return limiter

    def set_limits(self, model: str | None, limits: RateLimits) -> None:
        """Change the limits of one model (or the default when `model` is None); refills it."""
        if model is None:
            self._default = limits
            self._limiters.clear()
        else:
            self._per_model[model] = limits
            self._limiters.pop(model, None)

    def reset(self) -> None:
        """Forget all usage: every bucket starts full again."""
        self._limiters.clear()
