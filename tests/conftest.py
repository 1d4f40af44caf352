"""Shared fixtures: settings in a temporary data directory, a live Groq emulator, and the
canary key that must never appear in any log line of the whole test run."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from sipai.config import Settings, load_settings
from sipai.dev import FakeGroqHandle, run_fake_groq
from sipai.dev.emulator import FakeGroqConfig
from sipai.logs import JsonFormatter, quiet_noisy_loggers, redaction_filter

#: A well-formed Groq key used by every test that needs one. Logs are checked for it.
CANARY_KEY = "gsk_canary0KEY0must0never0be0logged0x9Q"

_CAPTURE = io.StringIO()
_HANDLER = logging.StreamHandler(_CAPTURE)
_HANDLER.name = "sip-test-capture"


def pytest_configure(config: pytest.Config) -> None:
    """Capture every log record of the run, formatted as production formats it."""
    _HANDLER.setFormatter(JsonFormatter())
    _HANDLER.addFilter(redaction_filter())
    _HANDLER.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(_HANDLER)
    logging.getLogger().setLevel(logging.DEBUG)
    quiet_noisy_loggers()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if the canary key reached any captured log line."""
    if CANARY_KEY in _CAPTURE.getvalue():
        session.exitstatus = 1
        print("\nFAIL: the canary GROQ_API_KEY appeared in a log line", flush=True)


def captured_logs() -> str:
    """Everything logged so far in this run (JSON lines).

    Looked up through the root logger: pytest imports this file as `conftest`, and a test
    importing `tests.conftest` gets a second copy of the module with its own buffer.
    """
    for handler in logging.getLogger().handlers:
        if handler.name == "sip-test-capture" and isinstance(handler, logging.StreamHandler):
            stream = handler.stream
            assert isinstance(stream, io.StringIO)
            return stream.getvalue()
    raise RuntimeError("the log capture handler is not installed")


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings isolated from the environment and `.env`, with data in a temp directory."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {"sip_data_dir": tmp_path / "data", "groq_api_key": None}
        values.update(overrides)
        return load_settings(_env_file=None, **values)

    return build


@pytest.fixture
async def fake_groq() -> AsyncIterator[FakeGroqHandle]:
    """The Groq emulator on a free port, no rate limits, instant replies."""
    async with run_fake_groq(FakeGroqConfig.unlimited()) as handle:
        yield handle


@pytest.fixture
def groq_settings(make_settings: Callable[..., Settings],
                  fake_groq: FakeGroqHandle) -> Callable[..., Settings]:
    """Settings pointed at the emulator with the canary key."""

    def build(**overrides: Any) -> Settings:
        # The emulator here is unlimited: so is Sip's own limiter, unless a test says otherwise.
        values: dict[str, Any] = {"groq_api_key": CANARY_KEY,
                                  "groq_base_url": fake_groq.base_url,
                                  "groq_rpm": 100_000, "groq_tpm": 100_000_000,
                                  "groq_rpd": 10_000_000, "groq_tpd": 1_000_000_000}
        values.update(overrides)
        return make_settings(**values)

    return build
