"""Fixtures for the resilience tests: a manual clock, and Redis with a key prefix per test.

Redis is the server on 127.0.0.1:6379 (override with `SIP_TEST_REDIS_URL`). Every test gets
its own prefix, `siptest:<hex>`, and its keys are deleted afterwards; tests that need Redis
are skipped, with the reason, only when the server does not answer.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from sipai.resilience.clock import ManualClock

REDIS_URL = os.environ.get("SIP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def clock() -> ManualClock:
    """Virtual time that moves only when the test advances it."""
    return ManualClock()


@pytest.fixture
def prefix() -> str:
    """A Redis key prefix no other test uses."""
    return f"siptest:{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def redis(prefix: str) -> AsyncIterator[Redis]:
    """A Redis client; the test's keys (under `prefix`) are deleted afterwards."""
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (RedisConnectionError, OSError) as exc:
        await client.aclose()
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({type(exc).__name__})")
    try:
        yield client
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=500)]
        if keys:
            await client.delete(*keys)
        await client.aclose()
