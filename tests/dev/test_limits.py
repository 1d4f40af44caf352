"""Go durations, token buckets and the per-model limiter (no server needed)."""

from __future__ import annotations

import time

import pytest

from sipai.dev.limits import (
    EmulatedClock,
    ModelRateLimiter,
    RateLimitBook,
    RateLimits,
    format_go_duration,
)
from sipai.llm.types import parse_go_duration


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.0001, "0s"),
        (0.25, "250ms"),
        (0.0066, "6.6ms"),
        (1, "1s"),
        (7.66, "7.66s"),
        (7.6649, "7.66s"),
        (59.999, "1m0s"),
        (60, "1m0s"),
        (179.56, "2m59.56s"),
        (86.4, "1m26.4s"),
        (3600, "1h0m0s"),
        (86_399.5, "23h59m59.5s"),
    ],
)
def test_go_durations_match_go_formatting(seconds: float, text: str) -> None:
    assert format_go_duration(seconds) == text


@pytest.mark.parametrize("seconds", [0.25, 1.5, 7.66, 59.99, 179.56, 3725.5, 86_000.0])
def test_go_durations_round_trip_through_sips_parser(seconds: float) -> None:
    parsed = parse_go_duration(format_go_duration(seconds))
    assert parsed == pytest.approx(seconds, abs=0.006)


def test_requests_are_refused_once_rpm_is_spent_and_wait_is_reported() -> None:
    limiter = ModelRateLimiter(RateLimits(rpm=3, tpm=0, rpd=0, tpd=0), EmulatedClock())
    assert [limiter.admit(10) for _ in range(3)] == [None, None, None]
    refused = limiter.admit(10)
    assert refused is not None
    assert refused.name == "RPM"
    assert (refused.limit, refused.used, refused.requested) == (3, 3, 1)
    # One request flows back every 20 s.
    assert refused.wait_seconds == pytest.approx(20, abs=0.1)
    assert refused.retry_after in (20, 21)


def test_tokens_counted_against_tpm_with_wait_until_enough_refill() -> None:
    limiter = ModelRateLimiter(RateLimits(rpm=0, tpm=6000, rpd=0, tpd=0), EmulatedClock())
    assert limiter.admit(5000) is None
    refused = limiter.admit(2000)
    assert refused is not None and refused.name == "TPM" and not refused.too_large
    assert refused.used == 5000 and refused.requested == 2000
    # 1000 tokens missing at 100 tokens/s.
    assert refused.wait_seconds == pytest.approx(10, abs=0.1)


def test_a_request_larger_than_tpm_is_too_large_not_rate_limited() -> None:
    limiter = ModelRateLimiter(RateLimits(tpm=8000), EmulatedClock())
    refused = limiter.admit(9000)
    assert refused is not None and refused.too_large
    assert (refused.name, refused.limit, refused.requested) == ("TPM", 8000, 9000)
    # Nothing was consumed.
    assert limiter.headers()["x-ratelimit-remaining-tokens"] == "8000"


def test_the_longest_wait_names_the_limit() -> None:
    limiter = ModelRateLimiter(RateLimits(rpm=100, tpm=1000, rpd=1, tpd=0), EmulatedClock())
    assert limiter.admit(10) is None
    refused = limiter.admit(10)
    assert refused is not None and refused.name == "RPD"
    assert refused.wait_seconds == pytest.approx(86_400, rel=0.001)


def test_compressed_clock_shortens_waits_and_refills() -> None:
    clock = EmulatedClock(time_scale=600)  # a minute lasts 0.1 s
    limiter = ModelRateLimiter(RateLimits(rpm=1, tpm=0, rpd=0, tpd=0), clock)
    assert limiter.admit(1) is None
    refused = limiter.admit(1)
    assert refused is not None and refused.wait_seconds == pytest.approx(0.1, abs=0.01)
    assert refused.retry_after == 1
    time.sleep(0.12)
    assert limiter.admit(1) is None


def test_headers_describe_the_day_for_requests_and_the_minute_for_tokens() -> None:
    limiter = ModelRateLimiter(RateLimits(rpm=30, tpm=8000, rpd=1000, tpd=200_000),
                               EmulatedClock())
    assert limiter.admit(1000) is None
    headers = limiter.headers()
    assert headers["x-ratelimit-limit-requests"] == "1000"
    assert headers["x-ratelimit-remaining-requests"] == "999"
    assert headers["x-ratelimit-limit-tokens"] == "8000"
    assert int(headers["x-ratelimit-remaining-tokens"]) in (7000, 7001)
    reset_requests = parse_go_duration(headers["x-ratelimit-reset-requests"])
    reset_tokens = parse_go_duration(headers["x-ratelimit-reset-tokens"])
    assert reset_requests == pytest.approx(86.4, abs=0.05)  # one request per 86.4 s
    assert reset_tokens == pytest.approx(7.5, abs=0.05)  # 1000 tokens at 133.3/s


def test_unlimited_dimensions_send_no_headers_and_never_refuse() -> None:
    limiter = ModelRateLimiter(RateLimits.unlimited(), EmulatedClock())
    assert all(limiter.admit(10**9) is None for _ in range(1000))
    assert limiter.headers() == {}


def test_book_uses_per_model_limits_and_reset_refills() -> None:
    book = RateLimitBook(RateLimits(rpm=1, tpm=0, rpd=0, tpd=0),
                         {"b": RateLimits.unlimited()}, EmulatedClock())
    assert book.for_model("a").admit(1) is None
    assert book.for_model("a").admit(1) is not None
    assert all(book.for_model("b").admit(1) is None for _ in range(5))
    book.reset()
    assert book.for_model("a").admit(1) is None
