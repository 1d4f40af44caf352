"""Run the emulator in-process for tests: on the running loop, or in a background thread.

    async with run_fake_groq(FakeGroqConfig(rpm=...)) as groq:
        client = AsyncOpenAI(base_url=groq.base_url, api_key="gsk_test", max_retries=0)
        groq.add_fault("503", model="openai/gpt-oss-120b")
        ...
        assert groq.requests()[-1]["body"]["messages"][0]["role"] == "system"

    with run_fake_groq_in_thread() as groq:   # for sync SDKs and subprocess CLI tests
        ...

Both bind 127.0.0.1 on a free port (port 0) unless told otherwise and yield a
:class:`FakeGroqHandle`. The thread variant runs its own event loop; its handle marshals
every state change onto that loop, so it is safe to call from the test thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from typing import Any, TypeVar

import uvicorn

from sipai.dev.emulator import Emulator, FakeGroqConfig
from sipai.dev.fake_groq import API_PREFIX, create_app
from sipai.dev.faults import Fault, parse_fault_spec
from sipai.dev.limits import RateLimits

T = TypeVar("T")


class _InProcessServer(uvicorn.Server):
    """A uvicorn server that leaves the host's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class FakeGroqHandle:
    """A running emulator: its URLs, its config and direct control of its state."""

    def __init__(self, emulator: Emulator, host: str, port: int,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.emulator = emulator
        self.host = host
        self.port = port
        self._loop = loop
        shown = f"[{host}]" if ":" in host else host
        #: e.g. `http://127.0.0.1:8900`.
        self.root_url = f"http://{shown}:{port}"
        #: What an OpenAI/Groq client takes as `base_url`: `http://127.0.0.1:8900/openai/v1`.
        self.base_url = f"{self.root_url}{API_PREFIX}"

    @property
    def config(self) -> FakeGroqConfig:
        """The live configuration."""
        return self.emulator.config

    def _run(self, action: Callable[[], T]) -> T:
        loop = self._loop
        if loop is None or loop.is_closed():
            return action()
        try:
            if asyncio.get_running_loop() is loop:
                return action()
        except RuntimeError:
            pass

        async def in_loop() -> T:
            return action()

        return asyncio.run_coroutine_threadsafe(in_loop(), loop).result(timeout=10)

    def add_fault(self, fault: Fault | str, **fields: Any) -> Fault:
        """Queue a fault: a :class:`Fault`, a CLI spec (`"429:times=2"`) or a kind plus fields."""
        if isinstance(fault, str):
            built = parse_fault_spec(fault)
            if fields:
                built = Fault.from_json({**built.to_json(), **fields})
        else:
            built = fault
        self._run(lambda: self.emulator.add_fault(built))
        return built

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        self._run(self.emulator.clear_faults)

    def pending_faults(self) -> list[Fault]:
        """Faults not yet consumed."""
        return self._run(self.emulator.faults.pending)

    def reset(self) -> None:
        """No faults, full rate-limit buckets, empty log and counters."""
        self._run(self.emulator.reset)

    def requests(self, model: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        """The request log (oldest first), optionally one model's or one path suffix's."""
        return self._run(lambda: self.emulator.requests(model, path))

    def last_request(self, model: str | None = None) -> dict[str, Any]:
        """The latest logged request (of `model`); AssertionError if there is none."""
        entries = self.requests(model)
        if not entries:
            raise AssertionError("the fake Groq server has received no such request")
        return entries[-1]

    def stats(self) -> dict[str, Any]:
        """Counters per status, model and minute window (see `/_fake/stats`)."""
        return self._run(self.emulator.stats)

    def set_limits(self, limits: RateLimits, model: str | None = None) -> None:
        """Change one model's limits, or the default ones; affected buckets start full."""
        self._run(lambda: self.emulator.set_limits(limits, model))

    def configure(self, **changes: float) -> None:
        """Change `ttft_ms`, `tps` or `chunk_tokens` while running."""
        self._run(lambda: self.emulator.configure(changes))


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening-ready TCP socket on host:port (port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # Name the protocol: asyncio turns Nagle's algorithm off only for sockets that say they
    # are TCP, and with it on every reused connection waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def build_server(emulator: Emulator, *, in_process: bool = True,
                 log_level: str = "warning") -> uvicorn.Server:
    """A uvicorn server for the emulator's app (h11 or httptools, asyncio loop)."""
    config = uvicorn.Config(
        create_app(emulator=emulator),
        # In-process servers leave the host's logging configuration alone.
        log_config=None if in_process else uvicorn.config.LOGGING_CONFIG,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        backlog=4096,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=1,
    )
    return _InProcessServer(config) if in_process else uvicorn.Server(config)


@contextlib.asynccontextmanager
async def run_fake_groq(
    config: FakeGroqConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[FakeGroqHandle]:
    """Serve the emulator on the running loop for the duration of the block."""
    emulator = Emulator(config or FakeGroqConfig())
    sock = bind_socket(host, port)
    server = build_server(emulator)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the fake Groq server stopped during start-up")
            await asyncio.sleep(0.005)
        yield FakeGroqHandle(emulator, host, sock.getsockname()[1])
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextlib.contextmanager
def run_fake_groq_in_thread(
    config: FakeGroqConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[FakeGroqHandle]:
    """Serve the emulator from a background thread with its own event loop."""
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def serve() -> None:
        stop = asyncio.Event()
        async with run_fake_groq(config, host=host, port=port) as handle:
            loop = asyncio.get_running_loop()
            box["handle"] = FakeGroqHandle(handle.emulator, host, handle.port, loop)
            box["stop"] = lambda: loop.call_soon_threadsafe(stop.set)
            ready.set()
            await stop.wait()

    def main() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # reported to the starting thread below
            box["error"] = exc
            ready.set()

    thread = threading.Thread(target=main, name="fake-groq", daemon=True)
    thread.start()
    if not ready.wait(timeout=15) or "error" in box:
        raise RuntimeError("the fake Groq server did not start") from box.get("error")
    try:
        yield box["handle"]
    finally:
        box["stop"]()
        thread.join(timeout=15)
