"""Web fixtures: Sip served by a real uvicorn on a free port of 127.0.0.1, in a thread.

The server runs its own event loop in a background thread, so tests may use sync clients
(httpx, the `openai` and `groq` SDKs, schemathesis, Playwright) or async ones alike. Each
server gets a fresh `SIP_DATA_DIR` and settings built with `load_settings(_env_file=None)`
and every variable that matters given explicitly, so the developer's `.env` and
environment never leak in.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from redis import Redis

from sipai.config import Settings, load_settings
from sipai.dev.emulator import FakeGroqConfig
from sipai.dev.server import FakeGroqHandle, run_fake_groq_in_thread
from sipai.web import Plugin, WebOptions, create_app
from sipai.web.ratelimit import Unlimited

API_KEY = "sk-test-api-key-0123456789"
ADMIN_KEY = "admin-test-key-0123456789"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
#: The Redis the tests share (every test namespaces its keys with `redis_prefix`).
REDIS_URL = os.environ.get("SIP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A `SIP_REDIS_PREFIX` of this test alone; its keys are deleted afterwards."""
    name = f"siptest:{uuid.uuid4().hex[:12]}"
    yield name
    client = Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{name}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def web_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Hermetic settings: offline, no keys, a fresh data directory."""
    values: dict[str, Any] = {
        "_env_file": None, "sip_data_dir": data_dir, "sip_database_url": None,
        "sip_redis_url": None, "sip_kb_dir": None, "groq_api_key": None,
        "sip_api_keys": [], "sip_admin_key": None, "telegram_bot_token": None,
        "sip_language": "es", "sip_log_level": "WARNING",
    }
    values.update(overrides)
    return load_settings(**values)


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # leave the test runner's signal handlers alone


class LiveServer:
    """Sip's web app on a real socket, served from a thread with its own event loop."""

    def __init__(self, settings: Settings, *, options: WebOptions | None = None,
                 plugins: tuple[Plugin, ...] = ()) -> None:
        self.settings = settings
        self.app = create_app(settings=settings, plugins=plugins,
                              options=options or WebOptions(key_limiter=Unlimited(),
                                                            client_limiter=Unlimited()))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, log_config=None, access_log=False, lifespan="on",
                                timeout_graceful_shutdown=2)
        self.server = _QuietServer(config)
        self.thread = threading.Thread(target=self._run, name="sip-web", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve(sockets=[self.sock]))
        except BaseException as exc:  # reported by start()
            self.error = exc

    def start(self) -> LiveServer:
        """Start serving; raise if start-up fails."""
        self.thread.start()
        for _ in range(3000):
            if self.server.started or self.error or not self.thread.is_alive():
                break
            threading.Event().wait(0.005)
        if not self.server.started:
            raise RuntimeError("Sip's web server did not start") from self.error
        return self

    def stop(self) -> None:
        """Shut down gracefully (lifespan closes Sip)."""
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()


@contextlib.contextmanager
def live_server(settings: Settings, **kwargs: Any) -> Iterator[LiveServer]:
    """A started :class:`LiveServer`, stopped at the end of the block."""
    server = LiveServer(settings, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()


ServerFactory = Callable[..., LiveServer]


@pytest.fixture(scope="module")
def offline_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Offline Sip (no keys at all: local mode), shared by a module's tests."""
    with live_server(web_settings(tmp_path_factory.mktemp("web-offline"))) as server:
        yield server


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Offline Sip with an API key and an admin key."""
    settings = web_settings(tmp_path_factory.mktemp("web-keyed"), sip_api_keys=API_KEY,
                            sip_admin_key=ADMIN_KEY)
    with live_server(settings) as server:
        yield server


@pytest.fixture(scope="module")
def fake_groq() -> Iterator[FakeGroqHandle]:
    """The Groq emulator in a thread (instant replies)."""
    with run_fake_groq_in_thread(FakeGroqConfig()) as groq:
        yield groq


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory: pytest.TempPathFactory,
               fake_groq: FakeGroqHandle) -> Iterator[LiveServer]:
    """Sip answering with the (emulated) model, behind an API key."""
    settings = web_settings(tmp_path_factory.mktemp("web-llm"), sip_api_keys=API_KEY,
                            sip_admin_key=ADMIN_KEY, groq_api_key="gsk_test_0123456789abcdef",
                            groq_base_url=fake_groq.base_url)
    with live_server(settings) as server:
        yield server


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where browser tests keep their screenshots (gitignored)."""
    path = ARTIFACTS / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
