"""What every benchmark part shares: the emulator process, statistics, the machine, settings.

The Groq emulator runs as a separate process (`sip dev fake-groq`), never on the event loop
of the client under test: on a 2-core machine a shared loop would charge the emulator's
work to whichever client is being measured. :class:`EmulatorProcess` starts it on a free
port, reads the port from its one "listening" line, and drives its `/_fake` control API.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
#: The model every contender asks for (the guide's bare alias answers 404 on Groq).
MODEL = "openai/gpt-oss-120b"
#: A key the emulator accepts (it accepts any key that starts with `gsk_`).
API_KEY = "gsk_bench_not_a_real_key"
#: The guide's own system prompt (AISupportService), used by every non-Sip contender.
GUIDE_SYSTEM = ("Eres Sip, el asistente de VPN de uSipipo.\n        Ayudas a usuarios con "
                "problemas de conexión VPN, configuración\n        y seguridad. Sé amable, "
                "claro y conciso.")
_LISTENING = re.compile(r"listening on (http://\S+)/openai/v1")


@dataclass(frozen=True, slots=True)
class EmulatorSettings:
    """How the emulator is started: latency, speed and limits (0 = unlimited)."""

    ttft_ms: float = 100.0
    tps: float = 1000.0
    rpm: int = 0
    tpm: int = 0
    rpd: int = 0
    tpd: int = 0
    time_scale: float = 1.0
    chunk_tokens: int = 4

    def args(self) -> list[str]:
        """The `sip dev fake-groq` options for these settings."""
        limits = (["--unlimited"] if not any((self.rpm, self.tpm, self.rpd, self.tpd)) else
                  ["--rpm", str(self.rpm), "--tpm", str(self.tpm), "--rpd", str(self.rpd),
                   "--tpd", str(self.tpd)])
        return ["--ttft-ms", f"{self.ttft_ms:g}", "--tps", f"{self.tps:g}",
                "--time-scale", f"{self.time_scale:g}", "--chunk-tokens",
                str(self.chunk_tokens), *limits]

    def command(self) -> str:
        """The shell command that starts this emulator by hand."""
        return "sip dev fake-groq --port 8900 " + " ".join(self.args())


@dataclass(slots=True)
class EmulatorProcess:
    """A running `sip dev fake-groq` child process."""

    settings: EmulatorSettings
    root_url: str
    process: subprocess.Popen[str]
    _http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10.0))

    @property
    def base_url(self) -> str:
        """What an OpenAI-compatible client takes as `base_url`."""
        return f"{self.root_url}/openai/v1"

    @property
    def pid(self) -> int:
        """The emulator's process id (for CPU accounting)."""
        return self.process.pid

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call the emulator's `/_fake` control API and return its JSON."""
        response = self._http.request(method, f"{self.root_url}/_fake/{path}", json=body)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        """Full buckets, no faults, empty log and counters."""
        self.control("POST", "reset")

    def stats(self) -> dict[str, Any]:
        """Counters per status and model, admitted requests and tokens per window."""
        return dict(self.control("GET", "stats"))


@contextlib.contextmanager
def emulator(settings: EmulatorSettings) -> Iterator[EmulatorProcess]:
    """Start the emulator in its own process for the duration of the block.

    It is `sip dev fake-groq`, run with this interpreter (`python -m sipai`) so that it needs
    no `sip` script on the PATH.
    """
    command = [sys.executable, "-m", "sipai", "dev", "fake-groq", "--port", "0",
               *settings.args()]
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in the finally below
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True,
                               cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    handle: EmulatorProcess | None = None
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = _LISTENING.search(line)
        if not found:
            log.seek(0)
            raise RuntimeError(f"the emulator did not start: {line!r} {log.read()[-500:]}")
        handle = EmulatorProcess(settings, found.group(1), process)
        yield handle
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if handle is not None:
            handle._http.close()
        log.close()


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) by the nearest-rank method; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def machine() -> dict[str, Any]:
    """The machine the figures were measured on: CPUs, model, memory, OS, Python."""
    model = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_gb = math.nan
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    return {"nproc": os.cpu_count(), "cpu_model": model, "memory_gb": memory_gb,
            "os": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "versions": _versions()}


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("sipai", "openai", "groq", "litellm", "httpx", "sqlalchemy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


class Stopwatch:
    """Wall time and this process's CPU time over a block."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0
        self._wall0 = 0.0
        self._cpu0 = 0.0

    def __enter__(self) -> Stopwatch:
        self._wall0, self._cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall0
        self.cpu = time.process_time() - self._cpu0


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) another process has used so far."""
    import psutil  # type: ignore[import-untyped]

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)
