"""Fixtures for SDK conformance: the emulator on the test loop, or in a thread for sync SDKs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from sipai.dev import FakeGroqHandle, run_fake_groq, run_fake_groq_in_thread


@pytest.fixture
async def fake_groq() -> AsyncIterator[FakeGroqHandle]:
    """A fake Groq server on the test's event loop."""
    async with run_fake_groq() as handle:
        yield handle


@pytest.fixture(scope="module")
def threaded_groq() -> Iterator[FakeGroqHandle]:
    """A fake Groq server on its own thread, for the blocking SDK clients."""
    with run_fake_groq_in_thread() as handle:
        yield handle


@pytest.fixture
def sync_groq(threaded_groq: FakeGroqHandle) -> FakeGroqHandle:
    """The threaded server, reset before each test."""
    threaded_groq.reset()
    return threaded_groq
