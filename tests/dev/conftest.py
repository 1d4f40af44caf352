"""Fixtures for the Groq emulator's tests: a live server per test and a client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from sipai.dev import FakeGroqConfig, FakeGroqHandle, run_fake_groq

KEY = "gsk_test_key_0123456789"


@pytest.fixture
async def fake_groq() -> AsyncIterator[FakeGroqHandle]:
    """A fake Groq server with default settings on a free port of 127.0.0.1."""
    async with run_fake_groq() as handle:
        yield handle


@pytest.fixture
async def http(fake_groq: FakeGroqHandle) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client pointed at the fake server's API root with a valid key."""
    async with httpx.AsyncClient(
        base_url=fake_groq.base_url + "/", headers={"authorization": f"Bearer {KEY}"},
        timeout=10,
    ) as client:
        yield client


@asynccontextmanager
async def serve(config: FakeGroqConfig | None = None, key: str | None = KEY,
                **client_options: Any) -> AsyncIterator[tuple[FakeGroqHandle, httpx.AsyncClient]]:
    """A fake server with `config` and an httpx client for its API root (keyed unless None)."""
    headers = {"authorization": f"Bearer {key}"} if key else {}
    client_options.setdefault("timeout", 10)
    async with run_fake_groq(config) as handle, httpx.AsyncClient(
        base_url=handle.base_url + "/", headers=headers, **client_options
    ) as client:
        yield handle, client
